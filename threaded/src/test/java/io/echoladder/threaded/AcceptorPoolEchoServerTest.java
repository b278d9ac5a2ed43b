package io.echoladder.threaded;

import io.echoladder.client.conformance.EchoCases;
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

    /** Its {@code --workers} workers each hold one client: a horde holding them all starves the others. */
    @Override
    protected EchoCases.UnderAHorde underAHorde(int horde) {
        return EchoCases.UnderAHorde.STARVES_OTHERS;
    }

    /** Case 20: half its {@code --workers} (8) hold clients; the others accept into the limit. */
    @Override
    protected int heldAtTheLimit() {
        return 4;
    }
}
