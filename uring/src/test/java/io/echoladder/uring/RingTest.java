package io.echoladder.uring;

import static org.assertj.core.api.Assertions.assertThat;

import io.echoladder.common.linux.IoUring;
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
}
