package io.echoladder.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;

/** How unanswered messages enter the latency figures: counted, at the ceiling, and shown as lower bounds. */
class CensoredLatencyTest {

    private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);

    private static LoadSpec spec(double rate) {
        return new LoadSpec(LoadSpec.Mode.PERSISTENT, new InetSocketAddress("127.0.0.1", 7), 10, 64,
                Duration.ofSeconds(2), 0, Duration.ZERO, 1, 1, rate, Duration.ofSeconds(1), 0, Duration.ofSeconds(1), 1);
    }

    /** {@code messages} shared as evenly as they go over {@code connections}, each answered in 50 us. */
    private static LoadReport.PerConnection evenly(int connections, long messages) {
        long[] each = new long[connections];
        double[] p99 = new double[connections];
        for (int c = 0; c < connections; c++) {
            each[c] = messages / connections + (c < messages % connections ? 1 : 0);
            p99[c] = each[c] > 0 ? 50 : Double.NaN;
        }
        return LoadReport.PerConnection.of(each, p99);
    }

    private static Histogram histogram() {
        return new Histogram(TimeUnit.HOURS.toNanos(1), 3);
    }

    @Test
    void aPercentileIsCensoredExactlyWhenItsRankFallsAmongTheUnansweredSamples() {
        Histogram latency = histogram();
        latency.recordValueWithCount(100_000, 900); // 900 answered at 100 us
        latency.recordValueWithCount(1_000 * MS, 100); // 100 unanswered at the 1 s ceiling
        assertThat(LoadReport.censored(latency, 100, 50)).isFalse();
        assertThat(LoadReport.censored(latency, 100, 90)).as("rank 900 is the last answered sample").isFalse();
        assertThat(LoadReport.censored(latency, 100, 90.1)).isTrue();
        assertThat(LoadReport.censored(latency, 100, 99)).isTrue();
        assertThat(LoadReport.censored(latency, 100, 100)).as("the maximum").isTrue();
        assertThat(LoadReport.censored(latency, 0, 100)).as("nothing unanswered").isFalse();
    }

    @Test
    void textAndJsonShowACensoredPercentileAsALowerBoundAtTheCeiling() {
        Histogram latency = histogram();
        latency.recordValueWithCount(250_000, 980);
        latency.recordValueWithCount(1_000 * MS, 20);
        Histogram answered = histogram();
        answered.recordValueWithCount(250_000, 980);
        LoadReport report = new LoadReport(spec(0), 10, 2, 980, latency, histogram(), new Errors(), 1.0, 0, 0,
                new LoadReport.Unanswered(2, 1_003 * MS, 20, 1_000 * MS), histogram(), answered, evenly(10, 980));
        assertThat(report.latencyText(50)).isEqualTo("250 us");
        assertThat(report.latencyText(99)).isEqualTo("\u2265 1,000 ms");
        assertThat(report.percentileUs(99)).isEqualTo(1_000_000);
        assertThat(report.toText()).contains("p50 250 us").contains("p99 \u2265 1,000 ms").contains("max \u2265 1,000 ms")
                .contains("p99.99 \u2265 1,000 ms").containsPattern("mean \u2265 2[0-9.]+ ms")
                .contains("unanswered   2 messages, the oldest after 1,003 ms; 20 of 1,000 latency samples")
                // The answered messages alone, beside the corrected figure, labelled.
                .containsPattern("answered     p50 250 us  p90 250 us  p99 250 us  p99.9 250 us  p99.99 250 us  max 250 us"
                        + "  mean 250 us  \\(the 980 answered alone\\)");
        assertThat(report.toJson()).containsPattern("\"latency_us\":\\{\"p50\":250\\.\\d+,\"p90\":250\\.\\d+,\"p99\":1000000,"
                        + "\"p999\":1000000,\"p9999\":1000000,\"max\":1000000,\"mean\":2[0-9]{4}\\.\\d+}")
                .contains("\"latency_censored\":{\"samples\":20,\"of\":1000,\"ceiling_us\":1000000,"
                        + "\"percentiles\":[\"p99\",\"p999\",\"p9999\",\"max\",\"mean\"]}")
                .containsPattern("\"latency_answered_us\":\\{\"p50\":250\\.\\d+,\"p90\":250\\.\\d+,\"p99\":250\\.\\d+,"
                        + "\"p999\":250\\.\\d+,\"p9999\":250\\.\\d+,\"max\":250\\.\\d+,\"mean\":250\\.\\d+}")
                .contains("\"unanswered\":2,\"oldest_unanswered_ms\":1003");
        assertThat(report.failed()).isTrue();
    }

    @Test
    void aRunThatMeasuredNothingSaysNullAndNotApplicableNotZero() {
        // Nobody listening: no connection, nothing sent, the window closed at once.
        Errors errors = new Errors();
        errors.record(Errors.Kind.REFUSED, "connection 0: connect to 127.0.0.1:7 failed: Connection refused");
        LoadReport report = new LoadReport(spec(0), 0, 0.002, 0, histogram(), histogram(), errors, Double.NaN, 0, 0,
                LoadReport.Unanswered.NONE, histogram(), histogram(), evenly(10, 0));
        assertThat(report.toJson()).contains("\"duration_s\":0.002,").contains("\"msgs_per_s\":null,\"mb_per_s\":null,")
                .contains("\"latency_us\":{\"p50\":null,\"p90\":null,\"p99\":null,\"p999\":null,\"p9999\":null,"
                        + "\"max\":null,\"mean\":null}")
                .contains("\"latency_answered_us\":null").contains("\"client_cpu_us_per_msg\":null");
        assertThat(report.toText()).contains("messages     0 in 0.00 s: n/a msgs/s, n/a MB/s")
                .contains("latency      n/a\n").contains("client CPU   n/a");
        assertThat(report.latencyText(99)).isEqualTo("n/a");
        assertThat(report.messagesPerSecond()).as("the bench's number stays a number").isZero();

        // A server that was there and answered nothing in 1.2 s: that rate is a measurement, 0.
        Histogram latency = histogram();
        latency.recordValueWithCount(1_000 * MS, 2);
        LoadReport stalled = new LoadReport(spec(0), 2, 1.2, 0, latency, histogram(), new Errors(), Double.NaN, 0, 0,
                new LoadReport.Unanswered(2, 1_000 * MS, 2, 1_000 * MS), histogram(), histogram(), evenly(10, 0));
        assertThat(stalled.toJson()).contains("\"msgs_per_s\":0,\"mb_per_s\":0,").contains("\"latency_answered_us\":null")
                .contains("\"client_cpu_us_per_msg\":null");
        assertThat(stalled.toText()).contains("p50 \u2265 1,000 ms").doesNotContain("answered     ");
    }

    @Test
    void numbersForPeopleHaveSeparatorsUnitsAndSingulars() {
        assertThat(LoadReport.count(1, "connection")).isEqualTo("1 connection");
        assertThat(LoadReport.count(10_000, "connection")).isEqualTo("10,000 connections");
        assertThat(LoadReport.bytes(64)).isEqualTo("64 B");
        assertThat(LoadReport.bytes(1 << 20)).isEqualTo("1 MiB (1,048,576 B)");
        assertThat(LoadReport.bytesPerSecond(7_421_000)).isEqualTo("7.42 MB/s");
        assertThat(LoadReport.bytesPerSecond(640_000)).isEqualTo("640 kB/s");
        assertThat(LoadReport.bytesPerSecond(6_400)).as("100 msgs/s of 64 B, not 0.01 MB/s").isEqualTo("6.40 kB/s");
        assertThat(LoadReport.bytesPerSecond(64)).isEqualTo("64 B/s");
        assertThat(LoadReport.bytesPerSecond(12_345_678_901.0)).isEqualTo("12.3 GB/s");
        assertThat(LoadReport.millis(1_000 * MS)).isEqualTo("1,000 ms");
        LoadSpec one = new LoadSpec(LoadSpec.Mode.PERSISTENT, new InetSocketAddress("127.0.0.1", 7), 1, 64,
                Duration.ofSeconds(1), 0, Duration.ZERO, 1, 1, 0, Duration.ofSeconds(1), 0, Duration.ofSeconds(1), 1);
        Histogram latency = histogram();
        latency.recordValueWithCount(50_000, 100);
        LoadReport report = new LoadReport(one, 1, 1, 100, latency, histogram(), new Errors(), 12.5, 0, 0,
                LoadReport.Unanswered.NONE, histogram(), latency, evenly(1, 100));
        assertThat(report.toText()).startsWith("persistent: 1 connection (1 connected), 64 B messages, closed loop, pipeline 1, 1 thread\n")
                .contains("messages     100 in 1.00 s: 100 msgs/s, 6.40 kB/s").doesNotContain("answered     ");
    }

    @Test
    void theProgressLineSaysWhetherItCountsTheWarmUpOrTheWindow() {
        assertThat(LoadClient.progressLine(1.0, false, 601_532, 600_000, 0, false))
                .isEqualTo("  1.0 s  warm-up       601,532 messages     600,000 msgs/s  errors 0");
        assertThat(LoadClient.progressLine(2.0, true, 197_606, 197_000, 1_234, false))
                .isEqualTo("  2.0 s  measured      197,606 messages     197,000 msgs/s  errors 1,234");
        assertThat(LoadClient.progressLine(3.0, true, 197_606, 0, 0, true)).endsWith("(window closed, waiting for replies in flight)");
    }

    @Test
    void closedLoopWaitingCountsOneUnansweredMessagePerMedianRoundTrip() {
        Histogram answered = histogram();
        answered.recordValueWithCount(MS, 1000); // the answered ones took 1 ms
        Histogram denied = histogram();
        denied.recordValue(1_000 * MS); // a connection left waiting for 1 s: 1,000 round trips it did not get
        denied.recordValue(0); // one that gave up right at the window's edge still counts once
        long ceiling = 1_000 * MS;
        assertThat(LoadClient.deniedRoundTrips(denied, answered, ceiling)).isEqualTo(1_001);
        assertThat(LoadClient.deniedRoundTrips(denied, histogram(), ceiling))
                .as("nothing answered: once per ceiling").isEqualTo(2);
    }

    @Test
    void theCeilingIsTheTimeoutInClosedLoopAndWindowPlusTimeoutInOpenLoop() {
        assertThat(LoadClient.ceilingNanos(spec(0))).isEqualTo(1_000 * MS);
        assertThat(LoadClient.ceilingNanos(spec(500))).isEqualTo(3_000 * MS);
    }
}
