package io.echoladder.forked;

import static org.assertj.core.api.Assertions.assertThat;

import io.echoladder.client.Proc;
import io.echoladder.client.RungProcess;
import io.echoladder.client.conformance.EchoCases;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** What a process rung owes beyond the echo: isolation of a crashed worker, and no orphans. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class WorkerLifecycleTest {

    @ParameterizedTest
    @ValueSource(strings = {"prefork", "prefork-epoll", "reuseport"})
    void aKilledWorkerIsReplacedAndTheOthersKeepServing(String rung) throws Exception {
        try (RungProcess server = RungProcess.start(rung, List.of("--workers", "2"))) {
            EchoCases cases = new EchoCases(server.address());
            cases.bulk(1 << 20);
            List<ProcessHandle> workers = workers(server, 2);
            ProcessHandle victim = workers.getFirst();
            victim.destroyForcibly(); // SIGKILL: no goodbye
            victim.onExit().get(10, TimeUnit.SECONDS);

            List<ProcessHandle> after = workers(server, 2);
            assertThat(after).doesNotContain(victim);
            assertThat(server.stderr()).contains("(pid " + victim.pid() + ") exited")
                    .contains("starting a replacement");
            for (int i = 0; i < 5; i++) {
                cases.bulk(1 << 20); // byte-exact, whichever worker gets it
            }
            cases.shortMessage();
        }
    }

    /**
     * {@code serve} prints {@code workers: PID PID} after {@code listening on}, so a page's shell block can
     * kill one worker by PID instead of guessing among the launcher's children: the PIDs are exactly the
     * worker processes, and killing the first one leaves the server serving.
     */
    @ParameterizedTest
    @ValueSource(strings = {"prefork", "prefork-epoll", "reuseport"})
    void serveNamesItsWorkersPidsAfterTheListeningLine(String rung) throws Exception {
        try (RungProcess server = RungProcess.start(rung, List.of("--workers", "2"))) {
            List<ProcessHandle> workers = workers(server, 2);
            List<String> lines = server.stdout();
            assertThat(lines).as("stdout after 'listening on'").isNotEmpty();
            assertThat(lines.getFirst()).matches("workers: \\d+ \\d+");
            List<Long> pids = Stream.of(lines.getFirst().substring("workers: ".length()).split(" "))
                    .map(Long::valueOf).toList();
            assertThat(pids).containsExactlyInAnyOrderElementsOf(workers.stream().map(ProcessHandle::pid).toList());

            ProcessHandle victim = ProcessHandle.of(pids.getFirst()).orElseThrow();
            victim.destroyForcibly();
            victim.onExit().get(10, TimeUnit.SECONDS);
            EchoCases cases = new EchoCases(server.address());
            cases.bulk(1 << 20);
            cases.shortMessage();
            assertThat(server.process().isAlive()).as(server.diagnostics()).isTrue();
        }
    }

    /** A process per client is started when the client comes, so there are no workers to name. */
    @Test
    void processPerConnectionNamesNoWorkers() throws Exception {
        try (RungProcess server = RungProcess.start("process-per-connection", List.of())) {
            new EchoCases(server.address()).shortMessage();
            assertThat(server.stdout()).noneMatch(line -> line.startsWith("workers:"));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"prefork", "prefork-epoll", "reuseport", "process-per-connection"})
    void workersExitWhenTheParentIsKilled(String rung) throws Exception {
        try (RungProcess server = RungProcess.start(rung, List.of())) {
            EchoCases cases = new EchoCases(server.address());
            try (var idle = cases.connect("held client")) {
                idle.send(new byte[] {1});
                idle.expect(new byte[] {1}); // process-per-connection: a child now serves it
                List<ProcessHandle> children = server.process().toHandle().descendants().toList();
                assertThat(children).isNotEmpty();
                server.process().destroyForcibly(); // SIGKILL the parent: it cannot clean up
                for (ProcessHandle child : children) {
                    child.onExit().get(10, TimeUnit.SECONDS);
                    assertThat(child.isAlive()).as("child %d after its parent was killed", child.pid()).isFalse();
                }
            }
        }
    }

    /** The server's worker processes, once there are {@code count} of them (waiting up to 30 s). */
    private static List<ProcessHandle> workers(RungProcess server, int count) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        List<ProcessHandle> workers;
        do {
            workers = Proc.tree(server.pid()).stream().filter(p -> p.pid() != server.pid())
                    .filter(p -> p.info().arguments().map(a -> List.of(a).contains(Worker.class.getName())).orElse(false))
                    .toList();
            if (workers.size() == count) {
                return workers;
            }
            Thread.sleep(100);
        } while (System.nanoTime() < deadline);
        throw new AssertionError("expected " + count + " workers, found " + workers);
    }
}
