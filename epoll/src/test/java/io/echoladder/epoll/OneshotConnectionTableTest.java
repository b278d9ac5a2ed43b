package io.echoladder.epoll;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * epoll-oneshot's table of connections by fd. It was a fixed array of 65,536: an fd past it threw out of a
 * worker before the one-shot listener was re-armed, and the server never accepted again. A process here
 * may not open that many (the limit is 20,000), so the table is tested directly.
 */
class OneshotConnectionTableTest {

    @Test
    void anFdPastEverySizeItHadIsKeptAndFound() {
        OneshotEpollEchoServer.ConnectionTable<String> table = new OneshotEpollEchoServer.ConnectionTable<>();
        table.put(3, "three");
        table.put(70_000, "seventy thousand");
        table.put(1 << 20, "a million");

        assertThat(table.get(3)).isEqualTo("three");
        assertThat(table.get(70_000)).isEqualTo("seventy thousand");
        assertThat(table.get(1 << 20)).isEqualTo("a million");
        assertThat(table.get(1 << 21)).isNull();
        assertThat(table.get(-1)).isNull();
        assertThat(table.length()).isGreaterThan(1 << 20);
    }

    @Test
    void removeTakesOnlyTheConnectionItNames() {
        OneshotEpollEchoServer.ConnectionTable<String> table = new OneshotEpollEchoServer.ConnectionTable<>();
        table.put(5, "old");
        table.put(5, "new"); // the fd was closed and reused
        table.remove(5, "old");
        assertThat(table.get(5)).isEqualTo("new");
        table.remove(5, "new");
        assertThat(table.get(5)).isNull();
    }

    @Test
    void aReaderDuringGrowthSeesEveryEntryThatWasThere() throws Exception {
        OneshotEpollEchoServer.ConnectionTable<String> table = new OneshotEpollEchoServer.ConnectionTable<>();
        table.put(7, "seven");
        AtomicReference<String> missed = new AtomicReference<>();
        Thread reader = Thread.ofPlatform().start(() -> {
            for (int i = 0; i < 1_000_000 && missed.get() == null; i++) {
                if (!"seven".equals(table.get(7))) {
                    missed.set("read " + table.get(7) + " at iteration " + i);
                }
            }
        });
        for (int fd = 1024; fd < 1 << 18; fd = fd * 2 + 1) {
            table.put(fd, "grow");
        }
        reader.join();
        assertThat(missed.get()).as("fd 7 while the table grew").isNull();
    }
}
