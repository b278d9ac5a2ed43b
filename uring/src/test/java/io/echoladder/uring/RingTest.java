package io.echoladder.uring;

import static org.assertj.core.api.Assertions.assertThat;

import io.echoladder.common.linux.IoUring;
import io.echoladder.common.linux.Native;
import io.echoladder.common.linux.Posix;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The structs against {@code <linux/io_uring.h>}, and the ring protocol against the running kernel. */
class RingTest {

    @Test
    void structsHaveTheKernelsSizesAndOffsets() {
        assertThat(IoUring.IO_URING_SQE.byteSize()).isEqualTo(64);
        assertThat(IoUring.IO_URING_CQE.byteSize()).isEqualTo(16);
        assertThat(IoUring.IO_URING_PARAMS.byteSize()).isEqualTo(120);
        assertThat(IoUring.IO_SQRING_OFFSETS.byteSize()).isEqualTo(40);
        assertThat(IoUring.IO_CQRING_OFFSETS.byteSize()).isEqualTo(40);
        assertThat(IoUring.IO_URING_BUF.byteSize()).isEqualTo(16);
        assertThat(IoUring.IO_URING_BUF_REG.byteSize()).isEqualTo(40);
        // Field offsets of io_uring_sqe as the header gives them (x86-64 and aarch64 alike).
        assertThat(List.of(IoUring.SQE_FD, IoUring.SQE_OFF, IoUring.SQE_ADDR, IoUring.SQE_LEN, IoUring.SQE_OP_FLAGS,
                IoUring.SQE_USER_DATA, IoUring.SQE_BUF_GROUP)).containsExactly(4L, 8L, 16L, 24L, 28L, 32L, 40L);
        assertThat(List.of(IoUring.CQE_USER_DATA, IoUring.CQE_RES, IoUring.CQE_FLAGS)).containsExactly(0L, 8L, 12L);
    }

    @Test
    @ExtendWith(IoUringAvailable.class)
    void noOpsComeBackWithTheirUserDataAcrossMoreThanOneLapOfTheRing() throws Exception {
        try (Ring ring = new Ring(8)) {
            ring.enable();
            List<Long> seen = new ArrayList<>();
            // 3 laps of an 8-entry SQ, 5 at a time: the tails wrap, and the masks must hold.
            for (long batch = 0; batch < 5; batch++) {
                for (long i = 0; i < 5; i++) {
                    ring.prepare(IoUring.IORING_OP_NOP, (byte) 0, (short) 0, -1, 0, 0, 0, 0, 1000 + batch * 5 + i);
                }
                ring.submit(5);
                ring.drain((userData, res, flags) -> {
                    assertThat(res).isZero();
                    seen.add(userData);
                });
            }
            assertThat(seen).hasSize(25);
            for (int i = 0; i < 25; i++) {
                assertThat(seen.get(i)).isEqualTo(1000L + i);
            }
        }
    }

    @Test
    @ExtendWith(IoUringAvailable.class)
    void aRegisteredFileIsReadThroughItsSlotAndAnEmptiedSlotNamesNoFile() throws Exception {
        int counter = Posix.eventfd(5, Posix.EFD_CLOEXEC); // reads as the 8-byte value 5
        try (Ring ring = new Ring(8); Arena arena = Arena.ofConfined()) {
            ring.enable();
            ring.registerFiles(4);
            ring.setFile(2, counter);
            MemorySegment value = arena.allocate(ValueLayout.JAVA_LONG);
            int[] res = new int[1];
            ring.prepare(IoUring.IORING_OP_READ, IoUring.IOSQE_FIXED_FILE, (short) 0, 2, 0, value.address(), 8, 0, 1);
            ring.submit(1);
            ring.drain((userData, r, flags) -> res[0] = r);
            assertThat(res[0]).as("bytes read through slot 2").isEqualTo(8);
            assertThat(value.get(ValueLayout.JAVA_LONG, 0)).isEqualTo(5L);

            ring.setFile(2, -1);
            // Refilled, so that a read through a slot still holding it would complete (with 8) at once
            // instead of waiting for a value: the test fails rather than hangs.
            value.set(ValueLayout.JAVA_LONG, 0, 7L);
            assertThat(Posix.write(counter, value, 8)).isEqualTo(8);
            ring.prepare(IoUring.IORING_OP_READ, IoUring.IOSQE_FIXED_FILE, (short) 0, 2, 0, value.address(), 8, 0, 2);
            ring.submit(1);
            ring.drain((userData, r, flags) -> res[0] = r);
            assertThat(res[0]).as("a read through the emptied slot").isEqualTo(-Native.EBADF);
        } finally {
            Posix.close(counter);
        }
    }
}
