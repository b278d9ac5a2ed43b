package io.echoladder.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.echoladder.common.Cli;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** Short bench runs against two fast rungs: scheduling, /proc sampling, report and charts, bad points. */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
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

    @Test
    void writesEveryNumberTablesAndChartsForEachRungAndScenario(@TempDir Path out) throws Exception {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        Run run = bench("--rungs", "epoll,thread-pool", "--connections", "1,20,30000", "--duration", "1s",
                "--warmup", "300ms", "--rates", "500", "--also", "nobody=127.0.0.1:" + closedPort,
                "--out", out.toString());
        assertThat(run.status()).as(run.err() + run.progress()).isZero();
        // 3 targets × (3 sweep points + churn + one rate).
        assertThat(run.progress()).contains("bench: 15 points").contains("[15/15]");

        String json = Files.readString(out.resolve("results.json"));
        assertThat(json).contains("\"machine\": {\"cores\": ").contains("\"kernel\": ").contains("\"jdk\": ")
                .contains("\"scenario\": \"sweep\", \"rung\": \"epoll\", \"connections\": 20")
                .contains("\"scenario\": \"churn\", \"rung\": \"thread-pool\"")
                .contains("\"scenario\": \"latency\", \"rung\": \"epoll\", \"connections\": 50, \"rate\": 500")
                .contains("\"peak_rss_bytes\": ").contains("\"msgs_per_s\":").contains("\"client_cpu_us_per_msg\":");
        // The descriptor limit: recorded, not attempted.
        assertThat(json).contains("\"connections\": 30000").contains("skipped: 30000 connections need more descriptors");
        // A pooled rung's accept distribution comes from its exit line.
        assertThat(json).contains("\"served_per_worker\": \"served per worker: worker-0=");

        String md = Files.readString(out.resolve("report.md"));
        assertThat(md).contains("## Throughput").contains("| `epoll` |").contains("| `thread-pool` |")
                .contains("## Churn").contains("## Open loop: 500 msgs/s").contains("## Accept distribution")
                .contains("## Points that did not run cleanly").contains("`nobody`")
                .contains("## What the numbers show");
        for (String chart : new String[] {"throughput.png", "latency-p99.png", "rss.png", "cpu-per-message.png", "churn-cpu.png"}) {
            assertThat(out.resolve(chart)).exists();
            assertThat(Files.readAllBytes(out.resolve(chart))).startsWith((byte) 0x89, (byte) 'P', (byte) 'N', (byte) 'G');
        }
    }

    @Test
    void badArgumentsExitTwo() {
        assertThat(bench("--rungs", "nope").status()).isEqualTo(2);
        assertThat(bench("--connections", "0").status()).isEqualTo(2);
        assertThat(bench("--also", "nonsense").status()).isEqualTo(2);
        Run run = bench("--rates", "-5");
        assertThat(run.status()).isEqualTo(2);
        assertThat(run.err().strip()).doesNotContain("\n");
    }
}
