package io.echoladder.forked;

import static org.assertj.core.api.Assertions.assertThat;

import io.echoladder.client.Proc;
import io.echoladder.client.RungProcess;
import io.echoladder.client.conformance.EchoCases;
import io.echoladder.client.conformance.EchoSession;
import io.echoladder.client.conformance.RungConformanceSuite;
import io.echoladder.common.Stats;
import io.echoladder.common.linux.Posix;
import java.time.Duration;
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
            ProcessHandle worker = Proc.tree(server.pid()).stream().filter(p -> p.pid() != server.pid())
                    .findFirst().orElseThrow();
            long old = Posix.setOpenFilesLimit(worker.pid(), Proc.settledLowestFreeFd(worker.pid()));
            try (EchoSession refused = on.connect("client past the worker's limit")) {
                refused.send(new byte[] {1});
                assertThat(refused.awaitClose(Duration.ofSeconds(10))).as("the client the worker could not receive")
                        .isNotNull();
            } finally {
                Posix.setOpenFilesLimit(worker.pid(), old);
            }
            say("after the worker's limit was raised again: " + on.shortMessage());
            assertThat(worker.isAlive()).as("the worker that ran out (pid %d); %s", worker.pid(), server.diagnostics())
                    .isTrue();
            assertThat(server.terminate(Duration.ofSeconds(5))).as(server.diagnostics()).isZero();
            assertThat(exitStats(server).get("counted").get(Stats.TURNED_AWAY).asLong()).isEqualTo(1);
        }
    }
}
