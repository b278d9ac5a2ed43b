package io.echoladder.forked;

import static org.assertj.core.api.Assertions.assertThat;

import io.echoladder.client.Proc;
import io.echoladder.client.RungProcess;
import io.echoladder.client.conformance.EchoCases;
import io.echoladder.client.conformance.RungConformanceSuite;
import java.util.List;
import org.junit.jupiter.api.Test;

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

    /**
     * Case 20 holds no client here: a worker serves one client at a time and needs one descriptor for it,
     * so the case's limit (what it has open, and room for the one in accept) is never reached by clients.
     * The test below brings one worker to its limit on purpose.
     */
    @Override
    protected int heldAtTheLimit() {
        return 0;
    }

    /**
     * A prefork worker at its descriptor limit (the loop reuseport's workers run too) turns the waiting
     * client away, counts it, and serves again once the limit allows. The worker blocks in accept with the
     * next descriptor number already taken (the kernel takes it before it waits), so the limit is set to
     * that very number: the first client still lands on it, and once that client has left, every accept
     * fails with EMFILE. It used to {@code continue} on any error: a core spun with nobody waiting.
     */
    @Test
    void aWorkerAtItsDescriptorLimitTurnsTheWaitingClientAwayAndLives() throws Exception {
        try (RungProcess server = start(List.of("--workers", "1", "--no-startup-image", "--stats", "100ms"))) {
            EchoCases on = new EchoCases(server.address());
            on.shortMessage(); // the worker is up, has served, and waits in accept again
            WorkerAtItsLimit.check(server, on, this::say, worker -> {
                say("the last client the limit lets in: " + on.shortMessage());
                long cpuBefore = Proc.cpuNanos(worker.pid());
                Thread.sleep(1000); // at its limit with nobody waiting: the worker must pause, not spin
                long cpuMillis = (Proc.cpuNanos(worker.pid()) - cpuBefore) / 1_000_000;
                assertThat(cpuMillis).as("the worker's CPU over 1 s at its limit, nobody waiting").isLessThan(200);
                WorkerAtItsLimit.aClientPastItIsClosed(on);
            });
        }
    }
}
