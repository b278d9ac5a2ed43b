package io.echoladder.forked;

import static org.assertj.core.api.Assertions.assertThat;

import io.echoladder.client.RungProcess;
import io.echoladder.client.conformance.EchoCases;
import io.echoladder.client.conformance.EchoSession;
import io.echoladder.common.Jvm;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code ./ladder soak} starts a rung with its heap touched up front ({@link Jvm#PRE_TOUCH}) so that its
 * RSS no longer grows as the heap fills out; a process rung's RSS is mostly its workers', so they must
 * get it too (from a small initial heap), or the soak would judge them as before.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class PreTouchedWorkersTest {

    @ParameterizedTest
    @ValueSource(strings = {"prefork-epoll", "process-per-connection"})
    void workersOfAPreTouchedServerArePreTouchedToo(String rung) throws Exception {
        try (RungProcess server = RungProcess.start(rung, List.of(Jvm.PRE_TOUCH), List.of())) {
            EchoCases cases = new EchoCases(server.address());
            try (EchoSession held = cases.connect("held client")) {
                held.send(new byte[] {1});
                held.expect(new byte[] {1}); // process-per-connection: a child now serves it
                List<List<String>> workers = workerArguments(server);
                assertThat(workers).as("workers of %s", rung).isNotEmpty();
                for (List<String> arguments : workers) {
                    assertThat(arguments).as("a worker's command line").contains(Jvm.PRE_TOUCH, "-Xms32m");
                }
                cases.bulk(1 << 20);
            }
        }
        try (RungProcess plain = RungProcess.start(rung, List.of())) {
            EchoCases cases = new EchoCases(plain.address());
            try (EchoSession held = cases.connect("held client")) {
                held.send(new byte[] {1});
                held.expect(new byte[] {1});
                assertThat(workerArguments(plain)).as("workers of %s started without it", rung).isNotEmpty()
                        .allSatisfy(arguments -> assertThat(arguments).doesNotContain(Jvm.PRE_TOUCH, "-Xms32m"));
            }
        }
    }

    /** The command-line arguments of each worker process of the server, once there is one (up to 30 s). */
    private static List<List<String>> workerArguments(RungProcess server) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        List<List<String>> workers;
        do {
            workers = server.process().toHandle().descendants()
                    .map(p -> p.info().arguments().map(List::of).orElse(List.of()))
                    .filter(arguments -> arguments.contains(Worker.class.getName()))
                    .toList();
            if (!workers.isEmpty()) {
                return workers;
            }
            Thread.sleep(100);
        } while (System.nanoTime() < deadline);
        return workers;
    }
}
