package io.echoladder.uring;

import static io.echoladder.common.linux.IoUring.IORING_REGISTER_PBUF_RING;
import static io.echoladder.common.linux.IoUring.IO_URING_BUF;
import static io.echoladder.common.linux.IoUring.IO_URING_BUF_REG;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import io.echoladder.common.linux.IoUring;
import io.echoladder.common.linux.Native;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/**
 * A provided-buffer ring ({@code IORING_REGISTER_PBUF_RING}, Linux 5.19): a pool of equal buffers the
 * kernel picks from when a receive has data, instead of one buffer per pending receive.
 *
 * <p>Why: a receive submitted with its own buffer pins that buffer until bytes arrive, which for 10,000
 * quiet connections is 10,000 buffers doing nothing. With {@code IOSQE_BUFFER_SELECT} the receive names
 * only a group; the kernel takes a buffer when data is there and says which in the completion
 * ({@code cqe->flags >> IORING_CQE_BUFFER_SHIFT}). The echo then sends straight from that buffer, no copy,
 * and gives it back when the send completes.
 *
 * <p>The ring is another single-producer queue shared with the kernel: we produce ({@code struct
 * io_uring_buf} entries, then the tail, a {@code __u16} overlaid on the first entry's {@code resv}), the
 * kernel consumes. The tail is published with release semantics, like the SQ tail.
 */
final class ProvidedBuffers {

    static final short GROUP = 0;

    private static final VarHandle SHORT = JAVA_SHORT.varHandle();
    private static final long TAIL = 14; // offsetof(struct io_uring_buf_ring, tail)

    private final MemorySegment ring;
    private final MemorySegment data;
    private final int size;
    private final int mask;
    private int tail;
    private boolean dirty;

    /** {@code count} (a power of two) buffers of {@code size} bytes each, registered as group {@link #GROUP}. */
    ProvidedBuffers(Ring uring, Arena arena, int count, int size) throws IOException {
        this.size = size;
        this.mask = count - 1;
        // Page-aligned: the kernel pins these pages and maps them into its own view of the ring.
        this.ring = arena.allocate(IO_URING_BUF.byteSize() * count, 4096);
        this.data = arena.allocate((long) count * size, 4096);
        for (int bid = 0; bid < count; bid++) {
            put(bid);
        }
        publish();
        MemorySegment reg = arena.allocate(IO_URING_BUF_REG);
        reg.set(JAVA_LONG, IoUring.offset(IO_URING_BUF_REG, "ring_addr"), ring.address());
        reg.set(JAVA_INT, IoUring.offset(IO_URING_BUF_REG, "ring_entries"), count);
        reg.set(JAVA_SHORT, IoUring.offset(IO_URING_BUF_REG, "bgid"), GROUP);
        int rc = IoUring.io_uring_register(uring.fd, IORING_REGISTER_PBUF_RING, reg, 1);
        if (rc < 0) {
            throw Native.exception("io_uring_register(IORING_REGISTER_PBUF_RING)", -rc);
        }
    }

    /** Where buffer {@code bid} starts. */
    long address(int bid) {
        return data.address() + (long) bid * size;
    }

    int size() {
        return size;
    }

    /** The first {@code length} bytes of buffer {@code bid}, for a handler's {@code --work}. */
    MemorySegment bytes(int bid, int length) {
        return data.asSlice((long) bid * size, length);
    }

    /** Gives buffer {@code bid} back to the kernel, visible once {@link #publish}ed. */
    void release(int bid) {
        put(bid);
    }

    private void put(int bid) {
        long entry = (tail & mask) * IO_URING_BUF.byteSize();
        ring.set(JAVA_LONG, entry, address(bid));
        ring.set(JAVA_INT, entry + 8, size);
        ring.set(JAVA_SHORT, entry + 12, (short) bid);
        tail++;
        dirty = true;
    }

    /** Publishes every buffer released since the last call, with one release store of the tail. */
    void publish() {
        if (dirty) {
            SHORT.setRelease(ring, TAIL, (short) tail);
            dirty = false;
        }
    }
}
