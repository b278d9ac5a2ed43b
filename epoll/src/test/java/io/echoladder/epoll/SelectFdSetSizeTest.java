package io.echoladder.epoll;

import static org.assertj.core.api.Assertions.assertThat;

import io.echoladder.client.Payload;
import io.echoladder.client.RungProcess;
import io.echoladder.client.conformance.CaseFailure;
import io.echoladder.client.conformance.EchoCases;
import io.echoladder.client.conformance.EchoSession;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Where select breaks: with 1,100 clients open, the server's descriptors pass 1023, which no fd_set can
 * hold. The rung must close those clients at once, say so in one line, count them, and keep serving the
 * clients it has; once older clients leave, new ones are served again.
 */
class SelectFdSetSizeTest {

    private static final Pattern LINE = Pattern.compile(
            "select: fd (\\d+) is past FD_SETSIZE \\(1024\\); closing new clients until descriptors free up");
    private static final Pattern COUNTED = Pattern.compile("past-FD_SETSIZE=(\\d+)");

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void closesClientsPastFdSetSizeAndKeepsServingTheOthers() throws Exception {
        try (RungProcess server = RungProcess.start("select", List.of("--stats", "200ms"))) {
            EchoCases on = new EchoCases(server.address());
            List<EchoSession> open = new ArrayList<>();
            try {
                for (int i = 0; i < 1100; i++) {
                    open.add(on.connect("client " + i));
                }
                // The last one came after the server's descriptors passed 1023: closed without a byte.
                assertThat(open.getLast().awaitClose(Duration.ofSeconds(10)))
                        .as("the 1,100th client, whose server-side fd cannot be in an fd_set").isNotNull();

                List<String> lines = awaitLines(server, LINE, Duration.ofSeconds(10));
                List<String> warnings = lines.stream().filter(l -> LINE.matcher(l).matches()).toList();
                assertThat(warnings).as("stdout of select: %s", lines).hasSize(1);
                Matcher m = LINE.matcher(warnings.getFirst());
                assertThat(m.matches()).isTrue();
                assertThat(Integer.parseInt(m.group(1))).isGreaterThanOrEqualTo(1024);

                byte[] message = Payload.random(56, 1000);
                EchoSession early = open.getFirst();
                early.send(message);
                early.expect(message);

                // Free 200 descriptors: a new client is served again, no longer closed.
                for (int i = 0; i < 200; i++) {
                    open.removeFirst().close();
                }
                assertThat(servedAfterOthersLeft(on, message)).as("a new client once 200 have left").isTrue();

                long counted = awaitCount(server, Duration.ofSeconds(5));
                assertThat(counted).as("clients counted as past FD_SETSIZE (--stats)").isBetween(1L, 1100L);
                assertThat(server.process().isAlive()).as("select after 1,100 clients: %s", server.diagnostics()).isTrue();
            } finally {
                open.forEach(EchoSession::close);
            }
        }
    }

    /**
     * The server closes its side of the 200 a turn of its loop after we close ours; until then a new
     * client may still land past FD_SETSIZE. So try for up to 10 s, and say whether one was served.
     */
    private static boolean servedAfterOthersLeft(EchoCases on, byte[] message) throws InterruptedException {
        long end = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (System.nanoTime() < end) {
            Thread.sleep(200);
            try (EchoSession late = on.connect("client after 200 left")) {
                late.send(message);
                late.expect(message);
                return true;
            } catch (CaseFailure e) {
                // closed at once: descriptors not free yet
            }
        }
        return false;
    }

    private static List<String> awaitLines(RungProcess server, Pattern wanted, Duration limit) throws InterruptedException {
        long end = System.nanoTime() + limit.toNanos();
        List<String> lines = server.stdout();
        while (lines.stream().noneMatch(l -> wanted.matcher(l).matches()) && System.nanoTime() < end) {
            Thread.sleep(50);
            lines = server.stdout();
        }
        return lines;
    }

    /** The last past-FD_SETSIZE count --stats printed, once it is above zero. */
    private static long awaitCount(RungProcess server, Duration limit) throws InterruptedException {
        long end = System.nanoTime() + limit.toNanos();
        long last = 0;
        while (last == 0 && System.nanoTime() < end) {
            for (String line : server.stdout()) {
                Matcher m = COUNTED.matcher(line);
                if (m.find()) {
                    last = Long.parseLong(m.group(1));
                }
            }
            if (last == 0) {
                Thread.sleep(100);
            }
        }
        return last;
    }
}
