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
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteOrder;

/**
 * Sockets and file descriptors through {@code java.lang.foreign}: the libc calls of a C echo server, by
 * their C names. The calls an event loop makes on every event ({@link #read}, {@link #write},
 * {@link #accept4}, {@link #close}, {@link #shutdown}) return the C result, or {@code -errno} on
 * failure, so that EAGAIN costs a comparison instead of an exception; the set-up calls throw an
 * {@link IOException} naming the call. Besides sockets, one process call: {@link #signal}, which the
 * JVM has no API for.
 */
public final class Posix {

    private Posix() {
    }

    // <sys/socket.h>, <netinet/in.h>, <netinet/tcp.h>, <sys/eventfd.h>, <sys/resource.h> on Linux.
    public static final int AF_INET = 2;
    public static final int AF_INET6 = 10;
    public static final int SOCK_STREAM = 1;
    public static final int SOCK_NONBLOCK = 0x800;
    public static final int SOCK_CLOEXEC = 0x80000;
    public static final int SOL_SOCKET = 1;
    public static final int SO_REUSEADDR = 2;
    public static final int SO_REUSEPORT = 15;
    public static final int SO_ERROR = 4;
    public static final int IPPROTO_TCP = 6;
    public static final int TCP_NODELAY = 1;
    public static final int SHUT_RD = 0;
    public static final int SHUT_WR = 1;
    public static final int SHUT_RDWR = 2;
    public static final int MSG_PEEK = 0x2;
    public static final int MSG_DONTWAIT = 0x40;
    public static final int EFD_NONBLOCK = 0x800;
    public static final int EFD_CLOEXEC = 0x80000;
    public static final int RLIMIT_NOFILE = 7;
    // <signal.h>
    public static final int SIGINT = 2;
    /** {@code SIG_DFL}, {@code SIG_IGN}: the two dispositions that are not a handler, as pointer values. */
    public static final long SIG_DFL = 0;
    public static final long SIG_IGN = 1;

    /**
     * {@code struct sockaddr_in { sa_family_t sin_family; in_port_t sin_port; struct in_addr sin_addr;
     * unsigned char sin_zero[8]; }}: 16 bytes, port and address in network (big-endian) order.
     */
    static final StructLayout SOCKADDR_IN = MemoryLayout.structLayout(
            ValueLayout.JAVA_SHORT.withName("sin_family"),
            ValueLayout.JAVA_SHORT.withOrder(ByteOrder.BIG_ENDIAN).withName("sin_port"),
            MemoryLayout.sequenceLayout(4, ValueLayout.JAVA_BYTE).withName("sin_addr"),
            MemoryLayout.sequenceLayout(8, ValueLayout.JAVA_BYTE).withName("sin_zero"));

    /**
     * {@code struct sockaddr_in6 { sa_family_t sin6_family; in_port_t sin6_port; uint32_t sin6_flowinfo;
     * struct in6_addr sin6_addr; uint32_t sin6_scope_id; }}: 28 bytes.
     */
    static final StructLayout SOCKADDR_IN6 = MemoryLayout.structLayout(
            ValueLayout.JAVA_SHORT.withName("sin6_family"),
            ValueLayout.JAVA_SHORT.withOrder(ByteOrder.BIG_ENDIAN).withName("sin6_port"),
            ValueLayout.JAVA_INT.withName("sin6_flowinfo"),
            MemoryLayout.sequenceLayout(16, ValueLayout.JAVA_BYTE).withName("sin6_addr"),
            ValueLayout.JAVA_INT.withName("sin6_scope_id"));

    static {
        if (SOCKADDR_IN.byteSize() != 16 || SOCKADDR_IN6.byteSize() != 28) {
            throw new ExceptionInInitializerError("sockaddr layouts do not match Linux: "
                    + SOCKADDR_IN.byteSize() + ", " + SOCKADDR_IN6.byteSize());
        }
    }

    /** {@code int socket(int domain, int type, int protocol);} */
    public static int socket(int domain, int type, int protocol) throws IOException {
        MemorySegment errno = Native.capture();
        try {
            int fd = (int) Socket.HANDLE.invokeExact(errno, domain, type, protocol);
            if (fd < 0) {
                throw Native.exception("socket", Native.errno(errno));
            }
            return fd;
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /** {@code int setsockopt(int fd, int level, int optname, const void *optval, socklen_t optlen);} for an int option. */
    public static void setsockopt(int fd, int level, int option, int value) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment optval = arena.allocateFrom(JAVA_INT, value);
            MemorySegment errno = Native.capture();
            int rc = (int) Setsockopt.HANDLE.invokeExact(errno, fd, level, option, optval, (int) JAVA_INT.byteSize());
            if (rc < 0) {
                throw Native.exception("setsockopt", Native.errno(errno));
            }
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /**
     * {@code int getsockopt(int fd, int level, int optname, void *optval, socklen_t *optlen);} for an int
     * option: its value, or {@code -errno} if the call failed.
     */
    public static int getsockopt(int fd, int level, int option) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment optval = arena.allocate(JAVA_INT);
            MemorySegment optlen = arena.allocateFrom(JAVA_INT, (int) JAVA_INT.byteSize());
            MemorySegment errno = Native.capture();
            int rc = (int) Getsockopt.HANDLE.invokeExact(errno, fd, level, option, optval, optlen);
            return rc < 0 ? -Native.errno(errno) : optval.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /** The address family of a host: {@link #AF_INET} or {@link #AF_INET6}. */
    public static int family(InetAddress address) {
        return address instanceof Inet6Address ? AF_INET6 : AF_INET;
    }

    /** {@code int bind(int fd, const struct sockaddr *addr, socklen_t addrlen);} */
    public static void bind(int fd, InetSocketAddress address) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            bind(fd, sockaddr(arena, address));
        }
    }

    /** {@code bind(2)} to any {@code struct sockaddr} already laid out in memory (its size is addrlen). */
    static void bind(int fd, MemorySegment sockaddr) throws IOException {
        MemorySegment errno = Native.capture();
        try {
            if ((int) Bind.HANDLE.invokeExact(errno, fd, sockaddr, (int) sockaddr.byteSize()) < 0) {
                throw Native.exception("bind", Native.errno(errno));
            }
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /** {@code int listen(int fd, int backlog);} */
    public static void listen(int fd, int backlog) throws IOException {
        MemorySegment errno = Native.capture();
        try {
            if ((int) Listen.HANDLE.invokeExact(errno, fd, backlog) < 0) {
                throw Native.exception("listen", Native.errno(errno));
            }
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /** {@code int getsockname(int fd, struct sockaddr *addr, socklen_t *addrlen);}: where a socket is bound. */
    public static InetSocketAddress getsockname(int fd) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment sockaddr = arena.allocate(SOCKADDR_IN6);
            MemorySegment length = arena.allocateFrom(JAVA_INT, (int) SOCKADDR_IN6.byteSize());
            MemorySegment errno = Native.capture();
            if ((int) Getsockname.HANDLE.invokeExact(errno, fd, sockaddr, length) < 0) {
                throw Native.exception("getsockname", Native.errno(errno));
            }
            return address(sockaddr);
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /**
     * {@code int accept4(int fd, struct sockaddr *addr, socklen_t *addrlen, int flags);} without the peer
     * address: the new fd, or {@code -errno} ({@code -EAGAIN} once the backlog is empty).
     */
    public static int accept4(int fd, int flags) {
        MemorySegment errno = Native.capture();
        try {
            int rc = (int) Accept4.HANDLE.invokeExact(errno, fd, MemorySegment.NULL, MemorySegment.NULL, flags);
            return rc >= 0 ? rc : -Native.errno(errno);
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /**
     * {@code ssize_t read(int fd, void *buf, size_t count);}: bytes read, 0 at EOF, or {@code -errno}.
     * An ordinary downcall, so also for blocking descriptors: the JVM can reach a safepoint while it waits.
     */
    public static long read(int fd, MemorySegment buffer, long count) {
        MemorySegment errno = Native.capture();
        try {
            long rc = (long) Read.HANDLE.invokeExact(errno, fd, buffer, count);
            return rc >= 0 ? rc : -Native.errno(errno);
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /**
     * {@code ssize_t write(int fd, const void *buf, size_t count);}: bytes written, or {@code -errno}.
     * An ordinary downcall, like {@link #read}.
     */
    public static long write(int fd, MemorySegment buffer, long count) {
        MemorySegment errno = Native.capture();
        try {
            long rc = (long) Write.HANDLE.invokeExact(errno, fd, buffer, count);
            return rc >= 0 ? rc : -Native.errno(errno);
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /**
     * {@code ssize_t recv(int fd, void *buf, size_t len, int flags);}: bytes, 0 at EOF, or {@code -errno}.
     * Never blocks when called with {@link #MSG_DONTWAIT}.
     */
    public static long recv(int fd, MemorySegment buffer, long count, int flags) {
        MemorySegment errno = Native.capture();
        try {
            long rc = (long) Recv.HANDLE.invokeExact(errno, fd, buffer, count, flags);
            return rc >= 0 ? rc : -Native.errno(errno);
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /** {@code int close(int fd);}: 0 or {@code -errno}. The fd is released even when it reports an error. */
    public static int close(int fd) {
        MemorySegment errno = Native.capture();
        try {
            int rc = (int) Close.HANDLE.invokeExact(errno, fd);
            return rc >= 0 ? rc : -Native.errno(errno);
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /** {@code int shutdown(int fd, int how);}: 0 or {@code -errno}. */
    public static int shutdown(int fd, int how) {
        MemorySegment errno = Native.capture();
        try {
            int rc = (int) Shutdown.HANDLE.invokeExact(errno, fd, how);
            return rc >= 0 ? rc : -Native.errno(errno);
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /**
     * The soft limit on open files ({@code RLIMIT_NOFILE}, through {@code prlimit64(0, RLIMIT_NOFILE, NULL,
     * &old)}): every fd this process opens is below it. The JVM raises it to the hard limit at start.
     */
    public static long openFilesLimit() throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment limit = arena.allocate(JAVA_LONG, 2); // struct rlimit64 { __u64 rlim_cur, rlim_max; }
            long rc = Syscall.call(Syscall.SYS_prlimit64, 0, RLIMIT_NOFILE, 0, limit.address());
            if (rc < 0) {
                throw Native.exception("prlimit64(RLIMIT_NOFILE)", (int) -rc);
            }
            return limit.get(JAVA_LONG, 0);
        }
    }

    /**
     * Lowers (or raises, up to its hard limit) the soft open-files limit of process {@code pid}, as
     * {@code prlimit --pid PID --nofile=SOFT:} does ({@code prlimit64(pid, RLIMIT_NOFILE, &new, &old)}); for
     * tests that run a server out of descriptors. Returns the soft limit it had.
     */
    public static long setOpenFilesLimit(long pid, long soft) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment old = arena.allocate(JAVA_LONG, 2);
            long rc = Syscall.call(Syscall.SYS_prlimit64, pid, RLIMIT_NOFILE, 0, old.address());
            if (rc < 0) {
                throw Native.exception("prlimit64(" + pid + ", RLIMIT_NOFILE)", (int) -rc);
            }
            MemorySegment wanted = arena.allocate(JAVA_LONG, 2);
            wanted.set(JAVA_LONG, 0, soft);
            wanted.set(JAVA_LONG, 8, old.get(JAVA_LONG, 8)); // the hard limit stays
            rc = Syscall.call(Syscall.SYS_prlimit64, pid, RLIMIT_NOFILE, wanted.address(), 0);
            if (rc < 0) {
                throw Native.exception("prlimit64(" + pid + ", RLIMIT_NOFILE, " + soft + ")", (int) -rc);
            }
            return old.get(JAVA_LONG, 0);
        }
    }

    /** {@code int eventfd(unsigned int initval, int flags);}: a counter fd that can wake an epoll loop. */
    public static int eventfd(int initial, int flags) throws IOException {
        MemorySegment errno = Native.capture();
        try {
            int fd = (int) Eventfd.HANDLE.invokeExact(errno, initial, flags);
            if (fd < 0) {
                throw Native.exception("eventfd", Native.errno(errno));
            }
            return fd;
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /** A listening TCP socket: socket, SO_REUSEADDR, bind, listen; non-blocking if asked. */
    public static int listener(InetSocketAddress address, int backlog, boolean nonBlocking, boolean reusePort)
            throws IOException {
        int fd = socket(family(address.getAddress()), SOCK_STREAM | SOCK_CLOEXEC | (nonBlocking ? SOCK_NONBLOCK : 0), 0);
        try {
            // SO_REUSEADDR lets a restarted server bind while its old connections sit in TIME_WAIT.
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, 1);
            if (reusePort) {
                setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, 1);
            }
            bind(fd, address);
            listen(fd, backlog);
            return fd;
        } catch (IOException e) {
            close(fd);
            throw e;
        }
    }

    /**
     * {@code sighandler_t signal(int signum, sighandler_t handler);} with {@link #SIG_DFL} or {@link #SIG_IGN}:
     * sets the disposition of a signal the JVM does not handle itself. The JVM's own {@code Signal.handle}
     * leaves a shutdown signal alone when the process started with it ignored, so this is the only way
     * to take such a signal back.
     */
    public static void signal(int signum, long disposition) throws IOException {
        MemorySegment errno = Native.capture();
        try {
            MemorySegment previous = (MemorySegment) Signal.HANDLE.invokeExact(errno, signum,
                    MemorySegment.ofAddress(disposition));
            if (previous.address() == -1L) { // SIG_ERR
                throw Native.exception("signal", Native.errno(errno));
            }
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    static MemorySegment sockaddr(Arena arena, InetSocketAddress address) {
        InetAddress host = address.getAddress();
        if (host instanceof Inet4Address) {
            MemorySegment sockaddr = arena.allocate(SOCKADDR_IN);
            sockaddr.set(ValueLayout.JAVA_SHORT, 0, (short) AF_INET);
            sockaddr.set(ValueLayout.JAVA_SHORT.withOrder(ByteOrder.BIG_ENDIAN), 2, (short) address.getPort());
            MemorySegment.copy(host.getAddress(), 0, sockaddr, ValueLayout.JAVA_BYTE, 4, 4);
            return sockaddr;
        }
        MemorySegment sockaddr = arena.allocate(SOCKADDR_IN6);
        sockaddr.set(ValueLayout.JAVA_SHORT, 0, (short) AF_INET6);
        sockaddr.set(ValueLayout.JAVA_SHORT.withOrder(ByteOrder.BIG_ENDIAN), 2, (short) address.getPort());
        MemorySegment.copy(host.getAddress(), 0, sockaddr, ValueLayout.JAVA_BYTE, 8, 16);
        sockaddr.set(ValueLayout.JAVA_INT, 24, ((Inet6Address) host).getScopeId());
        return sockaddr;
    }

    static InetSocketAddress address(MemorySegment sockaddr) throws UnknownHostException {
        int family = sockaddr.get(ValueLayout.JAVA_SHORT, 0);
        int port = Short.toUnsignedInt(sockaddr.get(ValueLayout.JAVA_SHORT.withOrder(ByteOrder.BIG_ENDIAN), 2));
        byte[] bytes = family == AF_INET
                ? sockaddr.asSlice(4, 4).toArray(ValueLayout.JAVA_BYTE)
                : sockaddr.asSlice(8, 16).toArray(ValueLayout.JAVA_BYTE);
        return new InetSocketAddress(InetAddress.getByAddress(bytes), port);
    }

    // One holder per function: linked on first use only.
    private static final class Socket {
        static final MethodHandle HANDLE = Native.errnoCall("socket",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT), false);
    }

    private static final class Setsockopt {
        static final MethodHandle HANDLE = Native.errnoCall("setsockopt",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT), false);
    }

    private static final class Getsockopt {
        static final MethodHandle HANDLE = Native.errnoCall("getsockopt",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS), false);
    }

    private static final class Bind {
        static final MethodHandle HANDLE = Native.errnoCall("bind",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT), false);
    }

    private static final class Listen {
        static final MethodHandle HANDLE = Native.errnoCall("listen",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT), false);
    }

    private static final class Getsockname {
        static final MethodHandle HANDLE = Native.errnoCall("getsockname",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS), false);
    }

    private static final class Accept4 {
        static final MethodHandle HANDLE = Native.errnoCall("accept4",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT), false);
    }

    private static final class Read {
        static final MethodHandle HANDLE = Native.errnoCall("read",
                FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG), false);
    }

    private static final class Write {
        static final MethodHandle HANDLE = Native.errnoCall("write",
                FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG), false);
    }



    private static final class Recv {
        static final MethodHandle HANDLE = Native.errnoCall("recv",
                FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT), false);
    }

    private static final class Close {
        static final MethodHandle HANDLE = Native.errnoCall("close",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT), false);
    }

    private static final class Shutdown {
        static final MethodHandle HANDLE = Native.errnoCall("shutdown",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT), false);
    }

    private static final class Signal {
        static final MethodHandle HANDLE = Native.errnoCall("signal",
                FunctionDescriptor.of(ADDRESS, JAVA_INT, ADDRESS), false);
    }

    private static final class Eventfd {
        static final MethodHandle HANDLE = Native.errnoCall("eventfd",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT), false);
    }
}
