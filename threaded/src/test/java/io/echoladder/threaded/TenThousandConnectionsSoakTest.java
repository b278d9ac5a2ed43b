package io.echoladder.threaded;

import io.echoladder.client.conformance.TenThousandConnections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** C10K: {@code mvn verify -Dsoak -pl threaded -am}. Not in the default run. */
@Tag("soak")
class TenThousandConnectionsSoakTest {

    @ParameterizedTest
    @ValueSource(strings = {"thread-per-connection", "virtual-threads"})
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void holdsTenThousandEchoingConnections(String rung) throws Exception {
        TenThousandConnections.hold(rung, List.of());
    }
}
