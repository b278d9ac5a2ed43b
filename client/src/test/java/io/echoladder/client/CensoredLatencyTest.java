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
        LoadReport report = new LoadReport(spec(0), 10, 2, 980, latency, histogram(), new Errors(), 1.0, 0, 0,
                new LoadReport.Unanswered(2, 1_003 * MS, 20, 1_000 * MS), histogram());
        assertThat(report.latencyText(50)).isEqualTo("250 us");
        assertThat(report.latencyText(99)).isEqualTo("\u2265 1,000 ms");
        assertThat(report.percentileUs(99)).isEqualTo(1_000_000);
        assertThat(report.toText()).contains("p50 250 us").contains("p99 \u2265 1,000 ms").contains("max \u2265 1,000 ms")
                .contains("unanswered   2 messages, the oldest after 1,003 ms; 20 of 1,000 latency samples");
        assertThat(report.toJson()).containsPattern("\"latency_us\":\\{\"p50\":250\\.\\d+,\"p90\":250\\.\\d+,\"p99\":1000000,\"p999\":1000000,\"max\":1000000}")
                .contains("\"latency_censored\":{\"samples\":20,\"of\":1000,\"ceiling_us\":1000000,\"percentiles\":[\"p99\",\"p999\",\"max\"]}")
                .contains("\"unanswered\":2,\"oldest_unanswered_ms\":1003");
        assertThat(report.failed()).isTrue();
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
