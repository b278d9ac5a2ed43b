package io.echoladder.epoll;

import static org.assertj.core.api.Assertions.assertThat;

import io.echoladder.client.conformance.TenThousandConnections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** C10K for the raw epoll rungs, within 256 MB: {@code mvn verify -Dsoak -pl epoll -am}. */
@Tag("soak")
class TenThousandConnectionsSoakTest {

    @ParameterizedTest
    @ValueSource(strings = {"epoll", "epoll-oneshot"})
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void holdsTenThousandEchoingConnectionsInAQuarterGigabyte(String rung) throws Exception {
        long rss = TenThousandConnections.hold(rung, List.of());
        assertThat(rss).as("server RSS holding 10,000 connections").isLessThanOrEqualTo(256L * 1000 * 1000);
    }
}
