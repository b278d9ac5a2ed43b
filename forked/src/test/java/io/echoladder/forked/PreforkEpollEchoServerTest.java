package io.echoladder.forked;

import io.echoladder.client.RungProcess;
import io.echoladder.client.conformance.EchoCases;
import io.echoladder.client.conformance.RungConformanceSuite;
import java.util.List;
import org.junit.jupiter.api.Test;

class PreforkEpollEchoServerTest extends RungConformanceSuite {

    @Override
    protected String rung() {
        return "prefork-epoll";
    }

    @Override
    protected boolean servesConcurrently() {
        return true;
    }

    /**
     * A worker at its descriptor limit receives the parent's message without its descriptor (MSG_CTRUNC:
     * the kernel drops the fd, and with it the client's last reference). It used to take that for a broken
     * protocol and exit 1, costing every client of that worker; it must turn that one client away, count
     * it, and go on serving.
     */
    @Test
    void aWorkerAtItsDescriptorLimitTurnsTheOneClientAwayAndLives() throws Exception {
        try (RungProcess server = start(List.of("--workers", "1", "--no-startup-image", "--stats", "100ms"))) {
            EchoCases on = new EchoCases(server.address());
            on.shortMessage(); // the worker is up and has served
            WorkerAtItsLimit.check(server, on, this::say, worker -> WorkerAtItsLimit.aClientPastItIsClosed(on));
        }
    }
}
