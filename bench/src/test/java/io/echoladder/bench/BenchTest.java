package io.echoladder.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.echoladder.client.FaultyEchoServer;
import io.echoladder.common.Cli;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Short bench runs against two fast rungs and two outside servers (one that refuses, one that accepts and
 * never answers): scheduling, sampling, report and charts, bad points, and the rule that a server that
 * leaves clients unanswered never reads as fast.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class BenchTest {

    record Run(int status, String progress, String err) {
    }

    static Run bench(String... args) {
        ByteArrayOutputStream progress = new ByteArrayOutputStream();
        StringWriter err = new StringWriter();
        CommandLine cl = Cli.commandLine(new BenchCommand(new PrintStream(progress, true, StandardCharsets.UTF_8)));
        cl.setErr(new PrintWriter(err, true));
        int status = cl.execute(args);
        return new Run(status, progress.toString(StandardCharsets.UTF_8), err.toString());
    }

    /** Accepts every connection and never reads from it: the slowest server there is. */
    static final class Mute implements AutoCloseable {
        final ServerSocket listener = new ServerSocket(0, 1000);
        final List<Socket> held = new ArrayList<>();
        final Thread acceptor = Thread.ofPlatform().daemon().start(() -> {
            try {
                while (true) {
                    Socket s = listener.accept();
                    synchronized (held) {
                        held.add(s);
                    }
                }
            } catch (IOException closed) {
                // the test is over
            }
        });

        Mute() throws IOException {
        }

        @Override
        public void close() throws IOException {
            listener.close();
            synchronized (held) {
                for (Socket s : held) {
                    s.close();
                }
            }
        }
    }

    @Test
    void writesEveryNumberTablesAndChartsAndNeverShowsTheUnansweredAsFast(@TempDir Path out) throws Exception {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        Run run;
        try (Mute mute = new Mute()) {
            run = bench("--scenario", "sweep,churn,latency", "--rungs", "epoll,thread-pool", "--connections", "1,20,30000", "--duration", "1s",
                    "--warmup", "300ms", "--load-steps", "50,110", "--also", "nobody=127.0.0.1:" + closedPort,
                    "--also", "mute=127.0.0.1:" + mute.listener.getLocalPort(), "--out", out.toString());
        }
        assertThat(run.status()).as(run.err() + run.progress()).isZero();
        // 4 targets × (3 sweep points + churn + a closed-loop base at 100 connections + two load steps).
        assertThat(run.progress()).contains("bench: 28 points").contains("[28/28]");

        String json = Files.readString(out.resolve("results.json"));
        assertThat(json).contains("\"machine\": {\"cores\": ").contains("\"kernel\": ").contains("\"jdk\": ")
                .contains("\"scenario\": \"sweep\", \"rung\": \"epoll\", \"connections\": 20")
                .contains("\"scenario\": \"churn\", \"rung\": \"thread-pool\"")
                .contains("\"peak_rss_bytes\": ").contains("\"msgs_per_s\":").contains("\"client_cpu_us_per_msg\":")
                .contains("\"syscalls_per_msg\": ").contains("\"context_switches_per_msg\": ")
                .contains("\"latency_censored\":").contains("\"send_lag_us\":");
        // The latency steps are shares of the rung's own closed-loop maximum at 100 connections.
        Matcher base = Pattern.compile("\"scenario\": \"latency\", \"rung\": \"epoll\", \"connections\": 100, "
                + "\"idle\": 0, \"work\": null, \"rate\": null, \"load\": null, .*?\"msgs_per_s\":([0-9.]+)").matcher(json);
        assertThat(base.find()).as(json).isTrue();
        double maximum = Math.max(Bench.MINIMUM_BASE, Double.parseDouble(base.group(1)));
        Matcher half = Pattern.compile("\"scenario\": \"latency\", \"rung\": \"epoll\", \"connections\": 100, "
                + "\"idle\": 0, \"work\": null, \"rate\": ([0-9.]+), \"load\": 0.5,").matcher(json);
        assertThat(half.find()).as(json).isTrue();
        assertThat(Double.parseDouble(half.group(1))).isCloseTo(maximum / 2, org.assertj.core.data.Offset.offset(1.0));
        // The descriptor limit: recorded, not attempted.
        assertThat(json).contains("\"connections\": 30000").contains("skipped: 30000 connections need more descriptors");
        // A pooled rung's accept distribution comes from its --stats lines.
        assertThat(json).contains("\"served_per_worker\": \"served per worker: worker-0=");
        // ... as data too: each worker's share of the connections, and Jain's index over the workers.
        Matcher accept = Pattern.compile("\"scenario\": \"churn\", \"rung\": \"thread-pool\".*?\"accept_share\": "
                + "\\{\"worker-0\": [0-9.]+, .*?}, \"accept_jain\": ([0-9.]+)}").matcher(json);
        assertThat(accept.find()).as(json).isTrue();
        assertThat(Double.parseDouble(accept.group(1))).isBetween(0.0, 1.0);
        // What each connection got, from every point where a rate was measured.
        assertThat(json).contains("\"per_connection\":{\"messages\":{\"min\":");
        // The mute server left every client unanswered, at every point that ran (30,000 was skipped).
        assertThat(json).contains("\"rung\": \"mute\"");
        assertThat(json.lines().filter(l -> l.contains("\"rung\": \"mute\"") && l.contains("\"client\": {")))
                .hasSize(6).allMatch(l -> l.contains("\"left_clients_unanswered\": true"), "left clients unanswered");
        assertThat(json.lines().filter(l -> l.contains("\"rung\": \"epoll\"") && l.contains("\"scenario\": \"sweep\"")
                && l.contains("\"client\": {"))).allMatch(l -> l.contains("\"left_clients_unanswered\": false"), "answered all");

        String md = Files.readString(out.resolve("report.md"));
        assertThat(md).contains("## Throughput").contains("| `epoll` |").contains("| `thread-pool` |")
                .contains("## Churn").contains("## Latency against offered load").contains("## Accept distribution")
                .contains("## System calls per message").contains("## Points that did not run cleanly")
                .contains("`nobody`").contains("## What the numbers show");
        // In every table, the mute server's row says it left clients unanswered, never a rate or a short latency.
        String throughput = section(md, "## Throughput");
        assertThat(row(throughput, "mute")).contains("✗ 1 unanswered").contains("✗ 20 unanswered").doesNotContain("| 0 |");
        String p99 = section(md, "## p99 latency");
        assertThat(row(p99, "mute")).contains("≥ 500 ms");
        assertThat(row(p99, "epoll")).doesNotContain("≥");
        assertThat(row(section(md, "## Latency against offered load"), "mute")).contains("≥");
        assertThat(md).contains("`mute` first left clients unanswered at 1 connections");
        // Beside each rate, how evenly the connections got it: Jain's index and fewest / median / most.
        assertThat(row(throughput, "epoll")).containsPattern("\\| [0-9,]+ · J [01]\\.[0-9]{3} \\([0-9,]+ / [0-9,]+ / [0-9,]+\\) \\|");
        assertThat(row(section(md, "## Accept distribution"), "thread-pool")).containsPattern("worker-0 [0-9]+%.* \\| [01]\\.[0-9]{3} \\|$");

        for (String chart : new String[] {"throughput.png", "latency-p99.png", "rss.png", "cpu-per-message.png",
                "syscalls-per-message.png", "latency-vs-load-p99.png", "latency-vs-load-p50.png", "churn-cpu.png",
                "fairness.png"}) {
            assertThat(out.resolve(chart)).exists();
            assertThat(Files.readAllBytes(out.resolve(chart))).startsWith((byte) 0x89, (byte) 'P', (byte) 'N', (byte) 'G');
        }
    }

    /**
     * A server that answers every client but one in eight at once and the rest 20 ms late: no error and a
     * healthy total, so only the count per connection shows it. The throughput table gives its index, the
     * fairness chart draws it, and a sentence drawn from the numbers says what the total hides.
     */
    @Test
    void aServerThatAnswersEveryoneButUnevenlyGetsALowIndexAChartAndASentence(@TempDir Path out) throws Exception {
        Run run;
        try (FaultyEchoServer unfair = new FaultyEchoServer(FaultyEchoServer.Fault.FAVOURS_SOME)) {
            run = bench("--scenario", "sweep", "--rungs", "epoll", "--connections", "1,16", "--duration", "1s",
                    "--warmup", "300ms", "--also", "unfair=127.0.0.1:" + unfair.port(), "--out", out.toString());
        }
        assertThat(run.status()).as(run.err() + run.progress()).isZero();
        String json = Files.readString(out.resolve("results.json"));
        assertThat(json.lines().filter(l -> l.contains("\"rung\": \"unfair\"") && l.contains("\"client\": {")))
                .hasSize(2).allMatch(l -> l.contains("\"left_clients_unanswered\": false"), "answered everyone")
                .allMatch(l -> l.contains("\"per_connection\":{\"messages\":"), "per connection");

        String md = Files.readString(out.resolve("report.md"));
        String unfairRow = row(section(md, "## Throughput"), "unfair");
        // One connection is trivially even; of 16, the two it favours get far more than the 14 it keeps waiting.
        assertThat(unfairRow).contains("· J 1.000 (");
        Matcher index = Pattern.compile("\\| [0-9,]+ · J (0\\.[0-9]{3}) \\(([0-9,]+) / ([0-9,]+) / ([0-9,]+)\\) \\|$")
                .matcher(unfairRow);
        assertThat(index.find()).as(unfairRow).isTrue();
        assertThat(Double.parseDouble(index.group(1))).isLessThan(BenchReport.UNFAIR);
        assertThat(Long.parseLong(index.group(2).replace(",", ""))).as("the late ones were answered too").isPositive();
        assertThat(md).containsPattern("`unfair` answered every client but not evenly, which its total hides: at 16 "
                + "connections Jain's index 0\\.[0-9]{3}, a connection got [0-9,]+ to [0-9,]+ messages \\(median [0-9,]+\\)\\.")
                .doesNotContain("`unfair` answered every client but not evenly, which its total hides: at 1 connections")
                .contains("![fairness](fairness.png)");
        assertThat(Files.readAllBytes(out.resolve("fairness.png"))).startsWith((byte) 0x89, (byte) 'P', (byte) 'N', (byte) 'G');
    }

    private static String section(String md, String heading) {
        int start = md.indexOf(heading);
        assertThat(start).as("section %s", heading).isNotNegative();
        int end = md.indexOf("\n## ", start + heading.length());
        return md.substring(start, end < 0 ? md.length() : end);
    }

    private static String row(String table, String rung) {
        return table.lines().filter(l -> l.startsWith("| `" + rung + "` |")).findFirst()
                .orElseThrow(() -> new AssertionError("no row for " + rung + " in\n" + table));
    }

    @Test
    void theIdleScenarioHoldsSilentConnectionsBesideTheActiveOnes(@TempDir Path out) throws Exception {
        Run run = bench("--scenario", "idle", "--rungs", "epoll", "--idle", "0,300", "--duration", "500ms",
                "--warmup", "200ms", "--out", out.toString());
        assertThat(run.status()).as(run.err() + run.progress()).isZero();
        assertThat(run.progress()).contains("bench: 2 points").contains("50 conn + 300 idle");
        String json = Files.readString(out.resolve("results.json"));
        assertThat(json).contains("\"scenario\": \"idle\", \"rung\": \"epoll\", \"connections\": 50, \"idle\": 300")
                .doesNotContain("\"scenario\": \"sweep\"");
        // The server held all 300: a peak of at least 350 client descriptors.
        Matcher fds = Pattern.compile("\"idle\": 300, .*?\"fds\": (\\d+)").matcher(json);
        assertThat(fds.find()).isTrue();
        assertThat(Long.parseLong(fds.group(1))).isGreaterThanOrEqualTo(350);
        String md = Files.readString(out.resolve("report.md"));
        assertThat(row(section(md, "### Messages per second"), "epoll")).doesNotContain("✗").doesNotContain("n/a");
        assertThat(out.resolve("idle-cpu-per-message.png")).exists();
    }

    /**
     * Rounds: every target once per round, in turn, a fresh server each time; the report gives each round,
     * the mean and the ratio to the first, and a server that left clients unanswered gets neither.
     */
    @Test
    void roundsRunTheRungsSideBySideAndNeverAverageAwayTheUnanswered(@TempDir Path out) throws Exception {
        Run run;
        try (Mute mute = new Mute()) {
            run = bench("--scenario", "rounds", "--rounds", "2", "--rungs", "epoll,poll", "--connections", "20",
                    "--duration", "500ms", "--warmup", "200ms", "--also", "mute=127.0.0.1:" + mute.listener.getLocalPort(),
                    "--out", out.toString());
        }
        assertThat(run.status()).as(run.err() + run.progress()).isZero();
        // 3 targets × 2 rounds × 1 connection count, the rounds alternating: epoll, poll, mute, epoll, ...
        assertThat(run.progress()).contains("bench: 6 points").contains("[6/6]");
        assertThat(run.progress().lines().filter(l -> l.startsWith("[")).map(l -> l.split("\\s+")[2]
                + (l.contains("round 1") ? " 1" : l.contains("round 2") ? " 2" : "")))
                .containsExactly("epoll 1", "poll 1", "mute 1", "epoll 2", "poll 2", "mute 2");
        String json = Files.readString(out.resolve("results.json"));
        assertThat(json).contains("\"scenario\": \"rounds\", \"rung\": \"epoll\", \"connections\": 20, \"idle\": 0, "
                + "\"work\": null, \"rate\": null, \"load\": null, \"round\": 2,").doesNotContain("\"scenario\": \"sweep\"");

        String md = Files.readString(out.resolve("report.md"));
        String rounds = section(md, "## Side by side: 2 rounds, closed loop, 20 connections");
        assertThat(row(rounds, "epoll")).contains("| 1 | — |").doesNotContain("✗");
        assertThat(row(rounds, "poll")).containsPattern("\\| [0-9.]+× \\| [0-9.]+–[0-9.]+× \\|");
        assertThat(row(rounds, "mute")).contains("✗ 20 unanswered").contains("✗ unanswered in 2 of 2 rounds")
                .doesNotContain("×");
        assertThat(md).containsPattern("Side by side over 2 rounds at 20 connections, against `epoll`: `poll` [0-9.]+×")
                .contains("`mute` left clients unanswered");
    }

    @Test
    void selectRunsWhatFitsUnderFdSetSizeThenTheFirstCountPastIt() {
        Bench.Idle idle = new Bench.Idle(List.of(), List.of(0, 1000, 5000, 10_000), 50);
        int fits = Bench.FD_SETSIZE - 50 - Bench.Idle.JVM_DESCRIPTORS;
        assertThat(idle.counts(Bench.Target.rung("select"))).containsExactly(0, fits, 1000);
        assertThat(idle.counts(Bench.Target.rung("poll"))).containsExactly(0, 1000, 5000, 10_000);
        assertThat(new Bench.Idle(List.of(), List.of(0, 500), 50).counts(Bench.Target.rung("select"))).containsExactly(0, 500);
    }

    @Test
    void theEstimateCountsTheProfilesToo() {
        BenchCommand command = new BenchCommand(new PrintStream(java.io.OutputStream.nullOutputStream()));
        new CommandLine(command).parseArgs("--quick", "--scenario", "sweep,idle", "--rungs", "epoll,poll",
                "--connections", "100", "--idle", "1000", "--profile");
        Bench.Plan plan = command.plan();
        // Each rung at the sweep's 100 connections, and each again at the idle scenario's 1,000.
        assertThat(plan.profiles()).isEqualTo(4);
        // A profile waits out at least its warm-up and its window, whatever --quick says.
        assertThat(plan.profileEstimate()).isGreaterThanOrEqualTo(
                Bench.PROFILE_WARMUP.plus(Bench.PROFILE_WINDOW).multipliedBy(4));
    }

    @Test
    void badArgumentsExitTwoWithOneLine() {
        for (String[] args : new String[][] {{"--rungs", "nope"}, {"--connections", "0"}, {"--also", "nonsense"},
                {"--rates", "-5"}, {"--load-steps", "0"}, {"--scenario", "nope"}, {"--idle", "-1"}, {"--idle", "30000"},
                {"--work", "nap:1ms"}, {"--rounds", "3"}, {"--scenario", "rounds", "--rounds", "0"}}) {
            Run run = bench(args);
            assertThat(run.status()).as(String.join(" ", args)).isEqualTo(2);
            assertThat(run.err().strip()).as(String.join(" ", args)).isNotEmpty().doesNotContain("\n");
        }
    }
}
