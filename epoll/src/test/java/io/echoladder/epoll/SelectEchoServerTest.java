package io.echoladder.epoll;

import io.echoladder.client.conformance.EchoCases;
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

    /**
     * A horde that, with the JVM's own descriptors, needs descriptors past FD_SETSIZE leaves select none
     * for the clients after it: they are closed at the door (the idle horde of 1,000). Smaller hordes
     * (200 dripping, 500 at once) fit, and the others are served.
     */
    @Override
    protected EchoCases.UnderAHorde underAHorde(int horde) {
        return horde + 64 > 1024 ? EchoCases.UnderAHorde.CLOSES_AT_CAP : EchoCases.UnderAHorde.SERVES_OTHERS;
    }
}
