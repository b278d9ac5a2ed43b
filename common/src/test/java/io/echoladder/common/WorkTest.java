package io.echoladder.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.InterruptedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class WorkTest {

    @Test
    void parsesBothKindsAndPrintsWhatItParses() {
        Work cpu = Work.parse("cpu:100us");
        assertThat(cpu.kind()).isEqualTo(Work.Kind.CPU);
        assertThat(cpu.duration()).isEqualTo(Duration.ofNanos(100_000));
        Work sleep = Work.parse("sleep:1.5s");
        assertThat(sleep.kind()).isEqualTo(Work.Kind.SLEEP);
        assertThat(sleep.duration()).isEqualTo(Duration.ofMillis(1500));
        for (String spec : new String[] {"cpu:100us", "sleep:1ms", "sleep:1500ms", "cpu:2s", "cpu:PT0.0000005S"}) {
            Work w = Work.parse(spec);
            assertThat(Work.parse(w.toString())).as(spec).extracting(Work::kind, Work::duration)
                    .containsExactly(w.kind(), w.duration());
        }
        assertThat(Work.NONE.isSome()).isFalse();
    }

    @ParameterizedTest
    @ValueSource(strings = {"foo", "cpu", "cpu:", "cpu:-1ms", "cpu:abc", "cpu:0", "sleep:0ms", "gpu:1ms", ":1ms"})
    void refusesWithOneLine(String spec) {
        assertThatThrownBy(() -> Work.parse(spec)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageNotContaining("\n");
    }

    @Test
    void cpuWorkLeavesTheBytesAndTheBufferAsTheyWere() throws Exception {
        byte[] bytes = new byte[5000];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = (byte) (i * 31 + 7);
        }
        byte[] before = bytes.clone();
        Work work = Work.parse("cpu:2ms");
        work.apply(bytes, 100, 4000);
        assertThat(bytes).isEqualTo(before);

        ByteBuffer buffer = ByteBuffer.wrap(bytes).position(10).limit(3000);
        work.apply(buffer);
        assertThat(buffer.position()).isEqualTo(10);
        assertThat(buffer.limit()).isEqualTo(3000);
        assertThat(bytes).isEqualTo(before);

        try (Arena arena = Arena.ofConfined()) {
            MemorySegment segment = arena.allocate(bytes.length);
            MemorySegment.copy(bytes, 0, segment, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, bytes.length);
            work.apply(segment.asSlice(0, 1234));
            work.apply(segment.asSlice(0, 0)); // an empty read still costs the work, and does not fail
            assertThat(Arrays.equals(segment.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE), before)).isTrue();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"cpu:1h", "sleep:1h"})
    void anInterruptEndsTheWork(String spec) throws Exception {
        Work work = Work.parse(spec);
        Throwable[] thrown = new Throwable[1];
        Thread worker = Thread.ofPlatform().start(() -> {
            try {
                work.apply(new byte[64], 0, 64);
            } catch (InterruptedIOException e) {
                thrown[0] = e;
            }
        });
        Thread.sleep(50);
        worker.interrupt();
        worker.join(); // an hour of work: only the interrupt can end it before the test's timeout
        assertThat(thrown[0]).isInstanceOf(InterruptedIOException.class).hasMessageContaining(work.toString());
    }
}
