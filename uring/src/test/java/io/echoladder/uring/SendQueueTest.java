package io.echoladder.uring;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class SendQueueTest {

    @Test
    void aShortSendLeavesTheRestAtTheHeadAndBuffersComeBackInOrder() {
        SendQueue q = new SendQueue();
        q.add(7, 100);
        q.add(3, 50);
        assertThat(q.sent(40)).as("short send: buffer 7 not done").isEqualTo(-1);
        assertThat(q.headBuffer()).isEqualTo(7);
        assertThat(q.headOffset()).isEqualTo(40);
        assertThat(q.headLength()).isEqualTo(60);
        assertThat(q.sent(60)).isEqualTo(7);
        assertThat(q.headBuffer()).isEqualTo(3);
        assertThat(q.sent(50)).isEqualTo(3);
        assertThat(q.isEmpty()).isTrue();
    }

    @Test
    void growsPastItsFirstArraysAndCountsBytesAgainstTheCap() {
        SendQueue q = new SendQueue();
        int buffers = SendQueue.CAP / 16384 + 1;
        for (int i = 0; i < buffers; i++) {
            q.add(i, 16384);
        }
        assertThat(q.overCap()).isTrue();
        assertThat(q.sent(16384)).isZero();
        assertThat(q.overCap()).isFalse();
        assertThat(q.drain()).hasSize(buffers - 1).startsWith(1, 2, 3).endsWith(buffers - 1);
        assertThat(q.isEmpty()).isTrue();
    }

    /** A client of small stalled messages holds a whole provided buffer per message: counted too. */
    @Test
    void smallMessagesReachTheCapByTheBuffersTheyHoldNotTheirBytes() {
        SendQueue q = new SendQueue();
        for (int i = 0; i < SendQueue.MAX_BUFFERS; i++) {
            q.add(i, 100);
        }
        assertThat(q.overCap()).isFalse();
        q.add(SendQueue.MAX_BUFFERS, 100);
        assertThat(q.overCap()).as("%d buffers of 100 bytes", SendQueue.MAX_BUFFERS + 1).isTrue();
    }
}
