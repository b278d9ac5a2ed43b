package io.echoladder.common.linux;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * poll(2) through {@code java.lang.foreign}, by its C names.
 *
 * <pre>{@code
 * struct pollfd {
 *     int   fd;      // a negative fd is ignored: its events are not checked, its revents read 0
 *     short events;  // what the caller waits for
 *     short revents; // what happened, filled in by the kernel
 * };
 * typedef unsigned long int nfds_t;
 * int poll(struct pollfd *fds, nfds_t nfds, int timeout);
 * }</pre>
 *
 * The same 8 bytes on every Linux architecture ({@code events} at 4, {@code revents} at 6), checked when
 * this class loads.
 */
public final class Poll {

    private Poll() {
    }

    // <bits/poll.h>
    public static final short POLLIN = 0x001;
    public static final short POLLPRI = 0x002;
    public static final short POLLOUT = 0x004;
    /** Always reported, never asked for: an error on the socket. */
    public static final short POLLERR = 0x008;
    /** Always reported: both directions are shut (or the peer reset the connection). */
    public static final short POLLHUP = 0x010;
    /** Always reported: the fd is not open. */
    public static final short POLLNVAL = 0x020;

    /** {@code struct pollfd}. */
    public static final StructLayout POLLFD = MemoryLayout.structLayout(
            ValueLayout.JAVA_INT.withName("fd"),
            ValueLayout.JAVA_SHORT.withName("events"),
            ValueLayout.JAVA_SHORT.withName("revents"));

    /** Bytes per entry in an array of them. */
    public static final long POLLFD_SIZE = POLLFD.byteSize();
    private static final long EVENTS = POLLFD.byteOffset(MemoryLayout.PathElement.groupElement("events"));
    private static final long REVENTS = POLLFD.byteOffset(MemoryLayout.PathElement.groupElement("revents"));

    static {
        if (POLLFD_SIZE != 8 || EVENTS != 4 || REVENTS != 6) {
            throw new ExceptionInInitializerError("struct pollfd is " + POLLFD_SIZE + " bytes, events at " + EVENTS
                    + ", revents at " + REVENTS + "; expected 8, 4 and 6");
        }
    }

    /** An array of {@code count} pollfds in {@code arena}. */
    public static MemorySegment allocate(Arena arena, int count) {
        return arena.allocate(POLLFD, count);
    }

    /** Sets entry {@code i} to watch {@code fd} for {@code events}, its revents cleared. */
    public static void set(MemorySegment fds, int i, int fd, int events) {
        fds.set(ValueLayout.JAVA_INT, i * POLLFD_SIZE, fd);
        fds.set(ValueLayout.JAVA_SHORT, i * POLLFD_SIZE + EVENTS, (short) events);
        fds.set(ValueLayout.JAVA_SHORT, i * POLLFD_SIZE + REVENTS, (short) 0);
    }

    /** The {@code fd} of entry {@code i}. */
    public static int fd(MemorySegment fds, int i) {
        return fds.get(ValueLayout.JAVA_INT, i * POLLFD_SIZE);
    }

    /** The {@code events} of entry {@code i}. */
    public static int events(MemorySegment fds, int i) {
        return fds.get(ValueLayout.JAVA_SHORT, i * POLLFD_SIZE + EVENTS);
    }

    /** Changes only the {@code events} of entry {@code i}. */
    public static void setEvents(MemorySegment fds, int i, int events) {
        fds.set(ValueLayout.JAVA_SHORT, i * POLLFD_SIZE + EVENTS, (short) events);
    }

    /** The {@code revents} of entry {@code i}, as poll left them. */
    public static int revents(MemorySegment fds, int i) {
        return fds.get(ValueLayout.JAVA_SHORT, i * POLLFD_SIZE + REVENTS);
    }

    /**
     * {@code int poll(struct pollfd *fds, nfds_t nfds, int timeout);}: blocks until one of the first
     * {@code nfds} entries is ready or {@code timeout} ms pass (-1: forever). Returns how many entries
     * have non-zero revents; 0 on timeout or when a signal interrupted the wait (EINTR: the caller's loop
     * simply waits again).
     *
     * @throws IOException for any other error, fatal to the caller's loop
     */
    public static int poll(MemorySegment fds, int nfds, int timeout) throws IOException {
        MemorySegment errno = Native.capture();
        try {
            int n = (int) Call.HANDLE.invokeExact(errno, fds, (long) nfds, timeout);
            if (n >= 0) {
                return n;
            }
            int e = Native.errno(errno);
            if (e == Native.EINTR) {
                return 0;
            }
            throw Native.exception("poll", e);
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    private static final class Call {
        // Blocks: an ordinary downcall, so the JVM can reach a safepoint while this thread waits.
        static final MethodHandle HANDLE = Native.errnoCall("poll",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT), false);
    }
}
