package io.echoladder.forked;

import io.echoladder.client.conformance.RungConformanceSuite;

class PreforkEchoServerTest extends RungConformanceSuite {

    @Override
    protected String rung() {
        return "prefork";
    }

    @Override
    protected boolean servesConcurrently() {
        return true;
    }
}
