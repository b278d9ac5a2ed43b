package io.echoladder.epoll;

import io.echoladder.client.conformance.RungConformanceSuite;

class SelectorEchoServerTest extends RungConformanceSuite {

    @Override
    protected String rung() {
        return "nio-selector";
    }

    @Override
    protected boolean servesConcurrently() {
        return true;
    }
}
