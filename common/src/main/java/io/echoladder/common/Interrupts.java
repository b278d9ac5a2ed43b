package io.echoladder.common;

import io.echoladder.common.linux.Posix;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import sun.misc.Signal;

/**
 * Ctrl-C (SIGINT) for every {@code ./ladder} command. A command that measures says what the first Ctrl-C
 * does ({@link #onInterrupt}: stop measuring and report what it has); with nothing registered, or at the
 * second Ctrl-C, the process exits 130 at once, as a JVM does by default.
 *
 * <p>A shell without job control (a script) starts a command with {@code &} with SIGINT ignored, the JVM
 * inherits that, and the JVM's {@code Signal.handle} then installs nothing for SIGINT and says so only
 * by returning {@code SIG_IGN}: {@code kill -INT} would do nothing. {@link #install} puts the default
 * action back first, so a server started by a script stops on SIGINT like one started by hand.
 */
public final class Interrupts {

    /** The exit status of a command stopped by SIGINT: 128 + 2, as the shell reports a death by SIGINT. */
    public static final int EXIT_STATUS = 130;

    private static final AtomicReference<Runnable> ACTION = new AtomicReference<>();
    private static final AtomicInteger RECEIVED = new AtomicInteger();

    private Interrupts() {
    }

    /** Takes SIGINT over for this process; {@link Cli#main} calls it before the command runs. */
    public static void install() {
        try {
            if (ignoredAtStart(Posix.SIGINT)) {
                Posix.signal(Posix.SIGINT, Posix.SIG_DFL);
            }
            Signal.handle(new Signal("INT"), s -> interrupted());
        } catch (IOException | IllegalArgumentException | LinkageError e) {
            // -Xrs, or no libc to call: SIGINT keeps whatever the JVM gave it.
        }
    }

    private static void interrupted() {
        Runnable action = ACTION.get();
        if (action == null || RECEIVED.getAndIncrement() > 0) {
            System.err.flush();
            System.exit(EXIT_STATUS);
        }
        action.run();
    }

    /**
     * Until {@link Registration#close}, the first SIGINT runs {@code action} (on the JVM's signal thread:
     * it must only ask the command to stop, and return).
     */
    public static Registration onInterrupt(Runnable action) {
        ACTION.set(action);
        return () -> ACTION.compareAndSet(action, null);
    }

    /** What {@link #onInterrupt} returns. */
    @FunctionalInterface
    public interface Registration extends AutoCloseable {
        @Override
        void close();
    }

    /** Whether this process has {@code signal} ignored: bit {@code signal - 1} of SigIgn in /proc/self/status. */
    static boolean ignoredAtStart(int signal) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("SigIgn:")) {
                    long mask = Long.parseUnsignedLong(line.substring("SigIgn:".length()).strip(), 16);
                    return (mask & (1L << (signal - 1))) != 0;
                }
            }
        } catch (IOException | NumberFormatException e) {
            // not Linux, or not readable: nothing to undo that we could see
        }
        return false;
    }
}
