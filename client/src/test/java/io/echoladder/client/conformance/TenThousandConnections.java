package io.echoladder.client.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import io.echoladder.client.LoadClient;
import io.echoladder.client.LoadReport;
import io.echoladder.client.LoadSpec;
import io.echoladder.client.Proc;
import io.echoladder.client.RungProcess;
import java.time.Duration;
import java.util.List;

/**
 * C10K for a rung that claims it: 10,000 connections held open, each echoing one message a second for
 * 10 s, with zero errors. Client (the test JVM) and server are separate processes, each under the
 * 20,000-descriptor limit. For soak tests, outside the default run.
 */
public final class TenThousandConnections {

    private TenThousandConnections() {
    }

    /**
     * Holds 10,000 connections against a fresh process of {@code rung} and asserts zero errors.
     *
     * @return the server's RSS in bytes while they were held
     */
    public static long hold(String rung, List<String> serveArguments) throws Exception {
        try (RungProcess server = RungProcess.start(rung, serveArguments)) {
            long rssBefore = Proc.rssBytes(server.pid());
            LoadSpec spec = new LoadSpec(LoadSpec.Mode.HOLD, server.address(), 10_000, 64, Duration.ofSeconds(10),
                    0, Duration.ofSeconds(1), 2, 1, 0, Duration.ofSeconds(5), 2000, Duration.ofSeconds(1), 1);
            LoadReport report = LoadClient.run(spec, System.out);
            long rss = Proc.rssBytes(server.pid());
            System.out.printf("[%s] 10,000 held: %s; server RSS %d MiB before, %d MiB held (peak %d MiB), %d threads%n",
                    rung, report.toJson(), rssBefore >> 20, rss >> 20, Proc.peakRssBytes(server.pid()) >> 20,
                    Proc.threads(server.pid()));
            assertThat(report.connected()).isEqualTo(10_000);
            assertThat(report.errors().total()).as(report.toText()).isZero();
            assertThat(report.messages()).as("one message per connection per second for 10 s").isGreaterThan(90_000);
            return rss;
        }
    }
}
