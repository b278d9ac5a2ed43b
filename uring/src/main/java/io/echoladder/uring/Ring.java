package io.echoladder.uring;

import static io.echoladder.common.linux.IoUring.CQE_FLAGS;
import static io.echoladder.common.linux.IoUring.CQE_RES;
import static io.echoladder.common.linux.IoUring.CQE_SIZE;
import static io.echoladder.common.linux.IoUring.CQE_USER_DATA;
import static io.echoladder.common.linux.IoUring.IORING_ENTER_GETEVENTS;
import static io.echoladder.common.linux.IoUring.IORING_FEAT_SINGLE_MMAP;
import static io.echoladder.common.linux.IoUring.IORING_OFF_CQ_RING;
import static io.echoladder.common.linux.IoUring.IORING_OFF_SQES;
import static io.echoladder.common.linux.IoUring.IORING_OFF_SQ_RING;
import static io.echoladder.common.linux.IoUring.IORING_REGISTER_ENABLE_RINGS;
import static io.echoladder.common.linux.IoUring.IORING_REGISTER_FILES;
import static io.echoladder.common.linux.IoUring.IORING_REGISTER_FILES_UPDATE;
import static io.echoladder.common.linux.IoUring.IORING_SETUP_CQSIZE;
import static io.echoladder.common.linux.IoUring.IORING_SETUP_COOP_TASKRUN;
import static io.echoladder.common.linux.IoUring.IORING_SETUP_R_DISABLED;
import static io.echoladder.common.linux.IoUring.IORING_SETUP_SINGLE_ISSUER;
import static io.echoladder.common.linux.IoUring.IORING_SETUP_SUBMIT_ALL;
import static io.echoladder.common.linux.IoUring.IO_URING_FILES_UPDATE;
import static io.echoladder.common.linux.IoUring.IO_URING_PARAMS;
import static io.echoladder.common.linux.IoUring.SQE_ADDR;
import static io.echoladder.common.linux.IoUring.SQE_BUF_GROUP;
import static io.echoladder.common.linux.IoUring.SQE_FD;
import static io.echoladder.common.linux.IoUring.SQE_FLAGS;
import static io.echoladder.common.linux.IoUring.SQE_IOPRIO;
import static io.echoladder.common.linux.IoUring.SQE_LEN;
import static io.echoladder.common.linux.IoUring.SQE_OFF;
import static io.echoladder.common.linux.IoUring.SQE_OPCODE;
import static io.echoladder.common.linux.IoUring.SQE_OP_FLAGS;
import static io.echoladder.common.linux.IoUring.SQE_SIZE;
import static io.echoladder.common.linux.IoUring.SQE_USER_DATA;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import io.echoladder.common.linux.IoUring;
import io.echoladder.common.linux.Native;
import io.echoladder.common.linux.Posix;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/**
 * One io_uring instance: the submission queue (SQ) and completion queue (CQ) mapped from the kernel,
 * and the array of submission queue entries (SQEs) they index.
 *
 * <pre>
 *            user space writes                         kernel writes
 *   SQ ring  [ head | tail | mask | array[] ]  CQ ring  [ head | tail | mask | cqes[] ]
 *              ^kernel ^us                                ^us    ^kernel
 *   SQEs     [ sqe 0 | sqe 1 | ... ]  (64 bytes each; array[i] names which one is next)
 *
 *   us:     fill sqes[tail &amp; mask], then publish tail+1 (release)  -- io_uring_enter -->  kernel
 *   kernel: fill cqes[tail &amp; mask], then publish tail+1 (release)  -- we read it (acquire), then
 *           publish head+1 (release) to hand the slot back
 * </pre>
 *
 * <p><b>Memory ordering.</b> Each ring has one producer and one consumer, and the index each publishes is
 * the only signal the other gets. Where the two run at the same time on different CPUs, the producer's
 * stores into an entry must be visible before its new tail is, and the consumer must not read an entry
 * before it has read the tail that covers it: the tail is written with release semantics
 * ({@code setRelease}) and read with acquire semantics ({@code getAcquire}), the same pair as the
 * kernel's {@code smp_store_release} and {@code smp_load_acquire}. That is the completion queue: the
 * kernel posts completions from whichever CPU finishes a request, and a plain load of the CQ tail could
 * be hoisted out of the loop, or let a CQE's fields be read before they were written; our CQ head store
 * is a release too, so the kernel does not reuse a slot while we are still reading it. The submission
 * queue is different without SQPOLL, as here: the kernel reads the SQ tail and the SQEs only inside our
 * own {@code io_uring_enter}, after the system call, which orders our stores before its reads (liburing
 * stores this tail with a plain store unless the ring has SQPOLL). The SQ tail's {@code setRelease} costs
 * nothing on x86-64 and is what a ring with SQPOLL needs, where a kernel thread on another CPU polls the
 * tail and could otherwise see it before the SQE's own stores.
 */
final class Ring implements AutoCloseable {

    /** What the loop does with one completion. */
    @FunctionalInterface
    interface Completion {
        void complete(long userData, int res, int flags);
    }

    // VarHandles for a field at a byte offset in a segment: (MemorySegment, long offset).
    private static final VarHandle INT = JAVA_INT.varHandle();

    final int fd;
    private final MemorySegment sqRing;
    private final MemorySegment cqRing;
    private final MemorySegment sqes;
    private final long sqHead;
    private final long sqTail;
    private final long cqHead;
    private final long cqTail;
    private final long cqes;
    private final int sqMask;
    private final int sqEntries;
    private final int cqMask;
    private final boolean disabled;
    // IORING_REGISTER_FILES_UPDATE's argument, reused; 20 bytes the garbage collector frees with the Ring.
    private final MemorySegment update = Arena.ofAuto().allocate(IO_URING_FILES_UPDATE);
    private final MemorySegment updateFd = Arena.ofAuto().allocate(JAVA_INT);
    private int tail;          // our SQ tail: entries up to here are filled
    private int published;     // what the kernel has been told (the SQ tail in shared memory)
    private int head;          // our CQ head

    private long enters;
    private long submitted;
    private long completed;

    /**
     * {@code io_uring_setup} with {@code entries} SQEs and {@code 4 * entries} CQEs, then the three mmaps.
     * Asks for a ring that only one thread submits to (SINGLE_ISSUER: the kernel skips its locking) and
     * whose completion work waits for that thread's next system call instead of interrupting it
     * (COOP_TASKRUN), created disabled so that the thread that calls {@link #enable} becomes the
     * submitter. DEFER_TASKRUN (completion work only inside {@code io_uring_enter}) measured slower here:
     * see uring/README.md. A kernel older than 6.0 refuses these flags with EINVAL and gets a plain ring.
     */
    Ring(int entries) throws IOException {
        int fd;
        MemorySegment params;
        boolean disabled = true;
        try (Arena arena = Arena.ofConfined()) {
            params = arena.allocate(IO_URING_PARAMS);
            int modern = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_SINGLE_ISSUER
                    | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_R_DISABLED;
            try {
                fd = setup(entries, params, modern);
            } catch (Native.NativeException e) {
                if (e.errno() != Native.EINVAL) {
                    throw e;
                }
                disabled = false;
                fd = setup(entries, params, IORING_SETUP_CQSIZE);
            }
            this.fd = fd;
            this.disabled = disabled;
            int features = get(params, "features");
            sqEntries = get(params, "sq_entries");
            int cqEntries = get(params, "cq_entries");
            long sqSize = get(params, "sq_off", "array") + (long) sqEntries * Integer.BYTES;
            long cqSize = get(params, "cq_off", "cqes") + cqEntries * CQE_SIZE;
            try {
                // Since 5.4 one mmap covers both rings (IORING_FEAT_SINGLE_MMAP); before, two.
                if ((features & IORING_FEAT_SINGLE_MMAP) != 0) {
                    sqRing = IoUring.mmap(fd, Math.max(sqSize, cqSize), IORING_OFF_SQ_RING);
                    cqRing = sqRing;
                } else {
                    sqRing = IoUring.mmap(fd, sqSize, IORING_OFF_SQ_RING);
                    cqRing = IoUring.mmap(fd, cqSize, IORING_OFF_CQ_RING);
                }
                sqes = IoUring.mmap(fd, sqEntries * SQE_SIZE, IORING_OFF_SQES);
            } catch (IOException e) {
                Posix.close(fd); // closing the ring's fd also drops any mapping made so far
                throw e;
            }
            sqHead = get(params, "sq_off", "head");
            sqTail = get(params, "sq_off", "tail");
            sqMask = sqRing.get(JAVA_INT, get(params, "sq_off", "ring_mask"));
            cqHead = get(params, "cq_off", "head");
            cqTail = get(params, "cq_off", "tail");
            cqMask = cqRing.get(JAVA_INT, get(params, "cq_off", "ring_mask"));
            cqes = get(params, "cq_off", "cqes");
            // The SQ array is one more indirection (slot i of the ring names SQE array[i]); we always fill
            // the SQE at the slot's own index, so it is set to the identity once and never touched again.
            long array = get(params, "sq_off", "array");
            for (int i = 0; i < sqEntries; i++) {
                sqRing.set(JAVA_INT, array + (long) i * Integer.BYTES, i);
            }
            tail = published = (int) INT.getAcquire(sqRing, sqTail);
            head = (int) INT.getAcquire(cqRing, cqHead);
        }
    }

    private static int setup(int entries, MemorySegment params, int flags) throws IOException {
        params.fill((byte) 0);
        params.set(JAVA_INT, IoUring.offset(IO_URING_PARAMS, "flags"), flags);
        params.set(JAVA_INT, IoUring.offset(IO_URING_PARAMS, "cq_entries"), 4 * entries);
        return IoUring.io_uring_setup(entries, params);
    }

    private static int get(MemorySegment params, String... field) {
        return params.get(JAVA_INT, IoUring.offset(IO_URING_PARAMS, field));
    }

    /** Makes the calling thread the ring's one submitter (IORING_REGISTER_ENABLE_RINGS). */
    void enable() throws IOException {
        if (disabled) {
            int rc = IoUring.io_uring_register(fd, IORING_REGISTER_ENABLE_RINGS, MemorySegment.NULL, 0);
            if (rc < 0) {
                throw Native.exception("io_uring_register(IORING_REGISTER_ENABLE_RINGS)", -rc);
            }
        }
    }

    /**
     * Registers a table of {@code slots} files, all empty ({@code IORING_REGISTER_FILES} with every fd -1).
     * A request whose SQE has {@code IOSQE_FIXED_FILE} names a slot of this table instead of an fd: the
     * kernel then skips looking the fd up and counting a reference to its file ({@code fget}/{@code fput},
     * an atomic pair in a process with more than one thread) on every request.
     */
    void registerFiles(int slots) throws IOException {
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment none = scratch.allocate(JAVA_INT, slots);
            none.fill((byte) -1);
            int rc = IoUring.io_uring_register(fd, IORING_REGISTER_FILES, none, slots);
            if (rc < 0) {
                throw Native.exception("io_uring_register(IORING_REGISTER_FILES)", -rc);
            }
        }
    }

    /**
     * Puts the file of {@code file} in slot {@code slot} of the table, or empties the slot if {@code file}
     * is -1 ({@code IORING_REGISTER_FILES_UPDATE}). A slot holds its own reference to the file: a socket
     * closed by fd but still in a slot stays open until the slot is emptied.
     */
    void setFile(int slot, int file) throws IOException {
        update.set(JAVA_INT, IoUring.offset(IO_URING_FILES_UPDATE, "offset"), slot);
        update.set(JAVA_LONG, IoUring.offset(IO_URING_FILES_UPDATE, "fds"), updateFd.address());
        updateFd.set(JAVA_INT, 0, file);
        int rc = IoUring.io_uring_register(fd, IORING_REGISTER_FILES_UPDATE, update, 1);
        if (rc < 0) {
            throw Native.exception("io_uring_register(IORING_REGISTER_FILES_UPDATE)", -rc);
        }
    }

    /**
     * The byte offset in {@link #sqes} of a free SQE, cleared. When the SQ is full (the kernel has not
     * consumed what we queued) the queued entries are submitted first, which frees them all.
     */
    private long next() throws IOException {
        if (tail - (int) INT.getAcquire(sqRing, sqHead) == sqEntries) {
            submit(0);
        }
        long sqe = (long) (tail & sqMask) * SQE_SIZE;
        for (long i = 0; i < SQE_SIZE; i += Long.BYTES) {
            sqes.set(JAVA_LONG, sqe + i, 0L);
        }
        tail++;
        return sqe;
    }

    /** Queues one request; {@code flags} are IOSQE_*, {@code ioprio} and {@code opFlags} the opcode's own. */
    void prepare(byte opcode, byte flags, short ioprio, int fd, long off, long addr, int len, int opFlags,
                 long userData) throws IOException {
        long sqe = next();
        sqes.set(JAVA_BYTE, sqe + SQE_OPCODE, opcode);
        sqes.set(JAVA_BYTE, sqe + SQE_FLAGS, flags);
        sqes.set(JAVA_SHORT, sqe + SQE_IOPRIO, ioprio);
        sqes.set(JAVA_INT, sqe + SQE_FD, fd);
        sqes.set(JAVA_LONG, sqe + SQE_OFF, off);
        sqes.set(JAVA_LONG, sqe + SQE_ADDR, addr);
        sqes.set(JAVA_INT, sqe + SQE_LEN, len);
        sqes.set(JAVA_INT, sqe + SQE_OP_FLAGS, opFlags);
        sqes.set(JAVA_LONG, sqe + SQE_USER_DATA, userData);
    }

    /**
     * As {@link #prepare}, for a receive that takes its buffer from group {@code bufferGroup};
     * {@code ioprio} may hold IORING_RECV_MULTISHOT.
     */
    void prepareRecv(int fd, short bufferGroup, byte flags, short ioprio, long userData) throws IOException {
        prepare(IoUring.IORING_OP_RECV, flags, ioprio, fd, 0, 0, 0, 0, userData);
        sqes.set(JAVA_SHORT, (long) ((tail - 1) & sqMask) * SQE_SIZE + SQE_BUF_GROUP, bufferGroup);
    }

    /**
     * Publishes what was queued and enters the kernel once: it submits every new SQE and, if
     * {@code waitFor > 0}, sleeps until that many completions are ready. This is the loop's only
     * blocking call, and, while the load keeps it busy, its only system call.
     */
    void submit(int waitFor) throws IOException {
        int toSubmit = tail - published;
        if (toSubmit > 0) {
            INT.setRelease(sqRing, sqTail, tail); // needed only with SQPOLL: see the class comment
            published = tail;
        }
        if (toSubmit == 0 && waitFor == 0) {
            return;
        }
        enters++;
        int rc = IoUring.io_uring_enter(fd, toSubmit, waitFor, waitFor > 0 ? IORING_ENTER_GETEVENTS : 0);
        if (rc < 0) {
            throw Native.exception("io_uring_enter", -rc);
        }
        submitted += rc;
    }

    /** Hands every completion that is ready to {@code handler}, then gives their slots back. */
    int drain(Completion handler) {
        int ready = (int) INT.getAcquire(cqRing, cqTail); // the CQEs below it are fully written
        int n = ready - head;
        for (; head != ready; head++) {
            long cqe = cqes + (long) (head & cqMask) * CQE_SIZE;
            handler.complete(cqRing.get(JAVA_LONG, cqe + CQE_USER_DATA), cqRing.get(JAVA_INT, cqe + CQE_RES),
                    cqRing.get(JAVA_INT, cqe + CQE_FLAGS));
        }
        // One store hands all the slots back: our reads of them happen before the kernel sees it.
        INT.setRelease(cqRing, cqHead, head);
        completed += n;
        return n;
    }

    /** {@code io_uring_enter} calls, SQEs submitted and CQEs handled so far. */
    String counts() {
        return String.format("%d enters, %d submissions (%.2f per enter), %d completions", enters, submitted,
                enters == 0 ? 0.0 : (double) submitted / enters, completed);
    }

    @Override
    public void close() {
        // Closing the fd cancels every request in flight; the mappings go with it.
        IoUring.munmap(sqes);
        IoUring.munmap(sqRing);
        if (cqRing != sqRing) {
            IoUring.munmap(cqRing);
        }
        Posix.close(fd);
    }
}
