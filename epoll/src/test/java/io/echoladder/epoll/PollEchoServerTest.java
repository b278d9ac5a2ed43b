package io.echoladder.epoll;

import io.echoladder.client.conformance.RungConformanceSuite;

class PollEchoServerTest extends RungConformanceSuite {

    @Override
    protected String rung() {
        return "poll";
    }

    @Override
    protected boolean servesConcurrently() {
        return true;
    }
}
