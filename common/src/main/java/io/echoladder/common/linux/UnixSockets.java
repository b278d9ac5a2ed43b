package io.echoladder.common.linux;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

/**
 * Unix domain sockets and descriptor passing: how a parent process hands an open socket to a child.
 * The child connects to an abstract-namespace address the parent listens on (no file on disk); the
 * parent sends the descriptor as {@code SCM_RIGHTS} ancillary data with {@code sendmsg}; the child's
 * {@code recvmsg} gets a new descriptor for the same open socket.
 *
 * <pre>{@code
 * struct sockaddr_un { sa_family_t sun_family; char sun_path[108]; };
 * struct iovec { void *iov_base; size_t iov_len; };
 * struct msghdr { void *msg_name; socklen_t msg_namelen; struct iovec *msg_iov; size_t msg_iovlen;
 *                 void *msg_control; size_t msg_controllen; int msg_flags; };
 * struct cmsghdr { size_t cmsg_len; int cmsg_level; int cmsg_type; unsigned char cmsg_data[]; };
 * }</pre>
 */
public final class UnixSockets {

    private UnixSockets() {
    }

    public static final int AF_UNIX = 1;
    public static final int SCM_RIGHTS = 1;
    /** recvmsg flag: the received descriptors are close-on-exec, atomically (a child started meanwhile gets none). */
    public static final int MSG_CMSG_CLOEXEC = 0x40000000;
    /** Set in msg_flags when the ancillary data did not fit, e.g. no descriptor was left to install it in. */
    public static final int MSG_CTRUNC = 0x8;

    /** {@link #receiveFd}: the other side closed. */
    public static final int EOF = -1;
    /**
     * {@link #receiveFd}: a message came but its descriptor did not (MSG_CTRUNC): at the open-files limit the
     * kernel drops it, and with it the reference it carried.
     */
    public static final int TRUNCATED = -2;

    static final StructLayout SOCKADDR_UN = MemoryLayout.structLayout(
            ValueLayout.JAVA_SHORT.withName("sun_family"),
            MemoryLayout.sequenceLayout(108, ValueLayout.JAVA_BYTE).withName("sun_path"));

    static final StructLayout IOVEC = MemoryLayout.structLayout(
            ADDRESS.withName("iov_base"), JAVA_LONG.withName("iov_len"));

    static final StructLayout MSGHDR = MemoryLayout.structLayout(
            ADDRESS.withName("msg_name"),
            JAVA_INT.withName("msg_namelen"),
            MemoryLayout.paddingLayout(4),
            ADDRESS.withName("msg_iov"),
            JAVA_LONG.withName("msg_iovlen"),
            ADDRESS.withName("msg_control"),
            JAVA_LONG.withName("msg_controllen"),
            JAVA_INT.withName("msg_flags"),
            MemoryLayout.paddingLayout(4));

    private static final long MSG_FLAGS = MSGHDR.byteOffset(MemoryLayout.PathElement.groupElement("msg_flags"));

    /** CMSG_SPACE(sizeof(int)): a 16-byte header, 4 bytes of fd, padded to 8. */
    static final long CMSG_SPACE_INT = 24;
    /** CMSG_LEN(sizeof(int)). */
    static final long CMSG_LEN_INT = 20;

    static {
        if (SOCKADDR_UN.byteSize() != 110 || MSGHDR.byteSize() != 56 || IOVEC.byteSize() != 16) {
            throw new ExceptionInInitializerError("sockaddr_un/msghdr/iovec layouts do not match 64-bit Linux");
        }
    }

    /** A listening Unix socket at abstract name {@code name} (blocking). */
    public static int listen(String name) throws IOException {
        int fd = Posix.socket(AF_UNIX, Posix.SOCK_STREAM | Posix.SOCK_CLOEXEC, 0);
        try (Arena arena = Arena.ofConfined()) {
            Posix.bind(fd, abstractAddress(arena, name));
            Posix.listen(fd, 16);
            return fd;
        } catch (IOException | RuntimeException e) {
            Posix.close(fd);
            throw e;
        }
    }

    /**
     * Connects to the Unix socket at abstract name {@code name}. Through {@link Syscall}, like everything
     * a worker does before its first echo, so that a worker links a single downcall.
     */
    public static int connect(String name) throws IOException {
        int fd = (int) Syscall.call(Syscall.SYS_socket, AF_UNIX, Posix.SOCK_STREAM | Posix.SOCK_CLOEXEC, 0);
        if (fd < 0) {
            throw Native.exception("socket", -fd);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment address = abstractAddress(arena, name);
            long rc = Syscall.call(Syscall.SYS_connect, fd, address.address(), address.byteSize());
            if (rc < 0) {
                Syscall.call(Syscall.SYS_close, fd, 0, 0);
                throw Native.exception("connect", (int) -rc);
            }
            return fd;
        }
    }

    /** {@code sendmsg} one byte {@code tag} with {@code fdToSend} attached as SCM_RIGHTS. */
    public static void sendFd(int socket, int fdToSend, byte tag) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment msg = message(arena, tag);
            MemorySegment control = arena.allocate(CMSG_SPACE_INT, 8);
            control.set(JAVA_LONG, 0, CMSG_LEN_INT);
            control.set(JAVA_INT, 8, Posix.SOL_SOCKET);
            control.set(JAVA_INT, 12, SCM_RIGHTS);
            control.set(JAVA_INT, 16, fdToSend);
            msg.set(ADDRESS, MSGHDR.byteOffset(MemoryLayout.PathElement.groupElement("msg_control")), control);
            msg.set(JAVA_LONG, MSGHDR.byteOffset(MemoryLayout.PathElement.groupElement("msg_controllen")), CMSG_SPACE_INT);
            long rc = Syscall.call(Syscall.SYS_sendmsg, socket, msg.address(), 0);
            if (rc < 0) {
                throw Native.exception("sendmsg", (int) -rc);
            }
        }
    }

    /**
     * {@code recvmsg} one byte and the descriptor attached to it.
     *
     * @return the received fd; {@link #EOF} when the other side closed; {@link #TRUNCATED} when the byte came
     *         without its descriptor (MSG_CTRUNC in msg_flags: this process had no descriptor left to install
     *         it in, so the kernel dropped it)
     */
    public static int receiveFd(int socket) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment msg = message(arena, (byte) 0);
            MemorySegment control = arena.allocate(CMSG_SPACE_INT, 8);
            msg.set(ADDRESS, MSGHDR.byteOffset(MemoryLayout.PathElement.groupElement("msg_control")), control);
            msg.set(JAVA_LONG, MSGHDR.byteOffset(MemoryLayout.PathElement.groupElement("msg_controllen")), CMSG_SPACE_INT);
            long rc = Syscall.call(Syscall.SYS_recvmsg, socket, msg.address(), MSG_CMSG_CLOEXEC);
            if (rc < 0) {
                throw Native.exception("recvmsg", (int) -rc);
            }
            if (rc == 0) {
                return EOF;
            }
            if ((msg.get(JAVA_INT, MSG_FLAGS) & MSG_CTRUNC) != 0) {
                return TRUNCATED;
            }
            if (control.get(JAVA_INT, 8) != Posix.SOL_SOCKET || control.get(JAVA_INT, 12) != SCM_RIGHTS) {
                throw new IOException("recvmsg: no SCM_RIGHTS descriptor in the message");
            }
            return control.get(JAVA_INT, 16);
        }
    }

    /** Writes one byte (blocking). */
    public static void writeByte(int socket, byte value) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            long rc = Syscall.call(Syscall.SYS_write, socket, arena.allocateFrom(ValueLayout.JAVA_BYTE, value).address(), 1);
            if (rc < 0) {
                throw Native.exception("write", (int) -rc);
            }
        }
    }

    /** Reads one byte (blocking): the byte, -1 at EOF, or {@code -2} for an error. */
    public static int readByte(int socket, MemorySegment oneByte) {
        long rc = Syscall.call(Syscall.SYS_read, socket, oneByte.address(), 1);
        return rc == 1 ? oneByte.get(ValueLayout.JAVA_BYTE, 0) & 0xff : rc == 0 ? -1 : -2;
    }

    private static MemorySegment message(Arena arena, byte tag) {
        MemorySegment data = arena.allocateFrom(ValueLayout.JAVA_BYTE, tag);
        MemorySegment iov = arena.allocate(IOVEC);
        iov.set(ADDRESS, 0, data);
        iov.set(JAVA_LONG, 8, 1);
        MemorySegment msg = arena.allocate(MSGHDR);
        msg.set(ADDRESS, MSGHDR.byteOffset(MemoryLayout.PathElement.groupElement("msg_iov")), iov);
        msg.set(JAVA_LONG, MSGHDR.byteOffset(MemoryLayout.PathElement.groupElement("msg_iovlen")), 1);
        return msg;
    }

    private static MemorySegment abstractAddress(Arena arena, String name) {
        byte[] bytes = name.getBytes(StandardCharsets.UTF_8);
        if (bytes.length > 106) {
            throw new IllegalArgumentException("abstract socket name too long: " + name);
        }
        MemorySegment address = arena.allocate(2 + 1 + bytes.length);
        address.set(ValueLayout.JAVA_SHORT, 0, (short) AF_UNIX);
        address.set(ValueLayout.JAVA_BYTE, 2, (byte) 0); // a leading NUL: the abstract namespace
        MemorySegment.copy(bytes, 0, address, ValueLayout.JAVA_BYTE, 3, bytes.length);
        return address;
    }
}
