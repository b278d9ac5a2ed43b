package io.echoladder.client;

import static org.assertj.core.api.Assertions.assertThat;

import io.echoladder.client.FaultyEchoServer.Fault;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Ctrl-C keeps the run: {@code client} and {@code soak}, started as processes and sent SIGINT in the
 * middle of a long run, print (or emit as JSON) what they measured so far, say they were interrupted,
 * and exit 130.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class InterruptTest {

    private static final Duration LIMIT = Duration.ofSeconds(60);

    @Test
    void theClientEmitsTheJsonOfWhatItMeasuredAndExits130() throws Exception {
        try (FaultyEchoServer server = new FaultyEchoServer(Fault.NONE);
             CommandProcess client = CommandProcess.start(ClientCommand.class, "--port",
                     Integer.toString(server.port()), "--connections", "2", "--warmup", "0", "--duration", "5m",
                     "--progress", "--json")) {
            // The first progress line comes a second into the window: there is something to report.
            assertThat(client.await(s -> s.contains(" messages "), LIMIT)).as(client.stderr()).isTrue();
            client.sigint();
            assertThat(client.awaitExit(LIMIT)).as(client.stderr()).isEqualTo(130);
            String json = client.stdout().strip();
            assertThat(json).startsWith("{\"interrupted_after_s\":").endsWith("}").doesNotContain("\n");
            assertThat(number(json, "interrupted_after_s")).isPositive();
            assertThat(number(json, "messages")).isPositive();
            assertThat(number(json, "duration_s")).as("the window up to the interrupt, not the 5 minutes asked for")
                    .isPositive().isLessThan(300);
        }
    }

    @Test
    void theClientPrintsItsSummaryMarkedInterrupted() throws Exception {
        try (FaultyEchoServer server = new FaultyEchoServer(Fault.NONE);
             CommandProcess client = CommandProcess.start(ClientCommand.class, "--port",
                     Integer.toString(server.port()), "--connections", "2", "--warmup", "0", "--duration", "5m",
                     "--progress")) {
            assertThat(client.await(s -> s.contains(" messages "), LIMIT)).as(client.stderr()).isTrue();
            client.sigint();
            assertThat(client.awaitExit(LIMIT)).as(client.stderr()).isEqualTo(130);
            assertThat(client.stdout()).containsPattern("\\Ainterrupted after [0-9.]+ s: the figures cover the [0-9.]+ s "
                    + "measured before it\n").contains("\nmessages     ").contains("\nlatency      ");
        }
    }

    @Test
    void aClientInterruptedInItsWarmUpSaysNothingWasMeasured() throws Exception {
        try (FaultyEchoServer server = new FaultyEchoServer(Fault.NONE);
             CommandProcess client = CommandProcess.start(ClientCommand.class, "--port",
                     Integer.toString(server.port()), "--connections", "2", "--warmup", "5m", "--progress")) {
            assertThat(client.await(s -> s.contains(" warm-up "), LIMIT)).as(client.stderr()).isTrue();
            client.sigint();
            assertThat(client.awaitExit(LIMIT)).as(client.stderr()).isEqualTo(130);
            assertThat(client.stdout()).matches("interrupted after [0-9.]+ s, before the measured window: nothing was measured\n");
        }
    }

    @Test
    void theSoakPrintsTheVerdictOfWhatItMeasuredAndExits130() throws Exception {
        try (FaultyEchoServer server = new FaultyEchoServer(Fault.NONE);
             CommandProcess soak = CommandProcess.start(SoakCommand.class, "--port", Integer.toString(server.port()),
                     "--connections", "20", "--interval", "100ms", "--duration", "5m")) {
            // The sampler's second line (20 s in) comes after the window opened (10 s after the last connect).
            assertThat(soak.await(s -> s.lines().filter(l -> l.contains(" messages ")).count() >= 2, LIMIT))
                    .as(soak.stderr()).isTrue();
            soak.sigint();
            assertThat(soak.awaitExit(LIMIT)).as(soak.stderr()).isEqualTo(130);
            assertThat(soak.stdout()).containsPattern("\ninterrupted after [0-9.]+ s: the verdict covers the [1-9][0-9]* s "
                    + "measured before it\n").contains("\nconnections  20 of 20 held");
        }
    }

    private static double number(String json, String key) {
        Matcher m = Pattern.compile("\"" + key + "\":(-?[0-9.]+)").matcher(json);
        assertThat(m.find()).as("key %s in %s", key, json).isTrue();
        return Double.parseDouble(m.group(1));
    }
}
