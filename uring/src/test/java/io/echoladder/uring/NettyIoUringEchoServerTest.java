package io.echoladder.uring;

import io.echoladder.client.conformance.RungConformanceSuite;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(IoUringAvailable.class)
class NettyIoUringEchoServerTest extends RungConformanceSuite {

    @Override
    protected String rung() {
        return "netty-io_uring";
    }

    @Override
    protected boolean servesConcurrently() {
        return true;
    }
}
