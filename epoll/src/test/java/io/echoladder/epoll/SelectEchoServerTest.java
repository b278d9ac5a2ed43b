package io.echoladder.epoll;

import io.echoladder.client.conformance.RungConformanceSuite;

class SelectEchoServerTest extends RungConformanceSuite {

    @Override
    protected String rung() {
        return "select";
    }

    @Override
    protected boolean servesConcurrently() {
        return true;
    }
}
