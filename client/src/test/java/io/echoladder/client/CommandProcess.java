package io.echoladder.client;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A {@code ./ladder} command run as a process of its own (this JVM's java and class path), for the tests
 * that signal it as a terminal would: its stdout and stderr go to files, and closing it kills and reaps
 * it and everything it started, whatever the test did.
 */
public final class CommandProcess implements AutoCloseable {

    private final Process process;
    private final Path out;
    private final Path err;

    private CommandProcess(List<String> command) throws IOException {
        this.out = Files.createTempFile("command-", ".out");
        this.err = Files.createTempFile("command-", ".err");
        this.process = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile())).start();
    }

    /** {@code MAIN ARGS...} in a JVM like the ones {@code ./ladder} starts. */
    public static CommandProcess start(Class<?> main, String... args) throws IOException {
        return new CommandProcess(RungProcess.javaCommand(main.getName(), List.of(args)));
    }

    /**
     * {@code MAIN ARGS...} through {@code setsid}, so that it leads a process group of its own, as a
     * command a terminal runs in the foreground does: {@link #sigintGroup} then reaches it and every
     * process it started in its group, as Ctrl-C would.
     */
    public static CommandProcess startAsForegroundJob(Class<?> main, String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of("setsid"));
        command.addAll(RungProcess.javaCommand(main.getName(), List.of(args)));
        return new CommandProcess(command);
    }

    /** Any command line, for a precondition checked with a shell. */
    public static CommandProcess startCommand(List<String> command) throws IOException {
        return new CommandProcess(command);
    }

    public long pid() {
        return process.pid();
    }

    public String stdout() {
        return read(out);
    }

    public String stderr() {
        return read(err);
    }

    /** Waits until stdout and stderr together satisfy {@code ready}; false if the process ended or time ran out first. */
    public boolean await(Predicate<String> ready, Duration limit) throws InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        while (System.nanoTime() < deadline) {
            if (ready.test(stdout() + stderr())) {
                return true;
            }
            if (!process.isAlive()) {
                return ready.test(stdout() + stderr());
            }
            Thread.sleep(20);
        }
        return false;
    }

    /** {@code kill -INT PID}. */
    public void sigint() throws IOException, InterruptedException {
        kill("-INT", Long.toString(process.pid()));
    }

    /** {@code kill -INT -- -PID}: the process group it leads (see {@link #startAsForegroundJob}). */
    public void sigintGroup() throws IOException, InterruptedException {
        kill("-INT", "--", "-" + process.pid());
    }

    private static void kill(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("kill"));
        command.addAll(List.of(args));
        Process kill = new ProcessBuilder(command).redirectErrorStream(true).start();
        if (!kill.waitFor(10, TimeUnit.SECONDS) || kill.exitValue() != 0) {
            throw new IOException("kill " + String.join(" ", args) + " failed: "
                    + new String(kill.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
        }
    }

    /** The exit status, or -1 if it was still running after {@code limit}. */
    public int awaitExit(Duration limit) throws InterruptedException {
        return process.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS) ? process.exitValue() : -1;
    }

    @Override
    public void close() throws IOException, InterruptedException {
        List<ProcessHandle> tree = Proc.tree(process.pid());
        process.destroyForcibly();
        tree.forEach(ProcessHandle::destroyForcibly);
        process.waitFor(10, TimeUnit.SECONDS);
        Files.deleteIfExists(out);
        Files.deleteIfExists(err);
    }

    private static String read(Path file) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }
}
