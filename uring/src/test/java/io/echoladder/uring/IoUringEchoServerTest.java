package io.echoladder.uring;

import io.echoladder.client.conformance.RungConformanceSuite;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(IoUringAvailable.class)
class IoUringEchoServerTest extends RungConformanceSuite {

    @Override
    protected String rung() {
        return "io-uring";
    }

    @Override
    protected boolean servesConcurrently() {
        return true;
    }
}
