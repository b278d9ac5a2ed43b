package io.echoladder.forked;

import static org.assertj.core.api.Assertions.assertThat;

import io.echoladder.client.RungProcess;
import io.echoladder.client.conformance.EchoCases;
import io.echoladder.client.conformance.RungConformanceSuite;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

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

    /** SO_REUSEPORT would let a second server join the port's group; the rung's guard refuses to start. */
    @Test
    void aSecondServerOnTheSamePortExitsOneNamingThePort() throws Exception {
        try (RungProcess first = RungProcess.start("reuseport", List.of("--workers", "1"))) {
            int port = first.address().getPort();
            RungProcess.Refusal second = RungProcess.runExpectingExit(
                    List.of("reuseport", "--host", "127.0.0.1", "--port", Integer.toString(port), "--workers", "1"),
                    Duration.ofSeconds(60));
            assertThat(second.status()).as("exit status of a second reuseport server on port %d: %s", port,
                    second.output()).isEqualTo(1);
            assertThat(second.output()).isEqualTo("serve: cannot listen on 127.0.0.1:" + port
                    + ": Address already in use (another process has that port: choose another --port, or --port 0 for"
                    + " any free one)");
            new EchoCases(first.address()).shortMessage(); // the first server is untouched
        }
    }

    /** Its {@code --workers} workers each hold one client: a horde holding them all starves the others. */
    @Override
    protected EchoCases.UnderAHorde underAHorde(int horde) {
        return EchoCases.UnderAHorde.STARVES_OTHERS;
    }

    /**
     * Case 20 holds no client: a worker serves one client at a time and never needs a second descriptor,
     * and which worker a client reaches is the hash's choice. Its workers run prefork's accept loop, whose
     * turn-away at the limit {@code PreforkEchoServerTest} shows.
     */
    @Override
    protected int heldAtTheLimit() {
        return 0;
    }
}
