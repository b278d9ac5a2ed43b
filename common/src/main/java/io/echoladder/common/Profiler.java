package io.echoladder.common;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;
import one.profiler.AsyncProfiler;

/**
 * {@code serve --profile FILE}: async-profiler sampling this JVM's CPU ({@code event=cpu}: perf_events,
 * with the kernel's frames when the kernel allows them) from the start of {@code serve} until it exits,
 * then writing an HTML flame graph ({@code .html}) or collapsed stacks ({@code .txt}, {@code .collapsed}).
 * The process rungs' workers are other JVMs: each gets the profiler as an agent on its command line
 * ({@link #workerAgent}) and writes its own file, FILE with the worker's PID before the extension.
 *
 * <p>The native library ships inside the async-profiler jar on the class path ({@code linux-x64/},
 * {@code linux-arm64/}); it is copied once to a file of its own under java.io.tmpdir, because a JVM can
 * load a library only from a file. Nothing is downloaded.
 */
public final class Profiler {

    /** One sample per millisecond of CPU: 10x async-profiler's default, so a 3 s run has thousands. */
    private static final String EVENT = "event=cpu,interval=1ms";

    private final AsyncProfiler profiler;
    private final Path file;

    private Profiler(AsyncProfiler profiler, Path file) {
        this.profiler = profiler;
        this.file = file;
    }

    /**
     * Starts sampling this JVM; {@link #stop()} writes FILE. Fails with one line (exit 1) when the library
     * cannot be loaded, and says in one line on stderr when the kernel forbids its frames (the profile then
     * has the Java side only).
     */
    public static Profiler start(Path file) {
        String format = format(file);
        AsyncProfiler profiler = load(library());
        try {
            profiler.execute("start," + EVENT);
        } catch (IOException | RuntimeException e) {
            throw LadderException.failure("profile: async-profiler did not start: " + e.getMessage());
        }
        warnIfNoKernelFrames(file);
        return new Profiler(profiler, file.toAbsolutePath());
    }

    /** Stops sampling and writes the file; a failure to write is one line on stderr, not a lost exit. */
    public void stop() {
        try {
            profiler.execute("stop," + format(file) + ",file=" + file);
            System.err.println("serve: profile written to " + file);
        } catch (IOException | RuntimeException e) {
            System.err.println("serve: profile not written to " + file + ": " + e.getMessage());
        }
    }

    /**
     * The JVM flag that profiles a worker JVM from its start to its exit (async-profiler as an agent, which
     * writes its file when the JVM exits, also by {@code Runtime.halt} or SIGTERM, but not SIGKILL).
     */
    public static String workerAgent(Path file) {
        return "-agentpath:" + library() + "=start," + EVENT + "," + format(file) + ",file="
                + workerFile(file.toAbsolutePath(), "%p");
    }

    /** FILE with {@code -PID} before its extension: {@code out.html} becomes {@code out-4711.html}. */
    public static Path workerFile(Path file, String pid) {
        String name = file.getFileName().toString();
        int dot = name.lastIndexOf('.');
        return file.resolveSibling(name.substring(0, dot) + "-" + pid + name.substring(dot));
    }

    /** async-profiler's output format for FILE, by its extension; anything else is bad input. */
    static String format(Path file) {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.contains(",")) {
            // async-profiler's options are comma-separated: the name would end at the comma.
            throw LadderException.usage("--profile FILE may not contain a comma: " + file);
        }
        if (name.endsWith(".html")) {
            return "flamegraph";
        }
        if (name.endsWith(".txt") || name.endsWith(".collapsed")) {
            // ann: each Java frame marked by how it ran (_[j] compiled, _[i] inlined, _[0] interpreted, _[1]
            // C1), as kernel frames are (_[k]); the bench's CPU budget tells them apart by it.
            return "collapsed,ann";
        }
        throw LadderException.usage("--profile FILE must end in .html (flame graph), .txt or .collapsed"
                + " (collapsed stacks), not " + file.getFileName());
    }

    /** Loads the library (once per JVM); one line and exit 1 if it is not a library this JVM can load. */
    static AsyncProfiler load(Path library) {
        try {
            // System.load first: AsyncProfiler.getInstance keeps the first instance it made, whatever path
            // it is given later, and reports a bad library with a stack trace of its own.
            System.load(library.toString());
            return AsyncProfiler.getInstance(library.toString());
        } catch (UnsatisfiedLinkError | RuntimeException e) {
            throw LadderException.failure("profile: cannot load async-profiler from " + library + " ("
                    + e.getMessage() + ")");
        }
    }

    /**
     * The native library, copied out of the async-profiler jar to
     * {@code java.io.tmpdir/echoladder-profiler/JAR-ARCH/libasyncProfiler.so} the first time (JAR: the jar's
     * name, {@code async-profiler-4.2.jar}, so another version gets a directory of its own).
     */
    static Path library() {
        String arch = switch (System.getProperty("os.arch")) {
            case "amd64", "x86_64" -> "linux-x64";
            case "aarch64", "arm64" -> "linux-arm64";
            default -> "";
        };
        if (arch.isEmpty() || !System.getProperty("os.name").equals("Linux")) {
            throw LadderException.failure("profile: async-profiler has no library for "
                    + System.getProperty("os.name") + " on " + System.getProperty("os.arch"));
        }
        Path target = Path.of(System.getProperty("java.io.tmpdir"), "echoladder-profiler", jarName() + "-" + arch,
                "libasyncProfiler.so");
        try (InputStream in = AsyncProfiler.class.getResourceAsStream("/" + arch + "/libasyncProfiler.so")) {
            if (in == null) {
                throw LadderException.failure("profile: the async-profiler jar has no " + arch + "/libasyncProfiler.so");
            }
            if (Files.exists(target)) {
                return target;
            }
            // Copied beside the target and renamed: a second server starting at the same moment never maps
            // a half-written library.
            Files.createDirectories(target.getParent());
            Path partial = Files.createTempFile(target.getParent(), "libasyncProfiler", ".part");
            Files.copy(in, partial, StandardCopyOption.REPLACE_EXISTING);
            try {
                Files.move(partial, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(partial, target, StandardCopyOption.REPLACE_EXISTING);
            }
            return target;
        } catch (IOException e) {
            throw LadderException.failure("profile: cannot extract async-profiler's library to " + target + " ("
                    + e.getMessage() + ")");
        }
    }

    private static String jarName() {
        try {
            return Path.of(AsyncProfiler.class.getProtectionDomain().getCodeSource().getLocation().toURI())
                    .getFileName().toString();
        } catch (java.net.URISyntaxException | RuntimeException e) {
            return "async-profiler";
        }
    }

    /**
     * Why the kernel will not give perf_events its own frames, or empty if it will: perf_event_paranoid
     * above 1 forbids them to a process without CAP_PERFMON or CAP_SYS_ADMIN (root has both), and a kernel
     * without perf_event_open has no such file at all (async-profiler then samples with a timer).
     */
    static String kernelFramesForbidden() {
        Path paranoid = Path.of("/proc/sys/kernel/perf_event_paranoid");
        try {
            if (!Files.exists(paranoid)) {
                return "this kernel has no perf_event_open";
            }
            int level = Integer.parseInt(Files.readString(paranoid).strip());
            if (level <= 1 || hasCapability(CAP_SYS_ADMIN) || hasCapability(CAP_PERFMON)) {
                return "";
            }
            return "kernel.perf_event_paranoid is " + level + "; 1 or CAP_PERFMON would allow them";
        } catch (IOException | NumberFormatException e) {
            return "cannot read " + paranoid + " (" + e.getMessage() + ")";
        }
    }

    private static final int CAP_SYS_ADMIN = 21;
    private static final int CAP_PERFMON = 38;

    private static boolean hasCapability(int bit) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("CapEff:")) {
                return (Long.parseUnsignedLong(line.substring(7).strip(), 16) >>> bit & 1) == 1;
            }
        }
        return false;
    }

    /** One line when the profile will lack kernel frames; said once, by the server, for its workers too. */
    private static void warnIfNoKernelFrames(Path file) {
        String why = kernelFramesForbidden();
        if (!why.isEmpty()) {
            System.err.println("serve: profile has the Java side only, no kernel frames (" + why + "): " + file);
        }
    }
}
