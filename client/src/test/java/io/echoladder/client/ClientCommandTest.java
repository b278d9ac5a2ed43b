package io.echoladder.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

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
        try (FaultyEchoServer server = new FaultyEchoServer(Fault.FLIP)) {
            Run run = client(args(server, "--connections", "1", "--messages", "5", "--allow-errors"));
            assertThat(run.status()).isZero();
            assertThat(run.number("mismatch")).isEqualTo(1);
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

    @Test
    void holdKeepsConnectionsOpenAndSendsOnePerInterval() throws Exception {
        try (FaultyEchoServer server = new FaultyEchoServer(Fault.NONE)) {
            Run run = client(args(server, "--mode", "hold", "--connections", "200", "--interval", "250ms",
                    "--duration", "2s", "--warmup", "0", "--connect-rate", "1000"));
            assertThat(run.status()).as(run.err()).isZero();
            assertThat(run.number("connected")).isEqualTo(200);
            // 200 connections × 4 per second × 2 s.
            assertThat(run.number("messages")).isCloseTo(1600, within(160.0));
            assertThat(run.out()).contains("\"connect_us\":{\"p50\":").contains("\"rate\":800");
        }
    }

    @Test
    void rateModeHoldsItsRateWithinTenPercent() throws Exception {
        try (FaultyEchoServer server = new FaultyEchoServer(Fault.NONE)) {
            Run run = client(args(server, "--connections", "20", "--rate", "2000", "--duration", "3s", "--warmup", "500ms"));
            assertThat(run.status()).as(run.err()).isZero();
            assertThat(run.number("msgs_per_s")).isCloseTo(2000, within(200.0));
            assertThat(run.number("rate")).isEqualTo(2000);
        }
    }

    @Test
    void aServerThatFallsBehindShowsItAsLatencyInOpenLoop() throws Exception {
        // A stalling server answers nothing; with an open loop every message still counts from its
        // intended time, so the run reports timeouts rather than a quietly lowered rate.
        try (FaultyEchoServer server = new FaultyEchoServer(Fault.STALL)) {
            Run run = client(args(server, "--connections", "2", "--rate", "100", "--duration", "2s",
                    "--warmup", "0", "--timeout", "300ms"));
            assertThat(run.status()).isEqualTo(1);
            assertThat(run.number("timeout")).isPositive();
            assertThat(run.number("messages")).isZero();
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
            "--rate 0 | --rate must be more than 0"})
    void badArgumentsExitTwoWithOneLine(String arguments, String message) {
        Run run = client(arguments.split(" "));
        assertThat(run.status()).isEqualTo(2);
        assertThat(run.err().strip()).contains(message).doesNotContain("\n").doesNotContain("Exception");
    }
}
