package io.echoladder.client;

import io.echoladder.common.Jvm;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A rung started as its own JVM exactly the way {@code ./ladder serve} starts it (same main class, same
 * JVM flags), for the conformance suite and the bench. Closing it ends the process and all of its
 * descendants and reaps them, also when the test that started it failed.
 *
 * <p>The server's stdout and stderr go to files, not pipes: when a process exits, the JDK closes its
 * pipe under a reader still blocked on it, and the last lines (the per-worker counts printed on exit)
 * would be lost.
 */
public final class RungProcess implements AutoCloseable {

    /** JVM flags of every rung process: {@link Jvm#FLAGS}, as {@code ./ladder} passes them. */
    public static final List<String> JVM_FLAGS = Jvm.FLAGS;

    public static final String SERVE_MAIN = "io.echoladder.common.ServeCommand";

    private static final Pattern LISTENING = Pattern.compile("listening on \\[?(.*?)]?:(\\d+)");
    private static final Duration START_LIMIT = Duration.ofSeconds(60);
    private static final Set<RungProcess> LIVE = ConcurrentHashMap.newKeySet();

    static {
        // Last line of defence: a test JVM that dies never leaves a server behind.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> LIVE.forEach(RungProcess::kill)));
    }

    private final String rung;
    private final Process process;
    private final Path out;
    private final Path err;
    private final InetSocketAddress address;

    private RungProcess(String rung, Process process, Path out, Path err) throws IOException {
        this.rung = rung;
        this.process = process;
        this.out = out;
        this.err = err;
        LIVE.add(this);
        String first = firstLine();
        if (first == null) {
            close();
            throw new IOException("rung " + rung + " did not start: " + diagnostics());
        }
        Matcher m = LISTENING.matcher(first);
        if (!m.matches()) {
            close();
            throw new IOException("rung " + rung + " printed '" + first + "' instead of 'listening on HOST:PORT'");
        }
        address = new InetSocketAddress(m.group(1), Integer.parseInt(m.group(2)));
    }

    /** Starts {@code ./ladder serve RUNG --port 0 ARGS...} with this JVM's class path. */
    public static RungProcess start(String rung, List<String> args) throws IOException {
        return start(rung, args, 0);
    }

    /**
     * As {@link #start(String, List)}, with the open-files limit of the server and every process it starts
     * at most {@code openFiles} (soft and hard), as {@code ulimit -n} sets it in a shell before it execs the
     * JVM: a JVM raises its soft limit to the hard one at start, so the hard one is what holds. 0: no limit
     * of our own.
     */
    public static RungProcess start(String rung, List<String> args, int openFiles) throws IOException {
        List<String> command = serveCommand(serveArguments(rung, args));
        if (openFiles > 0) {
            // exec: the JVM replaces the shell, so its pid is the one we hold.
            List<String> limited = new ArrayList<>(List.of("/bin/sh", "-c",
                    "ulimit -n " + openFiles + " && exec \"$0\" \"$@\""));
            limited.addAll(command);
            command = limited;
        }
        return startCommand(rung, command);
    }

    /** {@code RUNG --host 127.0.0.1 --port 0 ARGS...}: what the suite's servers are started with. */
    public static List<String> serveArguments(String rung, List<String> args) {
        List<String> serve = new ArrayList<>(List.of(rung, "--host", "127.0.0.1", "--port", "0"));
        serve.addAll(args);
        return serve;
    }

    /**
     * Starts {@code ./ladder serve RUNG --port 0 ARGS...} with this JVM's class path and {@code jvmFlags}
     * after the ladder's own (what {@code soak} uses to touch the heap up front).
     */
    public static RungProcess start(String rung, List<String> jvmFlags, List<String> args) throws IOException {
        return startMain(rung, jvmFlags, SERVE_MAIN, serveArguments(rung, args));
    }

    /**
     * Starts {@code MAIN ARGS...} as a server process like a rung (this JVM's java, the ladder's flags and
     * {@code jvmFlags}, this class path); its first line on stdout must be {@code listening on HOST:PORT}.
     * For servers that are not rungs, such as the tests' own.
     */
    public static RungProcess startMain(String name, List<String> jvmFlags, String mainClass, List<String> args)
            throws IOException {
        List<String> command = new ArrayList<>(javaCommand(mainClass, args));
        command.addAll(1 + JVM_FLAGS.size(), jvmFlags);
        return startCommand(name, command);
    }

    /**
     * Starts {@code command}, a JVM that runs {@code serve} one way or another (a test's wrapper around it,
     * say), and waits for its {@code listening on} line.
     */
    public static RungProcess startCommand(String rung, List<String> command) throws IOException {
        Path out = Files.createTempFile("rung-" + rung + "-", ".out");
        Path err = Files.createTempFile("rung-" + rung + "-", ".err");
        Process process = new ProcessBuilder(ownSession(command)).redirectOutput(out.toFile())
                .redirectError(err.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile())).start();
        return new RungProcess(rung, process, out, err);
    }

    /**
     * {@code command} run through {@code setsid(1)}, when the machine has it: the server gets a session and
     * process group of its own, so a Ctrl-C at the terminal reaches only the command that started it (the
     * soak, the bench), which stops measuring and then ends the server itself, instead of the server
     * closing every connection under a measurement still running. {@code setsid} forks only when it is a
     * process group leader, which a JVM's child never is: it becomes the JVM, and {@link #pid} stays the
     * server's.
     */
    static List<String> ownSession(List<String> command) {
        for (String setsid : List.of("/usr/bin/setsid", "/bin/setsid")) {
            if (Files.isExecutable(Path.of(setsid))) {
                List<String> wrapped = new ArrayList<>(List.of(setsid));
                wrapped.addAll(command);
                return wrapped;
            }
        }
        return command;
    }

    /** {@code ./ladder serve ARGS...} as a command line: this JVM's java, the ladder's flags and class path. */
    public static List<String> serveCommand(List<String> serveArgs) {
        return javaCommand(SERVE_MAIN, serveArgs);
    }

    /** {@code MAIN ARGS...} as a command line: this JVM's java, the ladder's flags and class path. */
    public static List<String> javaCommand(String mainClass, List<String> args) {
        List<String> command = new ArrayList<>();
        command.add(javaExecutable());
        command.addAll(JVM_FLAGS);
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(mainClass);
        command.addAll(args);
        return command;
    }

    /** How a {@code serve} that was expected to give up ended: its status and what it printed. */
    public record Refusal(int status, String output) {
    }

    /**
     * Runs {@code ./ladder serve ARGS...} expecting it to exit on its own (bad input, a taken port).
     *
     * @return its status and its stdout and stderr together, stripped; status -1 if it was still running
     *         after {@code limit} (it is then killed)
     */
    public static Refusal runExpectingExit(List<String> serveArgs, Duration limit) throws IOException, InterruptedException {
        return runToExit(serveCommand(serveArgs), limit);
    }

    /**
     * Runs {@code command} expecting it to exit on its own.
     *
     * @return its status and its stdout and stderr together, stripped; status -1 if it was still running
     *         after {@code limit} (it and its descendants are then killed)
     */
    public static Refusal runToExit(List<String> command, Duration limit) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile())).start();
        boolean exited = false;
        try {
            exited = p.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS);
        } finally {
            if (!exited) {
                Proc.tree(p.pid()).forEach(ProcessHandle::destroyForcibly); // it and any child it started
                p.waitFor(5, TimeUnit.SECONDS);
            }
        }
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        return new Refusal(exited ? p.exitValue() : -1, output);
    }

    /** The JDK running this JVM: a rung runs on the same one. */
    public static String javaExecutable() {
        return Jvm.java();
    }

    /** Waits for the first complete line on stdout; null if the process died or took too long. */
    private String firstLine() {
        long deadline = System.nanoTime() + START_LIMIT.toNanos();
        while (System.nanoTime() < deadline) {
            String text = read(out);
            int newline = text.indexOf('\n');
            if (newline >= 0) {
                return text.substring(0, newline);
            }
            if (!process.isAlive()) {
                return null;
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return null;
            }
        }
        return null;
    }

    public InetSocketAddress address() {
        return address;
    }

    public long pid() {
        return process.pid();
    }

    public Process process() {
        return process;
    }

    public String rung() {
        return rung;
    }

    /** Lines the server printed on stdout after {@code listening on}. */
    public List<String> stdout() {
        List<String> lines = read(out).lines().toList();
        return lines.isEmpty() ? lines : lines.subList(1, lines.size());
    }

    /** What the server printed on stderr so far. */
    public String stderr() {
        return read(err);
    }

    /** Exit status and stderr, for a failure message. */
    public String diagnostics() {
        String status = process.isAlive() ? "still running" : "exit " + process.exitValue();
        String errors = stderr().strip();
        return status + (errors.isEmpty() ? "" : ", stderr: " + errors);
    }

    /**
     * Sends SIGTERM and waits up to {@code limit} for the exit.
     *
     * @return the exit status, or -1 if it had not exited by then
     */
    public int terminate(Duration limit) throws InterruptedException {
        process.destroy();
        if (!process.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS)) {
            return -1;
        }
        return process.exitValue();
    }

    /** Ends the server and its descendants if they are still running, reaps them, removes its files. */
    @Override
    public void close() {
        kill();
        LIVE.remove(this);
        try {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        } catch (IOException e) {
            // temporary files: the OS cleans up after us
        }
    }

    private void kill() {
        List<ProcessHandle> tree = Proc.tree(process.pid());
        if (process.isAlive()) {
            process.destroy();
            try {
                process.waitFor(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        for (ProcessHandle handle : tree) {
            handle.destroyForcibly();
        }
        try {
            process.waitFor(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static String read(Path file) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            if (!Files.exists(file)) {
                return "";
            }
            throw new UncheckedIOException(e);
        }
    }
}
