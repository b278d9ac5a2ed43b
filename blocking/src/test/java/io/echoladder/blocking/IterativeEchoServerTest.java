package io.echoladder.blocking;

import io.echoladder.client.conformance.RungConformanceSuite;

/** The blocking rung serves one client at a time: the suite asserts that a second client waits. */
class IterativeEchoServerTest extends RungConformanceSuite {

    @Override
    protected String rung() {
        return "blocking";
    }

    @Override
    protected boolean servesConcurrently() {
        return false;
    }
}
