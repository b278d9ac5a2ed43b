package io.echoladder.forked;

import io.echoladder.client.conformance.RungConformanceSuite;
import java.time.Duration;
import java.util.List;

class ProcessPerConnectionEchoServerTest extends RungConformanceSuite {

    @Override
    protected String rung() {
        return "process-per-connection";
    }

    @Override
    protected boolean servesConcurrently() {
        return true;
    }

    /**
     * 100 clients at once mean 100 JVMs starting at once: on 2 cores that takes tens of seconds before the
     * last one echoes its first byte. That is this rung's cost, so the suite waits for it.
     */
    @Override
    protected Duration replyTimeout() {
        return Duration.ofSeconds(90);
    }

    /**
     * Every cycle starts a JVM (about a quarter of a second here), so 1,000 would take four minutes of the
     * default test run; 100 cycles still show whether descriptors leak, in the parent or in children.
     */
    @Override
    protected int descriptorCycles() {
        return 100;
    }

    /** Case 6 sends 100 clients at once: above the default cap of 64 live children. */
    @Override
    protected List<String> serveArguments() {
        return List.of("--max-connections", "128");
    }
}
