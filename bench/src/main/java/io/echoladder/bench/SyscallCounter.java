package io.echoladder.bench;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * System calls and context switches of a server's processes over exactly the measured window, counted by
 * the kernel: {@code perf stat -e raw_syscalls:sys_enter,context-switches -p PIDS}, started with its
 * counters off ({@code -D -1}) and switched on and off through its control FIFO when the window opens
 * and closes. perf attaches to every thread of every process named, and its counters are inherited by
 * the threads and child processes those create later (a child JVM per client is counted too).
 *
 * <p>Where perf is missing or may not attach, {@link #start} says why and the bench reports the column as
 * {@code n/a (perf unavailable)}; context switches then come from /proc instead.
 */
final class SyscallCounter implements AutoCloseable {

    /** The two numbers, or why they are not there. */
    record Counts(long syscalls, long contextSwitches) {
    }

    private final Process perf;
    private final Path dir;
    private final Path output;
    private final RandomAccessFile control;

    private SyscallCounter(Process perf, Path dir, Path output, RandomAccessFile control) {
        this.perf = perf;
        this.dir = dir;
        this.output = output;
        this.control = control;
    }

    /** What stops perf from counting here, or null if it can: checked once per run, on this process. */
    static String unavailable() {
        try {
            Process p = new ProcessBuilder("perf", "stat", "-x,", "-e", "raw_syscalls:sys_enter,context-switches", "true")
                    .redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return "perf did not answer";
            }
            if (p.exitValue() != 0 || out.contains("<not supported>") || out.contains("<not counted>")) {
                return "perf cannot count raw_syscalls:sys_enter here: "
                        + out.lines().filter(l -> !l.isBlank()).findFirst().orElse("exit " + p.exitValue()).strip();
            }
            return null;
        } catch (IOException e) {
            return "perf is not installed (Debian: apt-get install linux-perf)";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }

    /** Attaches perf, counters off, to every thread of {@code pids}. */
    static SyscallCounter start(List<Long> pids) throws IOException {
        Path dir = Files.createTempDirectory("echoladder-perf-");
        Path fifo = dir.resolve("control");
        Path output = dir.resolve("counts.csv");
        try {
            Process mkfifo = new ProcessBuilder("mkfifo", fifo.toString()).start();
            if (!mkfifo.waitFor(5, TimeUnit.SECONDS) || mkfifo.exitValue() != 0) {
                throw new IOException("mkfifo failed");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
        }
        Process perf = new ProcessBuilder("perf", "stat", "-x,", "-D", "-1", "--control", "fifo:" + fifo,
                "-e", "raw_syscalls:sys_enter,context-switches", "-o", output.toString(),
                "-p", pids.stream().map(String::valueOf).collect(Collectors.joining(",")))
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(dir.resolve("perf.err").toFile()).start();
        // Opened read-write, a FIFO never blocks here, whether or not perf has opened its end yet.
        RandomAccessFile control = new RandomAccessFile(fifo.toFile(), "rw");
        return new SyscallCounter(perf, dir, output, control);
    }

    /** The window opened: counters on. */
    void enable() {
        command("enable");
    }

    /** The window closed: counters off. */
    void disable() {
        command("disable");
    }

    private void command(String word) {
        try {
            control.write((word + "\n").getBytes(StandardCharsets.US_ASCII));
        } catch (IOException e) {
            // perf is gone: read() reports it
        }
    }

    /** Stops perf and reads what it counted while enabled; null if it could not count. */
    Counts read() {
        stop();
        try {
            long syscalls = -1;
            long switches = -1;
            for (String line : Files.readAllLines(output)) {
                String[] fields = line.split(",");
                if (fields.length < 3 || !fields[0].matches("\\d+")) {
                    continue;
                }
                if (fields[2].startsWith("raw_syscalls:sys_enter")) {
                    syscalls = Long.parseLong(fields[0]);
                } else if (fields[2].startsWith("context-switches")) {
                    switches = Long.parseLong(fields[0]);
                }
            }
            return syscalls >= 0 && switches >= 0 ? new Counts(syscalls, switches) : null;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    private void stop() {
        if (perf.isAlive()) {
            // SIGINT: perf stops counting and writes its totals.
            try {
                new ProcessBuilder("kill", "-INT", Long.toString(perf.pid())).start().waitFor(5, TimeUnit.SECONDS);
                if (!perf.waitFor(5, TimeUnit.SECONDS)) {
                    perf.destroyForcibly().waitFor(2, TimeUnit.SECONDS);
                }
            } catch (IOException e) {
                perf.destroyForcibly();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                perf.destroyForcibly();
            }
        }
    }

    @Override
    public void close() {
        stop();
        try {
            control.close();
        } catch (IOException e) {
            // nothing left to release
        }
        try (var files = Files.list(dir)) {
            List<Path> all = new ArrayList<>(files.toList());
            for (Path file : all) {
                Files.deleteIfExists(file);
            }
            Files.deleteIfExists(dir);
        } catch (IOException e) {
            // a temporary directory: the OS cleans up after us
        }
    }
}
