package io.echoladder.common.linux;

import java.io.IOException;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * The plumbing of the Linux bindings: linking a libc function once, capturing errno right after the
 * call (before the JVM can overwrite it), and turning an errno into an exception that names the call.
 *
 * <p>Every binding class keeps each handle in a holder class of its own, so a handle is linked the first
 * time it is used and never again: linking a new signature costs milliseconds at start-up, and a child
 * process that needs three functions links three.
 */
public final class Native {

    private Native() {
    }

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final StructLayout CAPTURE_LAYOUT = Linker.Option.captureStateLayout();
    /** Where errno sits in the capture segment; read as a plain int (a VarHandle costs start-up time). */
    private static final long ERRNO_OFFSET = CAPTURE_LAYOUT.byteOffset(StructLayout.PathElement.groupElement("errno"));
    private static final Linker.Option CAPTURE_ERRNO = Linker.Option.captureCallState("errno");

    /**
     * The errno capture buffer of the calling thread: handles linked with {@link #errnoCall} take it as
     * their first argument. One per thread, allocated on first use, lives as long as the thread.
     */
    private static final ThreadLocal<MemorySegment> CAPTURE = ThreadLocal.withInitial(
            // A few bytes per thread that ever calls libc, freed by the collector once the thread is gone
            // (an automatic arena: the JVM's Common-Cleaner thread, running from start-up anyway, frees it).
            // Not the global arena: a rung that starts a thread per client would leak a segment per client.
            () -> java.lang.foreign.Arena.ofAuto().allocate(CAPTURE_LAYOUT));

    /** errno values this project acts on, as in {@code <errno.h>} (Linux, all architectures). */
    public static final int EPERM = 1;
    public static final int ENOENT = 2;
    public static final int EINTR = 4;
    public static final int EBADF = 9;
    public static final int EAGAIN = 11;
    public static final int EWOULDBLOCK = EAGAIN;
    public static final int ENOMEM = 12;
    public static final int EINVAL = 22;
    public static final int ENFILE = 23;
    public static final int EMFILE = 24;
    public static final int EPIPE = 32;
    public static final int ENONET = 64;
    public static final int EPROTO = 71;
    public static final int ENOPROTOOPT = 92;
    public static final int EOPNOTSUPP = 95;
    public static final int EADDRINUSE = 98;
    public static final int ENETDOWN = 100;
    public static final int ENETUNREACH = 101;
    public static final int ECONNABORTED = 103;
    public static final int ECONNRESET = 104;
    public static final int ENOBUFS = 105;
    public static final int ENOTCONN = 107;
    public static final int ETIMEDOUT = 110;
    public static final int EHOSTDOWN = 112;
    public static final int EHOSTUNREACH = 113;

    /**
     * Links {@code name} with errno captured. The handle's first parameter is the capture segment
     * ({@link #capture()}).
     *
     * <p>{@code critical} would link it with {@code Linker.Option.critical}: no thread-state transition
     * around the call, so the thread stays "in Java" while the C code runs, and a safepoint (a garbage
     * collection, a thread dump) waits until it returns. The JDK allows that only for a function "that has
     * an extremely short running time in all cases". No binding here is one, so every binding passes
     * {@code false}: a system call is never that short in all cases (a non-blocking read or write still
     * runs the TCP stack, and a 64 KiB loopback write runs the receiver's too; epoll_ctl takes a mutex
     * that a concurrent epoll_wait holds; a read or write of a blocking eventfd can wait forever), and
     * measured here the transition is 2-6 ns against 1.1-1.7 us for the cheapest system call
     * ({@code CriticalDowncallBenchmark}; epoll/README.md has the figures). {@link #linkedCritical} shows
     * the decision to a test.
     */
    static MethodHandle errnoCall(String name, FunctionDescriptor descriptor, boolean critical,
                                  Linker.Option... more) {
        MemorySegment address = LIBC.find(name).orElseThrow(() -> new UnsatisfiedLinkError("libc has no " + name));
        java.util.List<Linker.Option> options = new java.util.ArrayList<>(java.util.List.of(more));
        options.add(CAPTURE_ERRNO);
        if (critical) {
            options.add(Linker.Option.critical(false));
            LINKED_CRITICAL.add(name);
        }
        return LINKER.downcallHandle(address, descriptor, options.toArray(Linker.Option[]::new));
    }

    /** The functions linked critical so far, by name. */
    private static final java.util.Set<String> LINKED_CRITICAL = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /** Which of the functions linked so far are critical (none, as {@link #errnoCall} explains). */
    static java.util.Set<String> linkedCritical() {
        return java.util.Set.copyOf(LINKED_CRITICAL);
    }

    /** This thread's errno capture segment. */
    static MemorySegment capture() {
        return CAPTURE.get();
    }

    /** The errno the last call through {@code capture} left there. */
    static int errno(MemorySegment capture) {
        return capture.get(ValueLayout.JAVA_INT, ERRNO_OFFSET);
    }

    /** The message of an errno, as {@code strerror(3)} gives it. */
    public static String strerror(int errno) {
        try {
            MemorySegment message = (MemorySegment) Strerror.HANDLE.invokeExact(errno);
            return message.reinterpret(256).getString(0);
        } catch (Throwable t) {
            return "errno " + errno;
        }
    }

    /** {@code IOException("syscall: message")} for a failed call. */
    public static IOException exception(String syscall, int errno) {
        return new NativeException(syscall, errno);
    }

    /**
     * For the bindings that return {@code -errno} on failure: {@code rc} when the call succeeded, else the
     * exception {@link #exception} names, thrown.
     */
    public static int check(String syscall, int rc) throws IOException {
        if (rc < 0) {
            throw exception(syscall, -rc);
        }
        return rc;
    }

    /** Rethrows what a downcall threw (only errors are possible), unwrapped. */
    static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            throw r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        throw new IllegalStateException(t);
    }

    private static final class Strerror {
        static final MethodHandle HANDLE = LINKER.downcallHandle(LIBC.find("strerror").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
    }

    /** A failed system call: the call's name, errno and its message. */
    public static final class NativeException extends IOException {
        private final String syscall;
        private final int errno;

        NativeException(String syscall, int errno) {
            super(syscall + ": " + strerror(errno));
            this.syscall = syscall;
            this.errno = errno;
        }

        public String syscall() {
            return syscall;
        }

        public int errno() {
            return errno;
        }
    }
}
