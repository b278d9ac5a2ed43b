package io.echoladder.client;

import static org.assertj.core.api.Assertions.assertThat;

import io.echoladder.common.Cli;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import picocli.CommandLine;

/** {@code ./ladder wait}: exit 0 once the address accepts, 1 with one line if it does not in time, 2 on bad input. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class WaitCommandTest {

    private record Run(int status, String err) {
    }

    private static Run waitFor(String... args) {
        StringWriter err = new StringWriter();
        CommandLine cl = Cli.commandLine(new WaitCommand());
        cl.setErr(new PrintWriter(err, true));
        return new Run(cl.execute(args), err.toString().strip());
    }

    /** A loopback port nobody listens on: bound to find one, then closed. */
    private static int freePort() throws Exception {
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return probe.getLocalPort();
        }
    }

    @Test
    void returnsZeroAtOnceWhenSomethingListens() throws Exception {
        try (ServerSocket listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            long start = System.nanoTime();
            Run run = waitFor("--port", Integer.toString(listener.getLocalPort()), "--timeout", "20s");

            assertThat(run).isEqualTo(new Run(0, ""));
            assertThat(System.nanoTime() - start).as("returned long before its timeout")
                    .isLessThan(TimeUnit.SECONDS.toNanos(10));
        }
    }

    @Test
    void waitsForAListenerThatComesLater() throws Exception {
        int port = freePort();
        CompletableFuture<Run> waiting = CompletableFuture.supplyAsync(
                () -> waitFor("--host", "127.0.0.1", "--port", Integer.toString(port), "--timeout", "30s"));
        Thread.sleep(700);
        assertThat(waiting).as("still waiting: nothing listens yet").isNotDone();
        try (ServerSocket listener = new ServerSocket()) {
            listener.setReuseAddress(true);
            listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 50);

            assertThat(waiting.get(20, TimeUnit.SECONDS)).isEqualTo(new Run(0, ""));
        }
    }

    @Test
    void failsWithOneLineWhenNothingListensInTime() throws Exception {
        int port = freePort();

        Run run = waitFor("--port", Integer.toString(port), "--timeout", "300ms");

        assertThat(run.status()).isEqualTo(1);
        assertThat(run.err()).isEqualTo("wait: nothing accepted a connection at 127.0.0.1:" + port
                + " within 300 ms (last try: Connection refused)");
    }

    @Test
    void badInputIsOneUsageLine() {
        assertThat(waitFor("--port", "7007", "--timeout", "0s"))
                .isEqualTo(new Run(2, "ladder wait: --timeout must be longer than zero"));
        assertThat(waitFor("--port", "70000")).isEqualTo(new Run(2, "ladder wait: --port must be 1 to 65535, not 70000"));
        assertThat(waitFor("--prot", "7007").err()).isEqualTo("ladder wait: unknown option '--prot' (did you mean '--port'?)");
    }
}
