package io.echoladder.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.echoladder.client.LoadReport.PerConnection;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;

/** What each connection got: Jain's index and the spread, as the summary and the JSON give them. */
class PerConnectionTest {

    @Test
    void jainIsOneWhenEvenAndOneOverNWhenOneConnectionGetsEverything() {
        assertThat(PerConnection.jain(new long[] {500, 500, 500, 500})).isEqualTo(1.0);
        assertThat(PerConnection.jain(new long[] {7})).isEqualTo(1.0);
        assertThat(PerConnection.jain(new long[] {1000, 0, 0, 0})).isEqualTo(0.25);
        assertThat(PerConnection.jain(new long[10_000])).as("nothing to share").isNaN();
        long[] starved = new long[10_000];
        starved[0] = 1_000_000;
        assertThat(PerConnection.jain(starved)).isCloseTo(1e-4, within(1e-12));
        // k of n served evenly, the rest nothing: k/n.
        assertThat(PerConnection.jain(new long[] {300, 300, 300, 0, 0, 0, 0, 0, 0, 0})).isCloseTo(0.3, within(1e-12));
        // Uneven but everyone served: between 1/n and 1 ((1+2+3+4)² / (4·30) = 100/120).
        assertThat(PerConnection.jain(new long[] {1, 2, 3, 4})).isCloseTo(100.0 / 120, within(1e-12));
    }

    @Test
    void theSpreadCountsEveryConnectionAndTheP99sOnlyOfThoseThatGotAReply() {
        PerConnection each = PerConnection.of(new long[] {40, 0, 10, 30},
                new double[] {900, Double.NaN, 1_200, 15_000});
        assertThat(each.connections()).isEqualTo(4);
        assertThat(each.messages()).isEqualTo(new PerConnection.Spread(0, 20, 40));
        assertThat(each.p99Us()).isEqualTo(new PerConnection.Spread(900, 1_200, 15_000));
        assertThat(PerConnection.of(new long[] {0, 0}, new double[] {Double.NaN, Double.NaN}).p99Us()).isNull();
    }

    @Test
    void theSummaryAndTheJsonGiveMinMedianMaxAndTheIndex() {
        LoadSpec spec = new LoadSpec(LoadSpec.Mode.PERSISTENT, new InetSocketAddress("127.0.0.1", 7), 3, 64,
                Duration.ofSeconds(1), 0, Duration.ZERO, 1, 1, 0, Duration.ofSeconds(1), 0, Duration.ofSeconds(1), 1);
        Histogram latency = new Histogram(TimeUnit.HOURS.toNanos(1), 3);
        latency.recordValueWithCount(1_000_000, 3_000);
        PerConnection each = PerConnection.of(new long[] {2_500, 400, 100}, new double[] {1_100, 12_000, 150_000});
        LoadReport report = new LoadReport(spec, 3, 1, 3_000, latency, latency, new Errors(), 1, 0, 0,
                LoadReport.Unanswered.NONE, latency, latency, each);
        assertThat(report.toText()).contains("\nper conn     messages min 100  median 400  max 2,500; "
                + "p99 min 1,100 us  median 12.0 ms  max 150 ms; Jain 0.467\n");
        assertThat(report.toJson()).contains("\"per_connection\":{\"messages\":{\"min\":100,\"median\":400,\"max\":2500},"
                + "\"p99_us\":{\"min\":1100,\"median\":12000,\"max\":150000},\"jain\":0.467}");

        LoadReport nothing = new LoadReport(spec, 0, 0, 0, latency, latency, new Errors(), Double.NaN, 0, 0,
                LoadReport.Unanswered.NONE, latency, latency, PerConnection.of(new long[3], new double[] {
                        Double.NaN, Double.NaN, Double.NaN}));
        assertThat(nothing.toJson()).as("no connection, no rate: nothing measured").contains("\"per_connection\":null");
        assertThat(nothing.toText()).contains("\nper conn     n/a\n");
    }
}
