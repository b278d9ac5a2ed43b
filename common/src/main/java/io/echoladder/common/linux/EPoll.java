package io.echoladder.common.linux;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * epoll(7) through {@code java.lang.foreign}, by its C names.
 *
 * <pre>{@code
 * typedef union epoll_data { void *ptr; int fd; uint32_t u32; uint64_t u64; } epoll_data_t;
 * struct epoll_event { uint32_t events; epoll_data_t data; } EPOLL_PACKED;
 * }</pre>
 *
 * On x86-64 the kernel declares the struct packed: 12 bytes, {@code data} at offset 4, unaligned. Other
 * architectures align {@code data}: 16 bytes, at offset 8. The layout is chosen per architecture and its
 * size checked when this class loads. The ladder keeps the fd in {@code data}.
 */
public final class EPoll {

    private EPoll() {
    }

    public static final int EPOLLIN = 0x001;
    public static final int EPOLLPRI = 0x002;
    public static final int EPOLLOUT = 0x004;
    public static final int EPOLLERR = 0x008;
    public static final int EPOLLHUP = 0x010;
    public static final int EPOLLRDHUP = 0x2000;
    public static final int EPOLLEXCLUSIVE = 1 << 28;
    public static final int EPOLLONESHOT = 1 << 30;
    public static final int EPOLLET = 1 << 31;

    public static final int EPOLL_CTL_ADD = 1;
    public static final int EPOLL_CTL_DEL = 2;
    public static final int EPOLL_CTL_MOD = 3;

    public static final int EPOLL_CLOEXEC = 0x80000;

    private static final boolean PACKED = System.getProperty("os.arch").equals("amd64")
            || System.getProperty("os.arch").equals("x86_64");

    /** {@code struct epoll_event}, as the kernel lays it out on this architecture. */
    public static final StructLayout EPOLL_EVENT = PACKED
            ? MemoryLayout.structLayout(
                    ValueLayout.JAVA_INT.withName("events"),
                    ValueLayout.JAVA_LONG_UNALIGNED.withName("data"))
            : MemoryLayout.structLayout(
                    ValueLayout.JAVA_INT.withName("events"),
                    MemoryLayout.paddingLayout(4),
                    ValueLayout.JAVA_LONG.withName("data"));

    /** Bytes per event in an array of them. */
    public static final long EVENT_SIZE = EPOLL_EVENT.byteSize();
    private static final long DATA_OFFSET = EPOLL_EVENT.byteOffset(MemoryLayout.PathElement.groupElement("data"));

    static {
        long expected = PACKED ? 12 : 16;
        if (EVENT_SIZE != expected || DATA_OFFSET != (PACKED ? 4 : 8)) {
            throw new ExceptionInInitializerError("struct epoll_event is " + EVENT_SIZE + " bytes, data at "
                    + DATA_OFFSET + "; expected " + expected + " on " + System.getProperty("os.arch"));
        }
    }

    /** {@code int epoll_create1(int flags);} with EPOLL_CLOEXEC, so child processes do not inherit it. */
    public static int epoll_create1() throws IOException {
        MemorySegment errno = Native.capture();
        try {
            int fd = (int) Create1.HANDLE.invokeExact(errno, EPOLL_CLOEXEC);
            if (fd < 0) {
                throw Native.exception("epoll_create1", Native.errno(errno));
            }
            return fd;
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /**
     * {@code int epoll_ctl(int epfd, int op, int fd, struct epoll_event *event);} with {@code data = fd}:
     * 0, or {@code -errno}. {@code event} is scratch memory of the calling thread, one
     * {@link #EPOLL_EVENT} long (see {@link #allocateEvents}).
     */
    public static int epoll_ctl(int epfd, int op, int fd, int events, MemorySegment event) {
        return epoll_ctl(epfd, op, fd, events, fd, event);
    }

    /**
     * {@link #epoll_ctl(int, int, int, int, MemorySegment)} with {@code data} of the caller's choosing: a
     * token that, unlike an fd number, is not reused when the fd is closed and another opened.
     */
    public static int epoll_ctl(int epfd, int op, int fd, int events, long data, MemorySegment event) {
        event.set(ValueLayout.JAVA_INT, 0, events);
        event.set(ValueLayout.JAVA_LONG_UNALIGNED, DATA_OFFSET, data);
        MemorySegment errno = Native.capture();
        try {
            int rc = (int) Ctl.HANDLE.invokeExact(errno, epfd, op, fd, event);
            return rc >= 0 ? rc : -Native.errno(errno);
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /**
     * {@code int epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout);}: blocks
     * until an fd is ready or {@code timeout} ms pass (-1: forever). Returns the number of events, 0 on
     * timeout or when a signal interrupted the wait (EINTR: the caller's loop simply waits again).
     *
     * @throws IOException for any other error: the epoll fd is broken, which is fatal to its loop
     */
    public static int epoll_wait(int epfd, MemorySegment events, int maxEvents, int timeout) throws IOException {
        MemorySegment errno = Native.capture();
        try {
            int n = (int) Wait.HANDLE.invokeExact(errno, epfd, events, maxEvents, timeout);
            if (n >= 0) {
                return n;
            }
            int e = Native.errno(errno);
            if (e == Native.EINTR) {
                return 0;
            }
            throw Native.exception("epoll_wait", e);
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /** An array of {@code count} events in {@code arena}, for epoll_wait (or one, as epoll_ctl scratch). */
    public static MemorySegment allocateEvents(Arena arena, int count) {
        return arena.allocate(EPOLL_EVENT, count);
    }

    /** The {@code events} bits of event {@code i} in an array filled by epoll_wait. */
    public static int events(MemorySegment events, int i) {
        return events.get(ValueLayout.JAVA_INT, i * EVENT_SIZE);
    }

    /** {@code data} of event {@code i}: the token given to epoll_ctl. */
    public static long data(MemorySegment events, int i) {
        return events.get(ValueLayout.JAVA_LONG_UNALIGNED, i * EVENT_SIZE + DATA_OFFSET);
    }

    /** The fd kept in {@code data} of event {@code i}. */
    public static int fd(MemorySegment events, int i) {
        return (int) events.get(ValueLayout.JAVA_LONG_UNALIGNED, i * EVENT_SIZE + DATA_OFFSET);
    }

    private static final class Create1 {
        static final MethodHandle HANDLE = Native.errnoCall("epoll_create1",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT), false);
    }

    private static final class Ctl {
        // Not critical: it takes the epoll instance's mutex, which another thread's epoll_wait holds
        // while it collects events, so it can sleep (Native.errnoCall says why no binding is critical).
        static final MethodHandle HANDLE = Native.errnoCall("epoll_ctl",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS), false);
    }

    private static final class Wait {
        // Blocks: an ordinary downcall, so the JVM can reach a safepoint while this thread waits.
        static final MethodHandle HANDLE = Native.errnoCall("epoll_wait",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), false);
    }
}
