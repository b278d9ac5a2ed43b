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
 * select(2) through {@code java.lang.foreign}, by its C names, with the {@code fd_set} macros done as
 * glibc's {@code <sys/select.h>} does them.
 *
 * <pre>{@code
 * typedef long int __fd_mask;
 * #define __NFDBITS (8 * (int) sizeof (__fd_mask))                    // 64
 * typedef struct { __fd_mask fds_bits[FD_SETSIZE / __NFDBITS]; } fd_set; // 16 longs, 128 bytes
 * #define FD_SET(d, set)   ((set)->fds_bits[(d) / __NFDBITS] |= 1UL << ((d) % __NFDBITS))
 * #define FD_ISSET(d, set) (((set)->fds_bits[(d) / __NFDBITS] & (1UL << ((d) % __NFDBITS))) != 0)
 * struct timeval { time_t tv_sec; suseconds_t tv_usec; };            // 16 bytes on 64-bit Linux
 * }</pre>
 *
 * An {@code fd_set} is a bitmap of a fixed 1,024 bits: C's {@code FD_SET} with a descriptor of 1024 or
 * more writes past the end of it, silently. Here {@link #FD_SET} refuses such a descriptor with an
 * exception instead, and a caller is expected to check {@link #FD_SETSIZE} first.
 */
public final class Select {

    private Select() {
    }

    /** How many descriptors an {@code fd_set} holds: 0 to 1023, fixed when glibc was compiled. */
    public static final int FD_SETSIZE = 1024;

    private static final int NFDBITS = 64;

    /** {@code fd_set}: FD_SETSIZE bits in 64-bit words. */
    public static final MemoryLayout FD_SET = MemoryLayout.sequenceLayout(FD_SETSIZE / NFDBITS, ValueLayout.JAVA_LONG);

    /** {@code struct timeval}, 64-bit Linux. */
    public static final StructLayout TIMEVAL = MemoryLayout.structLayout(
            ValueLayout.JAVA_LONG.withName("tv_sec"),
            ValueLayout.JAVA_LONG.withName("tv_usec"));

    static {
        if (FD_SET.byteSize() != 128 || TIMEVAL.byteSize() != 16) {
            throw new ExceptionInInitializerError("fd_set is " + FD_SET.byteSize() + " bytes, timeval "
                    + TIMEVAL.byteSize() + "; expected 128 and 16 (64-bit glibc)");
        }
    }

    /** One {@code fd_set} in {@code arena}, all bits clear. */
    public static MemorySegment allocateFdSet(Arena arena) {
        return arena.allocate(FD_SET);
    }

    /** A {@code struct timeval} in {@code arena}, for {@link #select}'s timeout. */
    public static MemorySegment allocateTimeval(Arena arena) {
        return arena.allocate(TIMEVAL);
    }

    /** {@code FD_ZERO(set)}: clears every bit. */
    public static void FD_ZERO(MemorySegment set) {
        set.fill((byte) 0);
    }

    /**
     * {@code FD_SET(fd, set)}: sets the bit of {@code fd}.
     *
     * @throws IndexOutOfBoundsException if {@code fd} is negative or {@code >= FD_SETSIZE}: where C would
     *     write past the bitmap
     */
    public static void FD_SET(int fd, MemorySegment set) {
        long offset = word(fd);
        set.set(ValueLayout.JAVA_LONG, offset, set.get(ValueLayout.JAVA_LONG, offset) | mask(fd));
    }

    /** {@code FD_ISSET(fd, set)}: whether the bit of {@code fd} is set. */
    public static boolean FD_ISSET(int fd, MemorySegment set) {
        return (set.get(ValueLayout.JAVA_LONG, word(fd)) & mask(fd)) != 0;
    }

    private static long word(int fd) {
        if (fd < 0 || fd >= FD_SETSIZE) {
            throw new IndexOutOfBoundsException("fd " + fd + " is outside an fd_set (FD_SETSIZE " + FD_SETSIZE + ")");
        }
        return (long) (fd / NFDBITS) * Long.BYTES;
    }

    private static long mask(int fd) {
        return 1L << (fd % NFDBITS);
    }

    /**
     * {@code int select(int nfds, fd_set *readfds, fd_set *writefds, fd_set *exceptfds, struct timeval
     * *timeout);} without exceptfds: blocks until a descriptor below {@code nfds} in either set is ready
     * or {@code timeoutMillis} pass (-1: forever). On return the sets hold only the ready descriptors
     * (so they must be rebuilt before the next call), and the number of set bits is returned; 0 on
     * timeout or when a signal interrupted the wait (EINTR: the caller's loop simply waits again, with
     * sets rebuilt).
     *
     * @param timeval scratch memory for the timeout (see {@link #allocateTimeval}); Linux writes back
     *     the time left, so it is filled in anew on every call
     * @throws IOException for any other error (EBADF: a closed descriptor was left in a set), fatal to
     *     the caller's loop
     */
    public static int select(int nfds, MemorySegment readfds, MemorySegment writefds, int timeoutMillis,
                             MemorySegment timeval) throws IOException {
        MemorySegment timeout = MemorySegment.NULL;
        if (timeoutMillis >= 0) {
            timeval.set(ValueLayout.JAVA_LONG, 0, timeoutMillis / 1000);
            timeval.set(ValueLayout.JAVA_LONG, 8, (timeoutMillis % 1000) * 1000L);
            timeout = timeval;
        }
        MemorySegment errno = Native.capture();
        try {
            int n = (int) Call.HANDLE.invokeExact(errno, nfds, readfds, writefds, MemorySegment.NULL, timeout);
            if (n >= 0) {
                return n;
            }
            int e = Native.errno(errno);
            if (e == Native.EINTR) {
                return 0;
            }
            throw Native.exception("select", e);
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    private static final class Call {
        // Blocks: an ordinary downcall, so the JVM can reach a safepoint while this thread waits.
        static final MethodHandle HANDLE = Native.errnoCall("select",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS), false);
    }
}
