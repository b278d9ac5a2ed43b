package io.echoladder.epoll;

import static org.assertj.core.api.Assertions.assertThat;

import io.echoladder.common.Work;
import io.echoladder.common.linux.Posix;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/**
 * {@code --offload}'s pool writes its eventfd when a job is done. Closing the offload while jobs still
 * run must not leave a thread that writes the closed fd afterwards: by then the number may be another
 * file's (here: a new eventfd, which would count a wake-up it never had).
 */
class OffloadTest {

    @Test
    void noJobWritesTheEventfdAfterCloseEvenIfItsNumberIsTakenAtOnce() throws Exception {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment counter = arena.allocate(ValueLayout.JAVA_LONG);
            MemorySegment chunk = arena.allocate(16);
            int strays = 0;
            for (int round = 0; round < 200; round++) {
                Offload<Integer> offload = new Offload<>(2, Work.NONE);
                for (int job = 0; job < 50; job++) {
                    offload.submit(job, chunk);
                }
                offload.close();
                // The lowest free number: the one close just gave back.
                int reused = Posix.eventfd(0, Posix.EFD_NONBLOCK | Posix.EFD_CLOEXEC);
                Thread.sleep(2);
                if (Posix.read(reused, counter, Long.BYTES) == Long.BYTES) {
                    strays++;
                }
                Posix.close(reused);
            }
            assertThat(strays).as("rounds in which a job wrote the closed eventfd's number after close").isZero();
        }
    }
}
