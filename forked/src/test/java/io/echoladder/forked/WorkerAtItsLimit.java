package io.echoladder.forked;

import static io.echoladder.client.conformance.RungConformanceSuite.exitStats;
import static org.assertj.core.api.Assertions.assertThat;

import io.echoladder.client.Proc;
import io.echoladder.client.RungProcess;
import io.echoladder.client.conformance.EchoCases;
import io.echoladder.common.Stats;
import io.echoladder.common.linux.Posix;
import java.time.Duration;
import java.util.function.Consumer;

/**
 * The one worker of a process rung brought to its open-files limit on purpose, for the tests of the rungs
 * whose workers take clients themselves ({@code prefork}) or are handed them ({@code prefork-epoll}).
 */
final class WorkerAtItsLimit {

    /** What a test does while the worker is at its limit. */
    interface AtTheLimit {
        void run(ProcessHandle worker) throws Exception;
    }

    private WorkerAtItsLimit() {
    }

    /**
     * Lowers the limit of the server's only worker to the lowest number it has free (what its next
     * descriptor would be), runs {@code atTheLimit}, raises the limit again, and then holds the worker to
     * the policy: it lived, it serves a client again, the server exits 0 and counted exactly one client
     * turned away.
     */
    static void check(RungProcess server, EchoCases on, Consumer<String> say, AtTheLimit atTheLimit)
            throws Exception {
        ProcessHandle worker = Proc.tree(server.pid()).stream().filter(p -> p.pid() != server.pid())
                .findFirst().orElseThrow();
        long old = Posix.setOpenFilesLimit(worker.pid(), Proc.settledLowestFreeFd(worker.pid()));
        try {
            atTheLimit.run(worker);
        } finally {
            Posix.setOpenFilesLimit(worker.pid(), old);
        }
        say.accept("after the worker's limit was raised again: " + on.shortMessage());
        assertThat(worker.isAlive()).as("the worker that ran out (pid %d); %s", worker.pid(), server.diagnostics())
                .isTrue();
        assertThat(server.terminate(Duration.ofSeconds(5))).as(server.diagnostics()).isZero();
        assertThat(exitStats(server).get("counted").get(Stats.TURNED_AWAY).asLong()).isEqualTo(1);
    }

    /** A client past the limit sends a byte and must be closed, not left waiting. */
    static void aClientPastItIsClosed(EchoCases on) throws Exception {
        try (var refused = on.connect("client past the worker's limit")) {
            refused.send(new byte[] {1});
            assertThat(refused.awaitClose(Duration.ofSeconds(10))).as("the client the worker could not take")
                    .isNotNull();
        }
    }
}
