package io.echoladder.client;

import static org.assertj.core.api.Assertions.assertThat;

import io.echoladder.client.FaultyEchoServer.Fault;
import io.echoladder.common.Cli;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ClientCommandTest {

    record Run(int status, String out, String err, long millis) {

        /** A number from the JSON output, found by key (the keys are a contract). */
        double number(String key) {
            Matcher m = Pattern.compile("\"" + key + "\":(-?[0-9.]+)").matcher(out);
            assertThat(m.find()).as("key %s in %s", key, out).isTrue();
            return Double.parseDouble(m.group(1));
        }

        /** The JSON value of a key as written (a number, null, an object without nested ones), found by key. */
        String value(String key) {
            Matcher m = Pattern.compile("\"" + key + "\":(\\{[^}]*}|[^,}]*)").matcher(out);
            assertThat(m.find()).as("key %s in %s", key, out).isTrue();
            return m.group(1);
        }

        /** A number inside a JSON object value, e.g. {@code number("latency_answered_us", "p99")}. */
        double number(String object, String key) {
            Matcher m = Pattern.compile("\"" + key + "\":(-?[0-9.]+)").matcher(value(object));
            assertThat(m.find()).as("key %s in %s", key, value(object)).isTrue();
            return Double.parseDouble(m.group(1));
        }
    }

    static Run client(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        StringWriter usage = new StringWriter();
        var cl = Cli.commandLine(new ClientCommand(new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8)));
        cl.setErr(new PrintWriter(usage, true));
        long start = System.nanoTime();
        int status = cl.execute(args);
        return new Run(status, out.toString(StandardCharsets.UTF_8),
                err.toString(StandardCharsets.UTF_8) + usage, (System.nanoTime() - start) / 1_000_000);
    }

    static String[] args(FaultyEchoServer server, String... more) {
        List<String> all = new ArrayList<>(List.of("--port", Integer.toString(server.port()), "--json"));
        all.addAll(List.of(more));
        return all.toArray(String[]::new);
    }

    @Test
    void countsEveryMessageAgainstACorrectServer() throws Exception {
        try (FaultyEchoServer server = new FaultyEchoServer(Fault.NONE)) {
            Run run = client(args(server, "--connections", "4", "--messages", "2000", "--size", "100"));
            assertThat(run.status()).as(run.err()).isZero();
            assertThat(run.number("messages")).isEqualTo(2000);
            assertThat(run.number("connected")).isEqualTo(4);
            assertThat(run.out()).contains("\"mode\":\"persistent\"", "\"connections\":4", "\"size\":100",
                    "\"duration_s\":", "\"msgs_per_s\":", "\"mb_per_s\":", "\"latency_us\":{\"p50\":",
                    "\"p90\":", "\"p99\":", "\"p999\":", "\"max\":", "\"connect_us\":null",
                    "\"errors\":{\"refused\":0,\"reset\":0,\"timeout\":0,\"eof\":0,\"mismatch\":0}",
                    "\"client_cpu_us_per_msg\":");
            assertThat(run.number("p50")).isPositive();
        }
    }

    @Test
    void countsAndSizesTakeUnits() throws Exception {
        try (FaultyEchoServer server = new FaultyEchoServer(Fault.NONE)) {
            Run run = client(args(server, "--connections", "2", "--messages", "1.5k", "--size", "1KiB"));
            assertThat(run.status()).as(run.err()).isZero();
            assertThat(run.number("messages")).isEqualTo(1500);
            assertThat(run.number("size")).isEqualTo(1024);
        }
    }

    @Test
    void pipelinesAndLargeMessagesStayByteExact() throws Exception {
        try (FaultyEchoServer server = new FaultyEchoServer(Fault.NONE)) {
            Run piped = client(args(server, "--connections", "3", "--messages", "3000", "--pipeline", "8", "--size", "1000"));
            assertThat(piped.status()).as(piped.err()).isZero();
            assertThat(piped.number("messages")).isEqualTo(3000);
            // 1 MiB messages do not fit a socket buffer: partial writes and reads on both sides.
            Run large = client(args(server, "--connections", "2", "--messages", "20", "--size", Integer.toString(1 << 20)));
            assertThat(large.status()).as(large.err()).isZero();
            assertThat(large.number("messages")).isEqualTo(20);
        }
    }

    @ParameterizedTest(name = "{0} is counted as {1}")
    @CsvSource({"FLIP, mismatch", "DROP, mismatch", "CLOSE_EARLY, eof", "STALL, timeout", "WITHHOLD, timeout", "RESET, reset"})
    void detectsEachFaultByKind(Fault fault, String kind) throws Exception {
        try (FaultyEchoServer server = new FaultyEchoServer(fault)) {
            Run run = client(args(server, "--connections", "2", "--duration", "3s", "--warmup", "0", "--timeout", "500ms"));
            assertThat(run.status()).as(run.out()).isEqualTo(1);
            assertThat(run.number(kind)).as(run.out()).isPositive();
            assertThat(run.out()).contains("\"first_errors\":{").contains("\"" + kind + "\":\"connection ");
            if (kind.equals("mismatch")) {
                assertThat(run.out()).contains("byte 10 of 64");
            }
            assertThat(run.millis()).as("a faulty run is bounded by its duration").isLessThan(20_000);
        }
    }

    @Test
    void theHumanSummaryNamesTheFirstErrorOfEachKind() throws Exception {
        try (FaultyEchoServer server = new FaultyEchoServer(Fault.FLIP)) {
            Run run = client("--port", Integer.toString(server.port()), "--connections", "1", "--messages", "5");
            assertThat(run.status()).isEqualTo(1);
            assertThat(run.out()).contains("errors       refused 0, reset 0, timeout 0, eof 0, mismatch 1")
                    .contains("first mismatch: connection 0, message 0, byte 10 of 64 (stream offset 10)");
        }
    }

    @Test
    void aRefusedServerIsOneLineAndExitOneQuickly() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Run run = client("--port", Integer.toString(port), "--connections", "50", "--duration", "30s");
        assertThat(run.status()).isEqualTo(1);
        assertThat(run.err().strip()).startsWith("client: could not connect to 127.0.0.1:" + port)
                .contains("refused").doesNotContain("\n");
        assertThat(run.out()).isEmpty();
        assertThat(run.millis()).as("refusal is reported without waiting out --duration").isLessThan(10_000);
    }

    @Test
    void allowErrorsStillCountsThem() throws Exception {
        // The fourth 64-byte message comes back with a flipped bit; three were answered.
        try (FaultyEchoServer server = new FaultyEchoServer(Fault.FLIP, 200)) {
            Run run = client(args(server, "--connections", "1", "--messages", "5", "--allow-errors"));
            assertThat(run.status()).as(run.err()).isZero();
            assertThat(run.number("mismatch")).isEqualTo(1);
            assertThat(run.number("messages")).isEqualTo(3);
            assertThat(run.err().strip()).matches("client: 1 message went unanswered \\(the reply timeout is 5.0 s\\); "
                    + "the oldest waited \\d+ ms");
        }
    }

    @Test
    void churnOpensAConnectionPerExchangeAndTimesTheConnect() throws Exception {
        try (FaultyEchoServer server = new FaultyEchoServer(Fault.NONE)) {
            Run run = client(args(server, "--mode", "churn", "--connections", "4", "--messages", "300", "--size", "4096"));
            assertThat(run.status()).as(run.err()).isZero();
            assertThat(run.number("messages")).isEqualTo(300);
            assertThat(run.number("connected")).isEqualTo(300);
            assertThat(run.out()).contains("\"mode\":\"churn\"").contains("\"connect_us\":{\"p50\":");
        }
    }

    /*
     * Open loop: what the client controls is its schedule, not how fast this machine answers. Message m of
     * a connection is due at a fixed time, every message due in the window is one latency sample (answered,
     * or unanswered at the ceiling), so the samples of a run are exactly the messages its schedule put in
     * the window, however busy the machine was; a slow reply shows as latency, a lost one as unanswered.
     */

    @Test
    void holdKeepsConnectionsOpenAndSendsOnePerInterval() throws Exception {
        try (FaultyEchoServer server = new FaultyEchoServer(Fault.NONE)) {
            Run run = client(args(server, "--mode", "hold", "--connections", "200", "--interval", "250ms",
                    "--duration", "2s", "--warmup", "0", "--connect-rate", "1000"));
            assertThat(run.status()).as(run.err()).isZero();
            assertThat(run.number("connected")).isEqualTo(200);
            assertThat(run.out()).contains("\"connect_us\":{\"p50\":").contains("\"rate\":800");
            // 200 connections × one per 250 ms × 2 s: 1,600 due in the window, each answered byte-exact.
            assertThat(run.number("of")).as("messages due in the window").isEqualTo(1600);
            assertThat(run.number("unanswered")).isZero();
            assertThat(run.number("samples")).as("censored samples").isZero();
        }
    }

    @Test
    void rateModeSchedulesExactlyItsRateAndAccountsForEveryMessage() throws Exception {
        try (FaultyEchoServer server = new FaultyEchoServer(Fault.NONE)) {
            Run run = client(args(server, "--connections", "20", "--rate", "2000", "--duration", "3s", "--warmup", "500ms"));
            assertThat(run.status()).as(run.err()).isZero();
            assertThat(run.number("rate")).isEqualTo(2000);
            assertThat(run.number("duration_s")).as("the window it measured").isEqualTo(3);
            // 20 connections, each one message every 10 ms: 6,000 due in 3 s, each answered byte-exact (status
            // 0: no mismatch, no timeout), none left unanswered.
            assertThat(run.number("of")).as("messages due in the window").isEqualTo(6000);
            assertThat(run.number("unanswered")).isZero();
            // The schedule it kept is reported, whatever it was.
            assertThat(run.out()).containsPattern("\"send_lag_us\":\\{\"p50\":[0-9.]+,\"p99\":[0-9.]+,\"client_limited\":(true|false)}");
        }
    }

    @Test
    void aServerThatFallsBehindShowsItAsLatencyInOpenLoop() throws Exception {
        // A stalling server answers nothing; with an open loop every message due in the window counts,
        // unanswered, at the ceiling (window + timeout), so the run reports it as latency too.
        try (FaultyEchoServer server = new FaultyEchoServer(Fault.STALL)) {
            Run run = client(args(server, "--connections", "2", "--rate", "100", "--duration", "2s",
                    "--warmup", "0", "--timeout", "300ms"));
            assertThat(run.status()).isEqualTo(1);
            assertThat(run.number("timeout")).isPositive();
            assertThat(run.number("messages")).isZero();
            // 100 msgs/s for as long as it ran (both connections timed out after 300 ms and the run ended
            // with them, short of the 2 s asked for): every message due by then unanswered, each one
            // censored sample.
            double ran = run.number("duration_s");
            assertThat(ran).isLessThan(2);
            assertThat(run.number("unanswered")).isPositive().isBetween(100 * ran - 4, 100 * ran + 4);
            assertThat(run.number("samples")).isEqualTo(run.number("unanswered"));
            assertThat(run.number("ceiling_us")).isEqualTo(2_300_000);
            assertThat(run.out()).contains("\"percentiles\":[\"p50\",\"p90\",\"p99\",\"p999\",\"p9999\",\"max\",\"mean\"]");
            assertThat(run.number("p50")).isEqualTo(2_300_000);
            assertThat(run.value("latency_answered_us")).as("nothing answered").isEqualTo("null");
        }
    }

    /** A client that waited for the withheld replies for ever would be caught by the timeout (a hang, not a speed). */
    @ParameterizedTest(name = "--duration {0}, --warmup {1}")
    @CsvSource({"1s, 0", "3s, 0", "2s, 1s"})
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void aServerThatStopsAnsweringFailsWithEveryUnansweredMessageCounted(String duration, String warmup) throws Exception {
        // It echoes the first 100 bytes of each connection and then never answers again.
        try (FaultyEchoServer server = new FaultyEchoServer(Fault.WITHHOLD, 100)) {
            Run run = client(args(server, "--connections", "4", "--size", "4096", "--duration", duration,
                    "--warmup", warmup, "--timeout", "1s"));
            assertThat(run.status()).as(run.out() + run.err()).isEqualTo(1);
            assertThat(run.err().strip()).startsWith("client: no message was answered in the ")
                    .contains(": 4 messages went unanswered (the reply timeout is 1,000 ms); the oldest waited ")
                    .doesNotContain("\n");
            assertThat(run.number("unanswered")).isEqualTo(4);
            assertThat(run.number("timeout")).isEqualTo(4);
            assertThat(run.number("oldest_unanswered_ms")).isGreaterThanOrEqualTo(1000);
            double asked = Cli.parseDuration(duration).toMillis() / 1000.0;
            assertThat(run.number("duration_s")).as("the window, never stretched by the wait").isLessThanOrEqualTo(asked);
            if (asked > 2) {
                assertThat(run.number("duration_s")).as("every connection failed after 1 s: the time it ran")
                        .isLessThan(asked);
                assertThat(run.err()).contains("(of 3.0 s asked for: it ended when every connection had failed)");
            }
        }
    }

    @Test
    void nobodyListeningMeasuresNothingAndSaysNullNotZero() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Run run = client("--port", Integer.toString(port), "--json", "--connections", "3", "--duration", "10s");
        assertThat(run.status()).isEqualTo(1);
        assertThat(run.number("connected")).isZero();
        assertThat(run.number("duration_s")).as("the time actually run, not the 10 s asked for").isLessThan(10);
        assertThat(run.value("msgs_per_s")).isEqualTo("null");
        assertThat(run.value("mb_per_s")).isEqualTo("null");
        assertThat(run.value("latency_us")).isEqualTo("{\"p50\":null,\"p90\":null,\"p99\":null,\"p999\":null,"
                + "\"p9999\":null,\"max\":null,\"mean\":null}");
        assertThat(run.number("samples")).as("no censored latency: nothing was sent").isZero();
        assertThat(run.value("client_cpu_us_per_msg")).isEqualTo("null");
        assertThat(run.number("refused")).isEqualTo(3);
    }

    @Test
    void aServerThatAcceptsAndNeverReadsIsReportedForTheTimeTheRunLasted() throws Exception {
        // The kernel completes the connects into the backlog; nothing ever reads or answers.
        try (ServerSocket silent = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            String port = Integer.toString(silent.getLocalPort());
            Run run = client("--port", port, "--json", "--connections", "2", "--duration", "3s", "--timeout", "1s",
                    "--warmup", "0");
            assertThat(run.status()).isEqualTo(1);
            assertThat(run.number("timeout")).isEqualTo(2);
            assertThat(run.number("unanswered")).isEqualTo(2);
            // Both connections timed out after 1 s and the run ended then: that is the time it ran.
            assertThat(run.number("duration_s")).isGreaterThanOrEqualTo(1).isLessThan(3);
            assertThat(run.number("msgs_per_s")).as("connected, and answered nothing: a measured 0").isZero();
            assertThat(run.value("client_cpu_us_per_msg")).as("no message to divide by").isEqualTo("null");
            assertThat(run.value("latency_answered_us")).isEqualTo("null");
            assertThat(run.err()).contains("(of 3.0 s asked for: it ended when every connection had failed)");

            Run text = client("--port", port, "--connections", "1", "--duration", "3s", "--timeout", "1s", "--warmup", "0");
            assertThat(text.out()).startsWith("persistent: 1 connection (1 connected), 64 B messages")
                    .containsPattern("messages     0 in 1\\.\\d\\d s: 0 msgs/s, 0 B/s")
                    .contains("client CPU   n/a");
        }
    }

    @Test
    void openLoopBelowAMillisecondAPeriodLeavesNothingUnansweredThatWasAnswered() throws Exception {
        // 10,000 msgs/s per connection: a message every 100 us, ten to each 1 ms tick of the schedule. The
        // messages due on the tick that closes the window used to be counted as due in it, then unanswered,
        // with no error and a maximum at the 6.5 s ceiling: unanswered, errors and maximum must agree.
        try (FaultyEchoServer server = new FaultyEchoServer(Fault.NONE)) {
            for (String warmup : List.of("0", "300ms")) {
                Run run = client(args(server, "--connections", "2", "--rate", "20000", "--duration", "1s",
                        "--warmup", warmup));
                assertThat(run.number("unanswered")).as(run.out()).isZero();
                assertThat(run.number("samples")).isZero();
                assertThat(run.value("oldest_unanswered_ms")).isEqualTo("null");
                assertThat(run.out()).contains("\"percentiles\":[]");
                assertThat(run.number("of")).as("due in the window: 20,000 less those due on its closing tick")
                        .isBetween(19_900.0, 20_000.0);
                assertThat(run.status()).as(run.err()).isZero();
            }
        }
    }

    @Test
    void theProgressLineCountsTheMeasuredWindowAndLabelsTheWarmUp() throws Exception {
        try (FaultyEchoServer server = new FaultyEchoServer(Fault.NONE)) {
            Run run = client(args(server, "--connections", "2", "--warmup", "2s", "--duration", "1500ms", "--progress"));
            assertThat(run.status()).as(run.err()).isZero();
            long messages = (long) run.number("messages");
            List<String> lines = run.err().lines().filter(l -> l.matches(" *\\d+\\.\\d s  .*")).toList();
            assertThat(lines).as(run.err()).anyMatch(l -> l.contains(" warm-up ")).anyMatch(l -> l.contains(" measured "));
            for (String line : lines) {
                if (line.contains(" measured ")) {
                    Matcher count = Pattern.compile("measured +([0-9,]+) messages").matcher(line);
                    assertThat(count.find()).as(line).isTrue();
                    // The window's own count: never more than the summary's (it used to add the warm-up's).
                    assertThat(Long.parseLong(count.group(1).replace(",", ""))).as(line).isLessThanOrEqualTo(messages);
                }
            }
        }
    }

    @Test
    void repliesStillInFlightWhenTheWindowClosesAreAwaited() throws Exception {
        // 1 MiB messages take a while each: at the window's end some are in flight, and the drain
        // collects them instead of dropping them unseen.
        try (FaultyEchoServer server = new FaultyEchoServer(Fault.NONE)) {
            Run run = client(args(server, "--connections", "4", "--size", Integer.toString(1 << 20),
                    "--duration", "1s", "--warmup", "0"));
            assertThat(run.status()).as(run.out() + run.err()).isZero();
            assertThat(run.number("unanswered")).isZero();
            assertThat(run.number("samples")).isZero();
            assertThat(run.out()).contains("\"percentiles\":[]").contains("\"oldest_unanswered_ms\":null");
        }
    }

    @Test
    void clientsLeftWaitingCountAsTheSlowestLatencyNotAsMissingOnes() throws Exception {
        // One connection at a time, like the iterative rung: 1 of 4 is served, 3 wait until they time out.
        // Their waiting counts as the round trips they were denied, so p99 is unanswered, not fast.
        try (FaultyEchoServer server = new FaultyEchoServer(Fault.ONE_AT_A_TIME)) {
            Run run = client(args(server, "--connections", "4", "--duration", "2s", "--warmup", "0",
                    "--timeout", "500ms"));
            assertThat(run.status()).isEqualTo(1);
            assertThat(run.number("messages")).as(run.out()).isPositive();
            assertThat(run.number("unanswered")).isEqualTo(3);
            assertThat(run.number("samples")).as("censored samples, against %s answered", run.number("messages"))
                    .isGreaterThan(run.number("messages"));
            assertThat(run.out()).contains("\"percentiles\":[\"p50\",\"p90\",\"p99\",\"p999\",\"p9999\",\"max\",\"mean\"]");
            assertThat(run.number("p99")).isEqualTo(500_000);
            // Beside the corrected figure, the answered messages alone: replies that came, within the timeout.
            assertThat(run.number("latency_answered_us", "p99")).isLessThanOrEqualTo(500_000);
            assertThat(run.number("latency_answered_us", "mean")).isPositive()
                    .isLessThan(run.number("latency_us", "mean"));

            Run text = client("--port", Integer.toString(server.port()), "--connections", "4", "--duration", "1s",
                    "--warmup", "0", "--timeout", "500ms", "--allow-errors");
            assertThat(text.status()).as("--allow-errors: some messages were answered").isZero();
            assertThat(text.out()).contains("p99 \u2265 500 ms").contains("max \u2265 500 ms")
                    .containsPattern("\nanswered     p50 [0-9,.]+ [um]s .* mean [0-9,.]+ [um]s  \\(the [0-9,]+ answered alone\\)\n")
                    .containsPattern("unanswered   3 messages, the oldest after \\d+ ms; [0-9,]+ of [0-9,]+ latency samples");
        }
    }

    /** {@code "per_connection":{...}} as written, nested objects included. */
    private static Matcher perConnection(Run run) {
        Matcher m = Pattern.compile("\"per_connection\":\\{\"messages\":\\{\"min\":([0-9.]+),\"median\":([0-9.]+),"
                + "\"max\":([0-9.]+)},\"p99_us\":(null|\\{\"min\":([0-9.]+),\"median\":([0-9.]+),\"max\":([0-9.]+)}),"
                + "\"jain\":([0-9.]+|null)}").matcher(run.out());
        assertThat(m.find()).as("per_connection in %s", run.out()).isTrue();
        return m;
    }

    @Test
    void aServerThatServesOneConnectionAndStarvesTheOthersHasAJainIndexOfOneOverN() throws Exception {
        // One connection at a time: 1 of 4 gets every reply, 3 get none. The total is a healthy rate;
        // per connection it is 0, 0, 0 and everything, an index of exactly 1/4.
        try (FaultyEchoServer server = new FaultyEchoServer(Fault.ONE_AT_A_TIME)) {
            Run run = client(args(server, "--connections", "4", "--duration", "1s", "--warmup", "0",
                    "--timeout", "500ms"));
            assertThat(run.status()).isEqualTo(1);
            Matcher each = perConnection(run);
            assertThat(Double.parseDouble(each.group(1))).as("min").isZero();
            assertThat(Double.parseDouble(each.group(2))).as("median").isZero();
            assertThat(Double.parseDouble(each.group(3))).as("max: the one served got them all")
                    .isEqualTo(run.number("messages")).isPositive();
            assertThat(each.group(5)).as("the one p99 there is").isEqualTo(each.group(7));
            assertThat(Double.parseDouble(each.group(8))).isEqualTo(0.25);
        }
    }

    @Test
    void aServerThatAnswersEveryoneButFavoursSomeHasALowJainIndex() throws Exception {
        // Every connection answered, 1 of 8 at once and 7 of 8 after 20 ms each: no error, a low index.
        try (FaultyEchoServer server = new FaultyEchoServer(Fault.FAVOURS_SOME)) {
            Run run = client(args(server, "--connections", "8", "--duration", "1s", "--warmup", "200ms"));
            assertThat(run.status()).as(run.err()).isZero();
            Matcher each = perConnection(run);
            assertThat(Double.parseDouble(each.group(1))).as("the late ones are answered too").isPositive();
            // At most 50 a second each for the 7 late ones: the favoured one outgrows them many times over.
            assertThat(Double.parseDouble(each.group(3))).isGreaterThan(4 * Double.parseDouble(each.group(2)));
            assertThat(Double.parseDouble(each.group(8))).isLessThan(0.9);

            Run text = client("--port", Integer.toString(server.port()), "--connections", "8", "--duration", "500ms",
                    "--warmup", "0");
            assertThat(text.out()).containsPattern("\nper conn     messages min [0-9,]+  median [0-9,]+  max [0-9,]+; "
                    + "p99 min [0-9,.]+ [um]s  median [0-9,.]+ [um]s  max [0-9,.]+ [um]s; Jain 0\\.[0-9]{3}\n");
        }
    }

    @Test
    void aRunThatAnsweredNothingNeverPasses() throws Exception {
        try (FaultyEchoServer server = new FaultyEchoServer(Fault.STALL)) {
            Run run = client(args(server, "--connections", "2", "--duration", "1s", "--warmup", "0",
                    "--timeout", "300ms", "--allow-errors"));
            assertThat(run.status()).isEqualTo(1);
            // The stalled connections time out after 300 ms, and the run ends with them.
            assertThat(run.err()).containsPattern("client: no message was answered in the [0-9,]+ ms window "
                    + "\\(of 1,000 ms asked for: it ended when every connection had failed\\)");
        }
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "--mode nope | --mode must be persistent, churn or hold",
            "--size 0 | --size must be",
            "--connections x | '--connections'",
            "--interval 1s | --interval applies to --mode hold only",
            "--mode churn --pipeline 4 | --pipeline does not apply to churn",
            "--connections 900000 | descriptors",
            "--bogus | --bogus",
            "--rate 0 | --rate must be more than 0",
            "--rate 1e12 | --rate 1,000,000,000,000 msgs/s cannot be scheduled on 10 connections",
            "--mode hold --interval 0.5us | --interval must be at least 1us",
            "--connections 5q | '5q' is not a number",
            "--mode persistant | (did you mean 'persistent'?)",
            "--conections 5 | unknown option '--conections' (did you mean '--connections'?)"})
    void badArgumentsExitTwoWithOneLine(String arguments, String message) {
        Run run = client(arguments.split(" "));
        assertThat(run.status()).isEqualTo(2);
        assertThat(run.err().strip()).contains(message).doesNotContain("\n").doesNotContain("Exception");
    }
}
