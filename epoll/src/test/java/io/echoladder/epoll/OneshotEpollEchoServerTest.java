package io.echoladder.epoll;

import io.echoladder.client.conformance.RungConformanceSuite;
import java.util.List;

class OneshotEpollEchoServerTest extends RungConformanceSuite {

    @Override
    protected String rung() {
        return "epoll-oneshot";
    }

    @Override
    protected boolean servesConcurrently() {
        return true;
    }

    /** More workers than cores, so events really do move between threads. */
    @Override
    protected List<String> serveArguments() {
        return List.of("--workers", "4");
    }
}
