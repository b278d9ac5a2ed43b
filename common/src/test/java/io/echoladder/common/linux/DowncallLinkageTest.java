package io.echoladder.common.linux;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * How the bindings are linked, pinned: no downcall is {@code critical} (Native.errnoCall says why), and
 * what that buys, shown: while a thread waits inside {@code read(2)} or {@code write(2)}, the JVM still
 * reaches a safepoint. A critical downcall keeps its thread "in Java", and a garbage collection would
 * wait for the call to return.
 */
class DowncallLinkageTest {

    /** The classes whose nested holders link a libc function each, on first use. */
    private static final List<Class<?>> BINDINGS = List.of(Posix.class, EPoll.class, Poll.class, Select.class,
            Syscall.class, UnixSockets.class, IoUring.class);

    /** A generous bound that only a hang exceeds: a full collection of this test's heap takes milliseconds. */
    private static final Duration HANG = Duration.ofSeconds(20);

    /** When the kernel ends a blocked read or write of the test's sockets: after {@link #HANG}. */
    private static final Duration KERNEL_TIMEOUT = Duration.ofSeconds(30);

    @Test
    void noBindingIsLinkedCritical() throws Exception {
        int linked = 0;
        for (Class<?> binding : BINDINGS) {
            for (Class<?> holder : binding.getDeclaredClasses()) {
                Class.forName(holder.getName(), true, holder.getClassLoader()); // links its handle, if any
                linked++;
            }
        }

        assertThat(linked).as("holder classes initialised").isGreaterThan(15);
        assertThat(Native.linkedCritical()).as("functions linked with Linker.Option.critical").isEmpty();
    }

    @Test
    void aThreadWaitingInReadDoesNotHoldUpAGarbageCollection() throws Exception {
        try (Arena arena = Arena.ofShared()) {
            int[] pair = blockingSocketPair(arena);
            try {
                MemorySegment in = arena.allocate(Long.BYTES);
                MemorySegment out = arena.allocate(Long.BYTES);
                // Nothing to read yet: the read sleeps until the other end writes.
                assertSafepointWhileBlocked("blocked-read", () -> Posix.read(pair[0], in, Long.BYTES),
                        () -> Posix.write(pair[1], out, Long.BYTES));
            } finally {
                Posix.close(pair[0]);
                Posix.close(pair[1]);
            }
        }
    }

    @Test
    void aThreadWaitingInWriteDoesNotHoldUpAGarbageCollection() throws Exception {
        try (Arena arena = Arena.ofShared()) {
            int[] pair = blockingSocketPair(arena);
            try {
                MemorySegment chunk = arena.allocate(64 * 1024);
                // Fill the socket without waiting (MSG_DONTWAIT): the next blocking write must wait for a reader.
                for (int i = 0; i < 1000 && send(pair[0], chunk, MSG_DONTWAIT) > 0; i++) {
                    // until the buffers are full
                }
                assertSafepointWhileBlocked("blocked-write", () -> Posix.write(pair[0], chunk, Long.BYTES),
                        () -> {
                            for (int i = 0; i < 1000 && Posix.recv(pair[1], chunk, chunk.byteSize(), MSG_DONTWAIT) > 0; i++) {
                                // drain what the writer is waiting on
                            }
                        });
            } finally {
                Posix.close(pair[0]);
                Posix.close(pair[1]);
            }
        }
    }

    // x86-64 and aarch64 system call numbers, <sys/socket.h> values.
    private static final boolean X86_64 = System.getProperty("os.arch").equals("amd64");
    private static final long SYS_socketpair = X86_64 ? 53 : 199;
    private static final long SYS_setsockopt = X86_64 ? 54 : 208;
    private static final long SYS_sendto = X86_64 ? 44 : 206;
    private static final int AF_UNIX = 1;
    private static final int SO_RCVTIMEO = 20;
    private static final int SO_SNDTIMEO = 21;
    private static final int MSG_DONTWAIT = 0x40;

    /**
     * A connected pair of blocking Unix stream sockets whose reads and writes give up after
     * {@link #KERNEL_TIMEOUT} (SO_RCVTIMEO, SO_SNDTIMEO): if a call ever holds up the collection, the
     * kernel still ends the wait, and the test fails instead of hanging (the test thread itself could not
     * release it: it would stop at the pending safepoint first).
     */
    private static int[] blockingSocketPair(Arena arena) {
        MemorySegment fds = arena.allocate(ValueLayout.JAVA_INT, 2);
        check("socketpair", Syscall.call(SYS_socketpair, AF_UNIX, Posix.SOCK_STREAM | Posix.SOCK_CLOEXEC, 0,
                fds.address()));
        MemorySegment timeval = arena.allocate(ValueLayout.JAVA_LONG, 2); // struct timeval { tv_sec; tv_usec; }
        timeval.set(ValueLayout.JAVA_LONG, 0, KERNEL_TIMEOUT.toSeconds());
        int[] pair = {fds.getAtIndex(ValueLayout.JAVA_INT, 0), fds.getAtIndex(ValueLayout.JAVA_INT, 1)};
        for (int fd : pair) {
            for (int option : new int[] {SO_RCVTIMEO, SO_SNDTIMEO}) {
                check("setsockopt", Syscall.call(SYS_setsockopt, fd, Posix.SOL_SOCKET, option, timeval.address(),
                        timeval.byteSize(), 0));
            }
        }
        return pair;
    }

    private static long send(int fd, MemorySegment bytes, int flags) {
        return Syscall.call(SYS_sendto, fd, bytes.address(), bytes.byteSize(), flags, 0, 0);
    }

    private static void check(String call, long rc) {
        if (rc < 0) {
            throw new IllegalStateException(call + ": " + Native.strerror((int) -rc));
        }
    }

    /**
     * Starts {@code call} on a thread named {@code name}, waits until that thread sleeps inside a system
     * call, then requires a full garbage collection (a safepoint: every thread in Java must stop) to
     * finish while it is still there. {@code release} then lets the call return.
     */
    private static void assertSafepointWhileBlocked(String name, LongSupplier call, Runnable release)
            throws Exception {
        CompletableFuture<Long> result = new CompletableFuture<>();
        Thread caller = Thread.ofPlatform().name(name).daemon().start(() -> result.complete(call.getAsLong()));
        try {
            awaitAsleepInSystemCall(name);
            CompletableFuture<Void> gc = CompletableFuture.runAsync(System::gc);
            try {
                gc.get(HANG.toSeconds(), TimeUnit.SECONDS);
            } catch (java.util.concurrent.TimeoutException e) {
                throw new AssertionError("System.gc() did not finish in " + HANG.toSeconds() + " s while "
                        + name + " waited in a downcall: the call holds up safepoints (linked critical?)");
            }
            assertThat(result).as(name + " is still waiting after the collection").isNotDone();
        } finally {
            release.run();
            caller.join(HANG.toMillis());
        }
        assertThat(result.get(HANG.toSeconds(), TimeUnit.SECONDS)).isEqualTo(Long.BYTES);
    }

    /**
     * Waits until the thread whose name is {@code name} is asleep in a system call: its
     * {@code /proc/self/task/TID/stat} state is S and its {@code syscall} file names a call, not
     * "running". Fails after {@link #HANG}.
     */
    private static void awaitAsleepInSystemCall(String name) throws InterruptedException, IOException {
        long deadline = System.nanoTime() + HANG.toNanos();
        while (System.nanoTime() < deadline) {
            Optional<Path> task = task(name);
            if (task.isPresent()) {
                String stat = Files.readString(task.get().resolve("stat"));
                String state = stat.substring(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
                String syscall = Files.readString(task.get().resolve("syscall")).strip();
                if (state.equals("S") && !syscall.equals("running") && !syscall.startsWith("-1")) {
                    return;
                }
            }
            Thread.sleep(10);
        }
        throw new AssertionError(name + " never went to sleep in a system call");
    }

    private static Optional<Path> task(String name) throws IOException {
        try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
            return tasks.filter(t -> {
                try {
                    return Files.readString(t.resolve("comm")).strip().equals(name);
                } catch (IOException gone) {
                    return false;
                }
            }).findFirst();
        }
    }
}
