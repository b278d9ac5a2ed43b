package io.echoladder.epoll;

import io.echoladder.client.conformance.RungConformanceSuite;

class NettyEpollEchoServerTest extends RungConformanceSuite {

    @Override
    protected String rung() {
        return "netty-epoll";
    }

    @Override
    protected boolean servesConcurrently() {
        return true;
    }
}
