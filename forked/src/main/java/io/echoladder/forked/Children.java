package io.echoladder.forked;

import io.echoladder.common.Jvm;
import io.echoladder.common.linux.Posix;
import io.echoladder.common.linux.UnixSockets;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Starting, reaching and reaping child JVMs: what the process rungs share and do not teach. A child is
 * started with this JVM's class path and flags, connects back to a Unix socket named for it, and that
 * connection is how the parent hands it descriptors and hears from it.
 */
final class Children {

    /** JVM flags of a worker: the ladder's, plus the cheapest start-up (C1 only, serial GC). */
    private static final List<String> WORKER_FLAGS = List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xss512k");

    private static final AtomicLong SEQUENCE = new AtomicLong();

    private final Set<Process> live = ConcurrentHashMap.newKeySet();

    /** A started child and the parent's end of its Unix socket. */
    record Child(Process process, int control) {
    }

    /**
     * Starts {@code Worker MODE NAME ARGS...} and accepts its connection back. Fails if the child dies
     * before connecting.
     */
    Child start(String mode, List<String> args) throws IOException {
        String name = "echoladder/" + ProcessHandle.current().pid() + "/" + SEQUENCE.incrementAndGet();
        int listener = UnixSockets.listen(name);
        boolean[] open = {true};
        try {
            List<String> command = new ArrayList<>();
            command.add(Jvm.java());
            command.addAll(Jvm.FLAGS);
            command.addAll(WORKER_FLAGS);
            command.addAll(List.of("-cp", System.getProperty("java.class.path"), Worker.class.getName(), mode, name));
            command.addAll(args);
            Process process = new ProcessBuilder(command)
                    .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .redirectError(ProcessBuilder.Redirect.INHERIT)
                    .start();
            live.add(process);
            process.onExit().thenRun(() -> live.remove(process));
            // If the child dies before connecting, shutting the listener down wakes the accept below. Only
            // while it is still open: once closed, its fd number belongs to someone else.
            process.onExit().thenRun(() -> {
                synchronized (open) {
                    if (open[0]) {
                        Posix.shutdown(listener, Posix.SHUT_RDWR);
                    }
                }
            });
            int control = Posix.accept4(listener, Posix.SOCK_CLOEXEC);
            if (control < 0) {
                process.destroyForcibly();
                throw new IOException("worker " + process.pid() + " exited before connecting back");
            }
            return new Child(process, control);
        } finally {
            synchronized (open) {
                open[0] = false;
                Posix.close(listener);
            }
        }
    }

    int live() {
        return live.size();
    }

    /** SIGTERM to every child, then SIGKILL to any still alive after {@code millis}; all reaped. */
    void stopAll(long millis) {
        List<Process> all = List.copyOf(live);
        all.forEach(Process::destroy);
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        for (Process process : all) {
            try {
                if (!process.waitFor(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                    process.destroyForcibly().waitFor(1, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                process.destroyForcibly();
            }
        }
    }
}
