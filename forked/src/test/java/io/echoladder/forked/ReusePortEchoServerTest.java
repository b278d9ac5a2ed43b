package io.echoladder.forked;

import io.echoladder.client.conformance.RungConformanceSuite;

class ReusePortEchoServerTest extends RungConformanceSuite {

    @Override
    protected String rung() {
        return "reuseport";
    }

    @Override
    protected boolean servesConcurrently() {
        return true;
    }

    /** Which worker gets a client is the kernel's hash of its address: a second client may wait. */
    @Override
    protected boolean concurrencyByHash() {
        return true;
    }
}
