package io.echoladder.uring;

import static org.assertj.core.api.Assertions.assertThat;

import io.echoladder.client.conformance.TenThousandConnections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/** C10K for the io-uring rung, within 256 MB: {@code mvn verify -Dsoak -pl uring -am}. */
@Tag("soak")
@ExtendWith(IoUringAvailable.class)
class TenThousandConnectionsSoakTest {

    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void holdsTenThousandEchoingConnectionsInAQuarterGigabyte() throws Exception {
        long rss = TenThousandConnections.hold("io-uring", List.of());
        assertThat(rss).as("server RSS holding 10,000 connections").isLessThanOrEqualTo(256L * 1000 * 1000);
    }
}
