package io.echoladder.threaded;

import io.echoladder.client.conformance.RungConformanceSuite;

class AcceptorPoolEchoServerTest extends RungConformanceSuite {

    @Override
    protected String rung() {
        return "thread-pool-handoff";
    }

    @Override
    protected boolean servesConcurrently() {
        return true;
    }
}
