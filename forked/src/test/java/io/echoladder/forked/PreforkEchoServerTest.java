package io.echoladder.forked;

import io.echoladder.client.conformance.EchoCases;
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

    /** Its {@code --workers} workers each hold one client: a horde holding them all starves the others. */
    @Override
    protected EchoCases.UnderAHorde underAHorde(int horde) {
        return EchoCases.UnderAHorde.STARVES_OTHERS;
    }

    /** Case 20: every worker (one per core) but one holds a client; the last accepts into the limit. */
    @Override
    protected int heldAtTheLimit() {
        return Math.max(0, Runtime.getRuntime().availableProcessors() - 1);
    }
}
