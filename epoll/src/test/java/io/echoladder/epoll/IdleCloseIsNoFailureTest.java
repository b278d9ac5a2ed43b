package io.echoladder.epoll;

import static org.assertj.core.api.Assertions.assertThat;

import io.echoladder.client.Payload;
import io.echoladder.client.RungProcess;
import io.echoladder.client.conformance.EchoCases;
import io.echoladder.common.Stats;
import java.io.IOException;
import java.io.InputStream;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code --idle-timeout} closing a connection is the server's own decision, not an error: {@code failed}
 * counts resets and broken pipes ({@link Stats#FAILED}), and the threaded rungs and the single loops do
 * not count an idle close there. The one-shot rung's idle watchdog cannot close a socket a worker may be
 * using, so it shuts it down and the owner finishes the job; its echo step took the EPOLLHUP that
 * shutdown(2) raises for a reset and counted every idle close as a failure. Both the echo step's copies
 * (the single loops' and the one-shot workers') are held to the same count here.
 */
class IdleCloseIsNoFailureTest {

    private static final Pattern SERVED = Pattern.compile("\"served\":\\{([^}]*)}");
    private static final Pattern FAILED = Pattern.compile("\"failed\":(\\d+)");

    @ParameterizedTest
    @ValueSource(strings = {"select", "poll", "epoll", "epoll-oneshot"})
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void anIdleCloseIsNotCountedAsAFailure(String rung) throws Exception {
        try (RungProcess server = RungProcess.start(rung, List.of("--idle-timeout", "1s", "--stats", "100ms"))) {
            // A client that never sends, and one that sends until the server stops reading it (its echo
            // waits in the server, unread) and then goes quiet: both idle, both to be closed, no error.
            try (SocketChannel silent = SocketChannel.open(server.address());
                 SocketChannel nonReader = SocketChannel.open(server.address())) {
                fillUntilTheServerPushesBack(nonReader);
                assertThat(awaitClose(silent)).as("%s: a silent client with --idle-timeout 1s", rung).isTrue();
                assertThat(awaitClose(nonReader)).as("%s: a non-reading client with --idle-timeout 1s", rung).isTrue();
            }
            // A third client after both closes; a stats line that counts it was taken after them too.
            new EchoCases(server.address()).shortMessage();
            String line = awaitStats(server, 3);
            assertThat(line).as("%s: a stats line counting 3 clients served; stdout %s", rung, server.stdout())
                    .isNotNull();
            Matcher failed = FAILED.matcher(line);
            assertThat(failed.find()).as(line).isTrue();
            assertThat(Long.parseLong(failed.group(1)))
                    .as("%s: connections counted as failed after two idle closes and one echo (%s)", rung, line)
                    .isZero();
        }
    }

    /** Writes until no byte has been taken for 500 ms: the server holds its cap of echo and reads no more. */
    private static void fillUntilTheServerPushesBack(SocketChannel client) throws IOException, InterruptedException {
        client.configureBlocking(false);
        ByteBuffer chunk = ByteBuffer.wrap(Payload.random(24, 64 * 1024));
        long lastProgress = System.nanoTime();
        while (System.nanoTime() - lastProgress < Duration.ofMillis(500).toNanos()) {
            if (!chunk.hasRemaining()) {
                chunk.rewind();
            }
            if (client.write(chunk) > 0) {
                lastProgress = System.nanoTime();
            } else {
                Thread.sleep(5);
            }
        }
        client.configureBlocking(true);
    }

    /** Reads (and drops) until EOF or a reset; false if the server kept the connection open for 10 s. */
    private static boolean awaitClose(SocketChannel client) throws IOException {
        client.socket().setSoTimeout(10_000);
        InputStream in = client.socket().getInputStream();
        byte[] sink = new byte[64 * 1024];
        try {
            while (in.read(sink) >= 0) {
                // the echo it had not read
            }
            return true;
        } catch (java.net.SocketTimeoutException e) {
            return false;
        } catch (SocketException e) {
            return true; // reset: the server closed with our bytes unread
        }
    }

    /** The first JSON stats line whose served counts add up to {@code served}, within 10 s; else null. */
    private static String awaitStats(RungProcess server, long served) throws InterruptedException {
        long end = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (System.nanoTime() < end) {
            for (String line : server.stdout()) {
                Matcher m = SERVED.matcher(line);
                if (line.startsWith(Stats.JSON_PREFIX) && m.find() && total(m.group(1)) >= served) {
                    return line;
                }
            }
            Thread.sleep(100);
        }
        return null;
    }

    /** {@code "worker-0":1,"worker-1":2} adds up to 3. */
    private static long total(String counts) {
        long sum = 0;
        for (String pair : counts.split(",")) {
            if (!pair.isEmpty()) {
                sum += Long.parseLong(pair.substring(pair.indexOf(':') + 1));
            }
        }
        return sum;
    }
}
