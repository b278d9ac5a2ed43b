package io.echoladder.common.linux;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * io_uring(7) through {@code java.lang.foreign}, with no liburing: the three system calls, the structs
 * they share with user space, and the constants by their C names ({@code <linux/io_uring.h>}).
 *
 * <p>The calls go through {@link Syscall} (glibc has no wrappers for them). {@link #io_uring_setup} fills
 * {@code struct io_uring_params}, whose {@code sq_off} and {@code cq_off} say where, inside the memory
 * {@code mmap(2)} maps from the ring's fd, the kernel keeps each head, tail, mask and array:
 *
 * <pre>{@code
 * struct io_uring_params {            // 120 bytes
 *     __u32 sq_entries;   __u32 cq_entries;   __u32 flags;   __u32 sq_thread_cpu;
 *     __u32 sq_thread_idle;  __u32 features;  __u32 wq_fd;   __u32 resv[3];
 *     struct io_sqring_offsets sq_off;    // at 40
 *     struct io_cqring_offsets cq_off;    // at 80
 * };
 * struct io_sqring_offsets {          // 40 bytes
 *     __u32 head; __u32 tail; __u32 ring_mask; __u32 ring_entries;
 *     __u32 flags; __u32 dropped; __u32 array; __u32 resv1; __u64 user_addr;
 * };
 * struct io_cqring_offsets {          // 40 bytes
 *     __u32 head; __u32 tail; __u32 ring_mask; __u32 ring_entries;
 *     __u32 overflow; __u32 cqes; __u32 flags; __u32 resv1; __u64 user_addr;
 * };
 * struct io_uring_sqe {               // 64 bytes: one request
 *     __u8 opcode; __u8 flags; __u16 ioprio; __s32 fd;
 *     union { __u64 off; __u64 addr2; };
 *     union { __u64 addr; __u64 splice_off_in; };
 *     __u32 len;
 *     union { __kernel_rwf_t rw_flags; __u32 msg_flags; __u32 timeout_flags; __u32 accept_flags; ... };
 *     __u64 user_data;                 // comes back, untouched, in the completion
 *     union { __u16 buf_index; __u16 buf_group; } __attribute__((packed));
 *     __u16 personality;
 *     union { __s32 splice_fd_in; __u32 file_index; ... };
 *     union { struct { __u64 addr3; __u64 __pad2[1]; }; ... };
 * };
 * struct io_uring_cqe {               // 16 bytes: one result
 *     __u64 user_data; __s32 res; __u32 flags;
 * };
 * struct io_uring_buf {               // 16 bytes: one provided buffer
 *     __u64 addr; __u32 len; __u16 bid; __u16 resv;   // resv of bufs[0] doubles as the ring's tail
 * };
 * struct io_uring_buf_reg {           // 40 bytes: IORING_REGISTER_PBUF_RING's argument
 *     __u64 ring_addr; __u32 ring_entries; __u16 bgid; __u16 flags; __u64 resv[3];
 * };
 * struct io_uring_files_update {      // 16 bytes: IORING_REGISTER_FILES_UPDATE's argument
 *     __u32 offset; __u32 resv; __aligned_u64 fds;   // fds: a __s32 array, one per slot from offset
 * };
 * }</pre>
 *
 * The layouts below are these structs; their sizes are checked when the class loads. The structs are the
 * same on every 64-bit architecture, and so are the three syscall numbers (425, 426, 427).
 */
public final class IoUring {

    private IoUring() {
    }

    // enum io_uring_op: what a submission queue entry asks for.
    public static final byte IORING_OP_NOP = 0;
    public static final byte IORING_OP_TIMEOUT = 11;
    public static final byte IORING_OP_ACCEPT = 13;
    public static final byte IORING_OP_ASYNC_CANCEL = 14;
    public static final byte IORING_OP_READ = 22;
    public static final byte IORING_OP_SEND = 26;
    public static final byte IORING_OP_RECV = 27;
    public static final byte IORING_OP_SHUTDOWN = 34;

    // sqe->flags
    public static final byte IOSQE_FIXED_FILE = 1 << 0;
    public static final byte IOSQE_IO_LINK = 1 << 2;
    public static final byte IOSQE_BUFFER_SELECT = 1 << 5;
    public static final byte IOSQE_CQE_SKIP_SUCCESS = 1 << 6;

    // io_uring_setup(2) flags
    public static final int IORING_SETUP_CQSIZE = 1 << 3;
    public static final int IORING_SETUP_CLAMP = 1 << 4;
    public static final int IORING_SETUP_R_DISABLED = 1 << 6;
    public static final int IORING_SETUP_SUBMIT_ALL = 1 << 7;
    public static final int IORING_SETUP_COOP_TASKRUN = 1 << 8;
    public static final int IORING_SETUP_SINGLE_ISSUER = 1 << 12;
    public static final int IORING_SETUP_DEFER_TASKRUN = 1 << 13;

    // io_uring_params->features
    public static final int IORING_FEAT_SINGLE_MMAP = 1 << 0;
    public static final int IORING_FEAT_NODROP = 1 << 1;
    public static final int IORING_FEAT_FAST_POLL = 1 << 5;

    // io_uring_enter(2) flags
    public static final int IORING_ENTER_GETEVENTS = 1 << 0;

    // io_uring_register(2) opcodes
    public static final int IORING_REGISTER_FILES = 2;
    public static final int IORING_REGISTER_FILES_UPDATE = 6;
    public static final int IORING_REGISTER_ENABLE_RINGS = 12;
    public static final int IORING_REGISTER_PBUF_RING = 22;
    public static final int IORING_UNREGISTER_PBUF_RING = 23;

    // mmap(2) offsets that select which part of the ring to map
    public static final long IORING_OFF_SQ_RING = 0L;
    public static final long IORING_OFF_CQ_RING = 0x8000000L;
    public static final long IORING_OFF_SQES = 0x10000000L;

    // sqe->ioprio for IORING_OP_ACCEPT and IORING_OP_RECV / IORING_OP_SEND
    public static final short IORING_ACCEPT_MULTISHOT = 1 << 0;
    public static final short IORING_RECVSEND_POLL_FIRST = 1 << 0;
    public static final short IORING_RECV_MULTISHOT = 1 << 1;

    // cqe->flags
    public static final int IORING_CQE_F_BUFFER = 1 << 0;
    public static final int IORING_CQE_F_MORE = 1 << 1;
    public static final int IORING_CQE_F_SOCK_NONEMPTY = 1 << 2;
    public static final int IORING_CQE_BUFFER_SHIFT = 16;

    // errno values that come back in cqe->res (negated) and mean something to a loop
    public static final int ENOBUFS = 105;
    public static final int ETIME = 62;
    public static final int ECANCELED = 125;
    public static final int EALREADY = 114;
    public static final int ENOSYS = 38;

    // <sys/mman.h>
    private static final int PROT_READ = 0x1;
    private static final int PROT_WRITE = 0x2;
    private static final int MAP_SHARED = 0x01;
    private static final int MAP_POPULATE = 0x8000;

    private static final int MSG_NOSIGNAL = 0x4000;

    /** {@code struct io_sqring_offsets}. */
    public static final StructLayout IO_SQRING_OFFSETS = MemoryLayout.structLayout(
            JAVA_INT.withName("head"), JAVA_INT.withName("tail"), JAVA_INT.withName("ring_mask"),
            JAVA_INT.withName("ring_entries"), JAVA_INT.withName("flags"), JAVA_INT.withName("dropped"),
            JAVA_INT.withName("array"), JAVA_INT.withName("resv1"), JAVA_LONG.withName("user_addr"));

    /** {@code struct io_cqring_offsets}. */
    public static final StructLayout IO_CQRING_OFFSETS = MemoryLayout.structLayout(
            JAVA_INT.withName("head"), JAVA_INT.withName("tail"), JAVA_INT.withName("ring_mask"),
            JAVA_INT.withName("ring_entries"), JAVA_INT.withName("overflow"), JAVA_INT.withName("cqes"),
            JAVA_INT.withName("flags"), JAVA_INT.withName("resv1"), JAVA_LONG.withName("user_addr"));

    /** {@code struct io_uring_params}. */
    public static final StructLayout IO_URING_PARAMS = MemoryLayout.structLayout(
            JAVA_INT.withName("sq_entries"), JAVA_INT.withName("cq_entries"), JAVA_INT.withName("flags"),
            JAVA_INT.withName("sq_thread_cpu"), JAVA_INT.withName("sq_thread_idle"), JAVA_INT.withName("features"),
            JAVA_INT.withName("wq_fd"), MemoryLayout.sequenceLayout(3, JAVA_INT).withName("resv"),
            IO_SQRING_OFFSETS.withName("sq_off"), IO_CQRING_OFFSETS.withName("cq_off"));

    /** {@code struct io_uring_sqe}, with the union members this project uses. */
    public static final StructLayout IO_URING_SQE = MemoryLayout.structLayout(
            JAVA_BYTE.withName("opcode"), JAVA_BYTE.withName("flags"), JAVA_SHORT.withName("ioprio"),
            JAVA_INT.withName("fd"), JAVA_LONG.withName("off"), JAVA_LONG.withName("addr"),
            JAVA_INT.withName("len"), JAVA_INT.withName("op_flags"), JAVA_LONG.withName("user_data"),
            JAVA_SHORT.withName("buf_group"), JAVA_SHORT.withName("personality"), JAVA_INT.withName("file_index"),
            JAVA_LONG.withName("addr3"), JAVA_LONG.withName("pad2"));

    /** {@code struct io_uring_cqe}. */
    public static final StructLayout IO_URING_CQE = MemoryLayout.structLayout(
            JAVA_LONG.withName("user_data"), JAVA_INT.withName("res"), JAVA_INT.withName("flags"));

    /** {@code struct io_uring_buf}. */
    public static final StructLayout IO_URING_BUF = MemoryLayout.structLayout(
            JAVA_LONG.withName("addr"), JAVA_INT.withName("len"), JAVA_SHORT.withName("bid"),
            JAVA_SHORT.withName("resv"));

    /** {@code struct io_uring_buf_reg}. */
    public static final StructLayout IO_URING_BUF_REG = MemoryLayout.structLayout(
            JAVA_LONG.withName("ring_addr"), JAVA_INT.withName("ring_entries"), JAVA_SHORT.withName("bgid"),
            JAVA_SHORT.withName("flags"), MemoryLayout.sequenceLayout(3, JAVA_LONG).withName("resv"));

    /** {@code struct io_uring_files_update}. */
    public static final StructLayout IO_URING_FILES_UPDATE = MemoryLayout.structLayout(
            JAVA_INT.withName("offset"), JAVA_INT.withName("resv"), JAVA_LONG.withName("fds"));

    /** {@code struct __kernel_timespec { __s64 tv_sec; long long tv_nsec; }}: IORING_OP_TIMEOUT's argument. */
    public static final StructLayout KERNEL_TIMESPEC = MemoryLayout.structLayout(
            JAVA_LONG.withName("tv_sec"), JAVA_LONG.withName("tv_nsec"));

    public static final long SQE_SIZE = IO_URING_SQE.byteSize();
    public static final long CQE_SIZE = IO_URING_CQE.byteSize();

    static {
        String wrong = check(IO_URING_SQE, 64) + check(IO_URING_CQE, 16) + check(IO_URING_PARAMS, 120)
                + check(IO_SQRING_OFFSETS, 40) + check(IO_CQRING_OFFSETS, 40) + check(IO_URING_BUF, 16)
                + check(IO_URING_BUF_REG, 40) + check(IO_URING_FILES_UPDATE, 16) + check(KERNEL_TIMESPEC, 16);
        if (!wrong.isEmpty() || offset(IO_URING_SQE, "user_data") != 32 || offset(IO_URING_SQE, "buf_group") != 40
                || offset(IO_URING_PARAMS, "sq_off") != 40 || offset(IO_URING_PARAMS, "cq_off") != 80) {
            throw new ExceptionInInitializerError("io_uring layouts do not match <linux/io_uring.h>:" + wrong);
        }
    }

    private static String check(StructLayout layout, long size) {
        return layout.byteSize() == size ? "" : " " + layout + " is " + layout.byteSize() + " bytes, not " + size;
    }

    /** Byte offset of a named field of a struct. */
    public static long offset(StructLayout layout, String... path) {
        return layout.byteOffset(java.util.Arrays.stream(path).map(MemoryLayout.PathElement::groupElement)
                .toArray(MemoryLayout.PathElement[]::new));
    }

    // Offsets into one SQE, named as in C: the hot path writes fields by these.
    public static final long SQE_OPCODE = offset(IO_URING_SQE, "opcode");
    public static final long SQE_FLAGS = offset(IO_URING_SQE, "flags");
    public static final long SQE_IOPRIO = offset(IO_URING_SQE, "ioprio");
    public static final long SQE_FD = offset(IO_URING_SQE, "fd");
    public static final long SQE_OFF = offset(IO_URING_SQE, "off");
    public static final long SQE_ADDR = offset(IO_URING_SQE, "addr");
    public static final long SQE_LEN = offset(IO_URING_SQE, "len");
    public static final long SQE_OP_FLAGS = offset(IO_URING_SQE, "op_flags");
    public static final long SQE_USER_DATA = offset(IO_URING_SQE, "user_data");
    public static final long SQE_BUF_GROUP = offset(IO_URING_SQE, "buf_group");
    public static final long CQE_USER_DATA = offset(IO_URING_CQE, "user_data");
    public static final long CQE_RES = offset(IO_URING_CQE, "res");
    public static final long CQE_FLAGS = offset(IO_URING_CQE, "flags");

    /** {@code MSG_NOSIGNAL} for IORING_OP_SEND: a peer that is gone is an error result, not SIGPIPE. */
    public static int sendFlags() {
        return MSG_NOSIGNAL;
    }

    /**
     * {@code int io_uring_setup(u32 entries, struct io_uring_params *p);}: a new ring's fd; the kernel
     * fills {@code params} (one {@link #IO_URING_PARAMS}, with {@code flags} and {@code cq_entries} set by
     * the caller) with the sizes and offsets it chose.
     *
     * @throws Native.NativeException naming io_uring_setup: ENOSYS (kernel without it), EPERM (disabled
     *     by {@code kernel.io_uring_disabled} or a seccomp filter), ENOMEM (locked-memory limit), EINVAL
     *     (a flag this kernel does not know)
     */
    public static int io_uring_setup(int entries, MemorySegment params) throws IOException {
        long fd = Syscall.call(Syscall.SYS_io_uring_setup, entries, params.address(), 0);
        if (fd < 0) {
            throw Native.exception("io_uring_setup", (int) -fd);
        }
        return (int) fd;
    }

    /**
     * {@code int io_uring_enter(unsigned fd, unsigned to_submit, unsigned min_complete, unsigned flags,
     * sigset_t *sig, size_t sz);}: hands the kernel {@code toSubmit} new entries from the submission
     * queue and, with {@link #IORING_ENTER_GETEVENTS}, sleeps until {@code minComplete} completions are
     * in the completion queue. Returns how many entries the kernel consumed, or {@code -errno}.
     */
    public static int io_uring_enter(int fd, int toSubmit, int minComplete, int flags) {
        return (int) Syscall.call(Syscall.SYS_io_uring_enter, fd, toSubmit, minComplete, flags, 0, 0);
    }

    /** {@code int io_uring_register(unsigned fd, unsigned opcode, void *arg, unsigned nr_args);}: 0 or -errno. */
    public static int io_uring_register(int fd, int opcode, MemorySegment arg, int nrArgs) {
        return (int) Syscall.call(Syscall.SYS_io_uring_register, fd, opcode, arg.address(), nrArgs);
    }

    /**
     * {@code mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, offset)}: one part
     * of a ring (selected by {@link #IORING_OFF_SQ_RING} and friends), shared with the kernel, as a segment
     * that {@link #munmap} releases.
     */
    public static MemorySegment mmap(int fd, long length, long offset) throws IOException {
        long address = Syscall.call(Syscall.SYS_mmap, 0, length, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
                fd, offset);
        if (address < 0 && address > -4096) {
            throw Native.exception("mmap", (int) -address);
        }
        return MemorySegment.ofAddress(address).reinterpret(length);
    }

    /** {@code int munmap(void *addr, size_t length);} */
    public static void munmap(MemorySegment mapping) {
        Syscall.call(Syscall.SYS_munmap, mapping.address(), mapping.byteSize(), 0);
    }

    /**
     * Why this machine refuses io_uring, or empty if it does not: sets up a one-entry ring and closes it.
     * The reason names the errno and, for EPERM, the sysctl that usually causes it.
     */
    public static Optional<String> refusal() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment params = arena.allocate(IO_URING_PARAMS);
            int fd = io_uring_setup(1, params);
            Posix.close(fd);
            return Optional.empty();
        } catch (Native.NativeException e) {
            String reason = "io_uring_setup: " + Native.strerror(e.errno());
            if (e.errno() == Native.EPERM) {
                reason += disabledSysctl().map(v -> " (kernel.io_uring_disabled = " + v + ")").orElse(
                        " (a seccomp filter or container policy forbids it)");
            } else if (e.errno() == ENOSYS) {
                reason += " (this kernel was built without io_uring)";
            }
            return Optional.of(reason);
        } catch (IOException e) {
            return Optional.of(e.getMessage());
        }
    }

    /** {@code /proc/sys/kernel/io_uring_disabled}, when it is set to anything but 0. */
    public static Optional<String> disabledSysctl() {
        try {
            String value = Files.readString(Path.of("/proc/sys/kernel/io_uring_disabled")).strip();
            return value.equals("0") ? Optional.empty() : Optional.of(value);
        } catch (IOException | RuntimeException e) {
            return Optional.empty(); // a kernel older than 6.6 has no such switch
        }
    }
}
