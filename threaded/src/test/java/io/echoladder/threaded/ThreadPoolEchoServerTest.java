package io.echoladder.threaded;

import io.echoladder.client.conformance.RungConformanceSuite;

class ThreadPoolEchoServerTest extends RungConformanceSuite {

    @Override
    protected String rung() {
        return "thread-pool";
    }

    @Override
    protected boolean servesConcurrently() {
        return true;
    }
}
