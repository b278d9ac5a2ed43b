package io.echoladder.forked;

import io.echoladder.client.conformance.RungConformanceSuite;

class PreforkEpollEchoServerTest extends RungConformanceSuite {

    @Override
    protected String rung() {
        return "prefork-epoll";
    }

    @Override
    protected boolean servesConcurrently() {
        return true;
    }
}
