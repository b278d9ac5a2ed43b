package io.echoladder.uring;

import static org.assertj.core.api.Assertions.assertThat;

import io.echoladder.client.RungProcess;
import io.echoladder.client.conformance.EchoCases;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The multishot receive's back-pressure path: a client that writes without reading fills the server's
 * queue past the cap, the server cancels the connection's receive and so stops reading (the writer
 * stalls) while other clients are served; when the client reads again the queue drains, the receive is
 * armed again, and every byte comes back in order. Without the re-arm the reader would wait forever;
 * without the cancel the one client would take every provided buffer and the other would get no echo.
 */
@ExtendWith(IoUringAvailable.class)
class PausedReceiveTest {

    private static final long TOTAL = 64L << 20; // more than the socket buffers on both sides can hold
    private static final int CHUNK = 64 * 1024;
    private static final long SEED = 862;

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void aClientThatStopsReadingStallsItsWriterAndGetsEveryByteWhenItReadsAgain() throws Exception {
        try (RungProcess server = RungProcess.start("io-uring", List.of());
             Socket socket = new Socket(server.address().getAddress(), server.address().getPort())) {
            socket.setSoTimeout(10_000);
            AtomicLong written = new AtomicLong();
            Thread writer = Thread.ofPlatform().start(() -> {
                Random bytes = new Random(SEED);
                byte[] chunk = new byte[CHUNK];
                try {
                    OutputStream out = socket.getOutputStream();
                    for (long sent = 0; sent < TOTAL; sent += CHUNK) {
                        bytes.nextBytes(chunk);
                        out.write(chunk);
                        written.addAndGet(CHUNK);
                    }
                } catch (Exception e) {
                    // the reader's assertions report what went missing
                }
            });
            try {
                long stalledAt = waitUntilStalled(written, Duration.ofMillis(500), Duration.ofSeconds(20));
                assertThat(stalledAt).as("bytes written before the server stopped reading").isLessThan(TOTAL);
                // Stalled by the cap, not by running out of buffers: had the server read on, this one client
                // would hold every provided buffer, and nobody else would be served.
                String other = new EchoCases(server.address()).shortMessage(); // throws if it gets no echo

                Random expected = new Random(SEED);
                byte[] want = new byte[CHUNK];
                byte[] got = new byte[CHUNK];
                InputStream in = socket.getInputStream();
                for (long read = 0; read < TOTAL; read += CHUNK) {
                    expected.nextBytes(want);
                    assertThat(in.readNBytes(got, 0, CHUNK)).as("bytes at offset %d before EOF", read).isEqualTo(CHUNK);
                    assertThat(Arrays.mismatch(got, want)).as("first wrong byte after offset %d", read).isEqualTo(-1);
                }
                System.out.printf("[io-uring] the writer stalled at %d of %d MiB, another client got %s; after "
                        + "reading, all %d MiB came back byte-exact%n", stalledAt >> 20, TOTAL >> 20, other, TOTAL >> 20);
            } finally {
                socket.close();
                writer.join(10_000);
            }
        }
    }

    /** Waits until {@code written} has not moved for {@code quiet}; returns its value then. */
    private static long waitUntilStalled(AtomicLong written, Duration quiet, Duration limit)
            throws InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        long last = -1;
        long since = System.nanoTime();
        while (System.nanoTime() < deadline) {
            long now = written.get();
            if (now != last) {
                last = now;
                since = System.nanoTime();
            } else if (System.nanoTime() - since >= quiet.toNanos()) {
                return now;
            }
            Thread.sleep(20);
        }
        return written.get();
    }
}
