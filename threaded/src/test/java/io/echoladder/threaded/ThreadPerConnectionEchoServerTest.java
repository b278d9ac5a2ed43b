package io.echoladder.threaded;

import io.echoladder.client.conformance.RungConformanceSuite;

class ThreadPerConnectionEchoServerTest extends RungConformanceSuite {

    @Override
    protected String rung() {
        return "thread-per-connection";
    }

    @Override
    protected boolean servesConcurrently() {
        return true;
    }
}
