package io.echoladder.threaded;

import io.echoladder.client.conformance.RungConformanceSuite;

class VirtualThreadEchoServerTest extends RungConformanceSuite {

    @Override
    protected String rung() {
        return "virtual-threads";
    }

    @Override
    protected boolean servesConcurrently() {
        return true;
    }
}
