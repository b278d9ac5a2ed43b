package io.echoladder.threaded;

import static org.assertj.core.api.Assertions.assertThat;

import io.echoladder.client.LoadClient;
import io.echoladder.client.LoadReport;
import io.echoladder.client.LoadSpec;
import io.echoladder.client.Proc;
import io.echoladder.client.RungProcess;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * C10K for the rungs that claim it: 10,000 connections held open, each echoing one message a second,
 * with zero errors. Client (this JVM) and server are separate processes, each under the 20,000
 * descriptor limit. Not in the default run: {@code mvn verify -Dsoak -pl threaded -am}.
 */
@Tag("soak")
class TenThousandConnectionsSoakTest {

    @ParameterizedTest
    @ValueSource(strings = {"thread-per-connection", "virtual-threads"})
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void holdsTenThousandEchoingConnections(String rung) throws Exception {
        try (RungProcess server = RungProcess.start(rung, List.of())) {
            long rssBefore = Proc.rssBytes(server.pid());
            LoadSpec spec = new LoadSpec(LoadSpec.Mode.HOLD, server.address(), 10_000, 64, Duration.ofSeconds(10),
                    0, Duration.ofSeconds(1), 2, 1, 0, Duration.ofSeconds(5), 2000, Duration.ofSeconds(1), 1);
            LoadReport report = LoadClient.run(spec, System.out);
            long rss = Proc.rssBytes(server.pid());
            long peak = Proc.peakRssBytes(server.pid());
            long threads = Proc.threads(server.pid());
            System.out.printf("[%s] 10,000 held: %s; server RSS %d MiB before, %d MiB held (peak %d MiB), %d threads%n",
                    rung, report.toJson(), rssBefore >> 20, rss >> 20, peak >> 20, threads);
            assertThat(report.connected()).isEqualTo(10_000);
            assertThat(report.errors().total()).as(report.toText()).isZero();
            // Each connection sends once a second for the 10 s window.
            assertThat(report.messages()).isGreaterThan(90_000);
        }
    }
}
