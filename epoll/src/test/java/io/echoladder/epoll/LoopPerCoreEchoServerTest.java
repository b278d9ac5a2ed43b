package io.echoladder.epoll;

import static org.assertj.core.api.Assertions.assertThat;

import io.echoladder.client.RungProcess;
import io.echoladder.client.conformance.EchoCases;
import io.echoladder.client.conformance.RungConformanceSuite;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

class LoopPerCoreEchoServerTest extends RungConformanceSuite {

    @Override
    protected String rung() {
        return "loop-per-core";
    }

    @Override
    protected boolean servesConcurrently() {
        return true;
    }

    /** More loops than cores, so that two clients of a case often land on different loops, and often on one. */
    @Override
    protected List<String> serveArguments() {
        return List.of("--workers", "4");
    }

    /**
     * Which loop gets a client is the hash's choice, but every loop is the epoll loop: a client that lands
     * beside a horde on the same loop is served as {@code epoll} serves it, so the others are served.
     */
    @Override
    protected EchoCases.UnderAHorde underAHorde(int horde) {
        return EchoCases.UnderAHorde.SERVES_OTHERS;
    }

    /** SO_REUSEPORT would let a second server join the port's group; the guard refuses to start. */
    @Test
    void aSecondServerOnTheSamePortExitsOneNamingThePort() throws Exception {
        try (RungProcess first = RungProcess.start("loop-per-core", List.of("--workers", "2"))) {
            int port = first.address().getPort();
            RungProcess.Refusal second = RungProcess.runExpectingExit(
                    List.of("loop-per-core", "--host", "127.0.0.1", "--port", Integer.toString(port), "--workers", "2"),
                    Duration.ofSeconds(60));
            assertThat(second.status()).as("exit status of a second loop-per-core server on port %d: %s", port,
                    second.output()).isEqualTo(1);
            assertThat(second.output()).isEqualTo("serve: cannot listen on 127.0.0.1:" + port
                    + ": Address already in use (another process has that port: choose another --port, or --port 0 for"
                    + " any free one)");
            new EchoCases(first.address()).shortMessage(); // the first server is untouched
        }
    }

    /**
     * 64 clients, each echoed once and kept open: the exit's counts give each loop's share. Which loop
     * takes which client is the hash's, so nothing is asserted about the shares but that the clients did
     * not all land on one loop (with 4 loops, all 64 on one has a chance of 4 in 4^64) and that every
     * loop is counted.
     */
    @Test
    void theKernelSpreadsConnectionsOverTheLoops() throws Exception {
        try (RungProcess server = RungProcess.start("loop-per-core", List.of("--workers", "4"))) {
            List<Socket> clients = new ArrayList<>();
            try {
                for (int i = 0; i < 64; i++) {
                    Socket client = new Socket(server.address().getAddress(), server.address().getPort());
                    client.setSoTimeout(10_000);
                    clients.add(client);
                    OutputStream out = client.getOutputStream();
                    out.write(i);
                    InputStream in = client.getInputStream();
                    assertThat(in.read()).as("client %d's echo", i).isEqualTo(i);
                }
                assertThat(server.terminate(Duration.ofSeconds(10))).as("exit status on SIGTERM; %s",
                        server.diagnostics()).isZero();
            } finally {
                for (Socket client : clients) {
                    client.close();
                }
            }
            JsonNode served = exitStats(server).get("served");
            Map<String, Long> perLoop = new LinkedHashMap<>();
            served.properties().forEach(e -> perLoop.put(e.getKey(), e.getValue().asLong()));
            assertThat(perLoop.keySet()).containsExactly("loop-0", "loop-1", "loop-2", "loop-3");
            assertThat(perLoop.values().stream().mapToLong(Long::longValue).sum())
                    .as("clients served in all: %s", perLoop)
                    .isEqualTo(64);
            assertThat(perLoop.values().stream().filter(n -> n > 0).count())
                    .as("loops that served a client: %s", perLoop).isGreaterThan(1);
            assertThat(server.stdout()).anyMatch(line -> line.startsWith("served per worker: loop-0="));
        }
    }
}
