package io.echoladder.common.linux;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * {@code long syscall(long number, ...);}: every system call through one downcall handle.
 *
 * <p>For a process that must start fast. Linking a downcall costs milliseconds per distinct signature
 * (measured here: 25 to 30 ms for the first, 17 to 19 ms for the next, even from an AOT cache), so a
 * worker JVM that links socket, connect, recvmsg, read, write and close separately spends most of its
 * start-up doing so. Through {@code syscall(2)} it links once: the numbers are per architecture, the
 * arguments all {@code long} (pointers as addresses).
 */
public final class Syscall {

    private Syscall() {
    }

    private static final boolean X86_64 = System.getProperty("os.arch").equals("amd64")
            || System.getProperty("os.arch").equals("x86_64");

    static {
        if (!X86_64 && !System.getProperty("os.arch").equals("aarch64")) {
            throw new ExceptionInInitializerError("no syscall numbers for " + System.getProperty("os.arch"));
        }
    }

    // <asm/unistd_64.h> on x86-64; <asm-generic/unistd.h> on aarch64.
    public static final long SYS_read = X86_64 ? 0 : 63;
    public static final long SYS_write = X86_64 ? 1 : 64;
    public static final long SYS_close = X86_64 ? 3 : 57;
    public static final long SYS_socket = X86_64 ? 41 : 198;
    public static final long SYS_connect = X86_64 ? 42 : 203;
    public static final long SYS_sendmsg = X86_64 ? 46 : 211;
    public static final long SYS_recvmsg = X86_64 ? 47 : 212;
    public static final long SYS_accept4 = X86_64 ? 288 : 242;
    public static final long SYS_mmap = X86_64 ? 9 : 222;
    public static final long SYS_munmap = X86_64 ? 11 : 215;
    public static final long SYS_prlimit64 = X86_64 ? 302 : 261;
    public static final long SYS_openat = X86_64 ? 257 : 56;
    // io_uring's three calls have one number on every architecture (they came after the tables merged).
    public static final long SYS_io_uring_setup = 425;
    public static final long SYS_io_uring_enter = 426;
    public static final long SYS_io_uring_register = 427;

    /** {@code syscall(number, a, b, c)}: the result, or {@code -errno}; EINTR is retried. */
    public static long call(long number, long a, long b, long c) {
        return call(number, a, b, c, 0);
    }

    /** {@code syscall(number, a, b, c, d)}: the result, or {@code -errno}; EINTR is retried. */
    public static long call(long number, long a, long b, long c, long d) {
        return call(number, a, b, c, d, 0, 0);
    }

    /**
     * {@code syscall(number, a, b, c, d, e, f)}: six arguments, the most any Linux system call takes
     * ({@code mmap}, {@code io_uring_enter}). The result, or {@code -errno}; EINTR is retried.
     */
    public static long call(long number, long a, long b, long c, long d, long e, long f) {
        MemorySegment errno = Native.capture();
        try {
            long rc;
            do {
                rc = (long) Handle.HANDLE.invokeExact(errno, number, a, b, c, d, e, f);
            } while (rc < 0 && Native.errno(errno) == Native.EINTR);
            return rc >= 0 ? rc : -Native.errno(errno);
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    private static final class Handle {
        // Variadic after the number; every argument a long, which C's default promotions leave alone.
        // Always six: the kernel ignores the ones a call does not take, and one signature links once.
        static final MethodHandle HANDLE = Native.errnoCall("syscall",
                FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG,
                        JAVA_LONG), false,
                Linker.Option.firstVariadicArg(1));
    }
}
