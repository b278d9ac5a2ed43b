package io.echoladder.client;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A rung started as its own JVM exactly the way {@code ./ladder serve} starts it (same main class, same
 * JVM flags), for the conformance suite and the bench. Closing it ends the process and all of its
 * descendants and reaps them, also when the test that started it failed.
 */
public final class RungProcess implements AutoCloseable {

    /**
     * JVM flags of every rung process; {@code ./ladder} passes the same ones (keep the two in step).
     * The rungs call Linux through java.lang.foreign, which must be enabled by name.
     */
    public static final List<String> JVM_FLAGS = List.of("--enable-native-access=ALL-UNNAMED");

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
    private final InetSocketAddress address;
    private final List<String> stdout = Collections.synchronizedList(new ArrayList<>());
    private final StringBuffer stderr = new StringBuffer();

    private RungProcess(String rung, Process process, LinkedBlockingQueue<String> lines) throws IOException {
        this.rung = rung;
        this.process = process;
        LIVE.add(this);
        drain(process.getErrorStream(), stderr::append, "stderr");
        String first;
        try {
            first = lines.poll(START_LIMIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            first = null;
        }
        if (first == null || first.equals(EOF)) {
            close();
            throw new IOException("rung " + rung + " did not start: " + diagnostics());
        }
        Matcher m = LISTENING.matcher(first);
        if (!m.matches()) {
            close();
            throw new IOException("rung " + rung + " printed '" + first + "' instead of 'listening on HOST:PORT'");
        }
        address = new InetSocketAddress(m.group(1), Integer.parseInt(m.group(2)));
        Thread.ofPlatform().daemon().name(rung + "-stdout").start(() -> {
            try {
                for (String line; !(line = lines.take()).equals(EOF); ) {
                    stdout.add(line);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
    }

    private static final String EOF = "\u0000EOF";

    /** Starts {@code ./ladder serve RUNG --port 0 ARGS...} with this JVM's class path. */
    public static RungProcess start(String rung, List<String> args) throws IOException {
        return start(rung, args, System.getProperty("java.class.path"));
    }

    /** Starts the rung with the given class path. */
    public static RungProcess start(String rung, List<String> args, String classPath) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(javaExecutable());
        command.addAll(JVM_FLAGS);
        command.add("-cp");
        command.add(classPath);
        command.add(SERVE_MAIN);
        command.add(rung);
        command.add("--host");
        command.add("127.0.0.1");
        command.add("--port");
        command.add("0");
        command.addAll(args);
        Process process = new ProcessBuilder(command).start();
        process.getOutputStream().close();
        LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();
        drain(process.getInputStream(), lines::add, "stdout");
        return new RungProcess(rung, process, lines);
    }

    /** The JDK running this JVM: a rung runs on the same one. */
    public static String javaExecutable() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
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
        synchronized (stdout) {
            return List.copyOf(stdout);
        }
    }

    /** What the server printed on stderr so far. */
    public String stderr() {
        return stderr.toString();
    }

    /** Exit status and stderr, for a failure message. */
    public String diagnostics() {
        String status = process.isAlive() ? "still running" : "exit " + process.exitValue();
        return status + (stderr.isEmpty() ? "" : ", stderr: " + stderr.toString().strip());
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

    /** Ends the server and its descendants if they are still running, and reaps them. */
    @Override
    public void close() {
        kill();
        LIVE.remove(this);
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

    private static void drain(InputStream stream, java.util.function.Consumer<String> sink, String name) {
        Thread.ofPlatform().daemon().name("rung-" + name).start(() -> {
            try (BufferedReader reader = new BufferedReader(new InputStreamReader(stream, StandardCharsets.UTF_8))) {
                for (String line; (line = reader.readLine()) != null; ) {
                    sink.accept(name.equals("stderr") ? line + "\n" : line);
                }
            } catch (IOException e) {
                // The process is gone; what it printed so far is kept.
            } finally {
                if (name.equals("stdout")) {
                    sink.accept(EOF);
                }
            }
        });
    }
}
