package io.echoladder.epoll;

import static org.assertj.core.api.Assertions.assertThat;

import io.echoladder.client.RungProcess;
import io.echoladder.client.conformance.RungConformanceSuite;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

class EpollEchoServerTest extends RungConformanceSuite {

    @Override
    protected String rung() {
        return "epoll";
    }

    @Override
    protected boolean servesConcurrently() {
        return true;
    }

    /** The same suite with {@code --edge-triggered}: every event drained until EAGAIN. */
    @Nested
    class EdgeTriggered extends RungConformanceSuite {
        @Override
        protected String rung() {
            return "epoll";
        }

        @Override
        protected boolean servesConcurrently() {
            return true;
        }

        @Override
        protected List<String> serveArguments() {
            return List.of("--edge-triggered");
        }
    }

    /**
     * The same suite with {@code --offload 4}: every read goes through the pool and back through the
     * eventfd, so order, half-close, back-pressure and shutdown are held to the contract on that path too
     * (case 18 adds the work itself).
     */
    @Nested
    class Offloaded extends RungConformanceSuite {
        @Override
        protected String rung() {
            return "epoll";
        }

        @Override
        protected boolean servesConcurrently() {
            return true;
        }

        @Override
        protected List<String> serveArguments() {
            return List.of("--offload", "4");
        }

        /**
         * Eight clients whose every message makes the handler sleep 1 s: the loop alone would answer them
         * one after another (8 s); with eight pool threads they sleep side by side.
         */
        @Test
        void thePoolWorksWhileTheLoopServesTheOthers() throws Exception {
            try (RungProcess server = RungProcess.start("epoll", List.of("--work", "sleep:1s",
                    "--offload", "8"))) {
                List<SocketChannel> clients = new ArrayList<>();
                try {
                    for (int i = 0; i < 8; i++) {
                        clients.add(SocketChannel.open(server.address()));
                    }
                    long start = System.nanoTime();
                    for (int i = 0; i < 8; i++) {
                        clients.get(i).write(ByteBuffer.wrap(new byte[] {(byte) i, (byte) (i + 1)}));
                    }
                    for (int i = 0; i < 8; i++) {
                        ByteBuffer back = ByteBuffer.allocate(2);
                        while (back.hasRemaining() && clients.get(i).read(back) >= 0) {
                            // the echo arrives after its second of work
                        }
                        assertThat(back.array()).as("client %d", i).containsExactly((byte) i, (byte) (i + 1));
                    }
                    Duration took = Duration.ofNanos(System.nanoTime() - start);
                    assertThat(took).as("eight 1 s handlers on eight pool threads; one after another would take 8 s")
                            .isLessThan(Duration.ofSeconds(5));
                } finally {
                    for (SocketChannel c : clients) {
                        c.close();
                    }
                }
            }
        }

        /**
         * A client that resets while its job is in the pool: the connection has no interest set then, but
         * a level-triggered epoll reports EPOLLHUP whatever the interest, so without EPOLLONESHOT the loop
         * would wake for it on every turn until the job returns, burning a core for the whole work time.
         */
        @Test
        void aClientThatResetsWhileItsJobIsInThePoolDoesNotSpinTheLoop() throws Exception {
            try (RungProcess server = RungProcess.start("epoll", List.of("--work", "sleep:3s", "--offload", "1"))) {
                try (SocketChannel client = SocketChannel.open(server.address())) {
                    client.write(ByteBuffer.wrap(new byte[] {42}));
                    Thread.sleep(300); // the loop has read it and handed it to the pool
                    client.setOption(StandardSocketOptions.SO_LINGER, 0); // close() now sends a reset
                }
                Thread.sleep(200);
                ProcessHandle process = ProcessHandle.of(server.pid()).orElseThrow();
                Duration before = process.info().totalCpuDuration().orElseThrow();
                Thread.sleep(1500); // the job still sleeps
                Duration used = process.info().totalCpuDuration().orElseThrow().minus(before);
                assertThat(used).as("server CPU while the reset client's job sleeps (a spinning loop uses all 1.5 s)")
                        .isLessThan(Duration.ofMillis(500));
            }
        }
    }
}
