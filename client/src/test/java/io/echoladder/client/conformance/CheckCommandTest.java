package io.echoladder.client.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import io.echoladder.client.FaultyEchoServer;
import io.echoladder.client.FaultyEchoServer.Fault;
import io.echoladder.common.Cli;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import picocli.CommandLine;

@Timeout(value = 120, unit = TimeUnit.SECONDS)
class CheckCommandTest {

    private record Run(int status, String out, String err) {
    }

    private static Run check(String... args) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ByteArrayOutputStream progress = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        StringWriter err = new StringWriter();
        CommandLine cl = Cli.commandLine(new CheckCommand(out, new PrintStream(progress, true, StandardCharsets.UTF_8)));
        cl.setErr(new PrintWriter(err, true));
        int status = cl.execute(args);
        return new Run(status, bytes.toString(StandardCharsets.UTF_8), err + progress.toString(StandardCharsets.UTF_8));
    }

    /** By default the contract (1-5, counted as five) and the two describing cases; no horde. */
    @Test
    void passesAgainstACorrectServer() throws Exception {
        try (FaultyEchoServer server = new FaultyEchoServer(Fault.NONE)) {
            Run run = check("--port", Integer.toString(server.port()));
            assertThat(run.status()).as(run.out()).isZero();
            assertThat(run.out()).contains("PASS  5  reset mid-stream")
                    .contains("INFO  6  concurrent clients           serves clients concurrently")
                    .contains("INFO  7  idle client                  a client that never sends does not hold up others")
                    .endsWith("5 of 5 contract cases passed\n")
                    .doesNotContain("FAIL").doesNotContain("WARN").doesNotContain("idle horde").doesNotContain("SKIP");
            // Numbers people read carry thousands separators.
            assertThat(run.out()).contains("1,048,576 random bytes echoed byte-exact")
                    .contains("16,777,216 random bytes echoed byte-exact")
                    .contains("100,003 bytes then half-close: exactly 100,003 bytes came back")
                    .containsPattern("\\([0-9]{1,3}(,[0-9]{3})* ms\\)\n");
        }
    }

    @Test
    void theHostileCasesRunWithHostileAndSayWhatTheyDoFirst() throws Exception {
        try (FaultyEchoServer server = new FaultyEchoServer(Fault.NONE)) {
            Run run = check("--port", Integer.toString(server.port()), "--hostile");
            assertThat(run.status()).as(run.out()).isZero();
            assertThat(run.out()).contains("5 of 5 contract cases passed")
                    .contains("INFO  13 idle horde of 1,000          " + EchoCases.UnderAHorde.SERVES_OTHERS.words())
                    .contains("INFO  14 slowloris of 200             " + EchoCases.UnderAHorde.SERVES_OTHERS.words())
                    .contains("INFO  17 fan-in of 500 × 256 KiB      500 clients × 256 KiB at once, all byte-exact")
                    .doesNotContain("FAIL").doesNotContain("WARN");
            assertThat(run.err()).as("the progress lines, on stderr")
                    .contains("...   13 idle horde of 1,000          1,000 silent connections, then 20 clients echo 4 KiB: under a second")
                    .contains("...   14 slowloris of 200             200 clients drip")
                    .contains("...   17 fan-in of 500 × 256 KiB      500 clients at once");
        }
    }

    /** A server that serves one client at a time passes the contract; the hordes are reported as starving it. */
    @Test
    void reportsThatAHordeStarvesAOneAtATimeServer() throws Exception {
        try (FaultyEchoServer server = new FaultyEchoServer(Fault.ONE_AT_A_TIME)) {
            Run run = check("--port", Integer.toString(server.port()), "--hostile");
            assertThat(run.status()).as(run.out()).isZero();
            assertThat(run.out()).contains("5 of 5 contract cases passed")
                    .contains("INFO  7  idle client                  a client that never sends holds the server")
                    .contains("INFO  13 idle horde of 1,000          " + EchoCases.UnderAHorde.STARVES_OTHERS.words())
                    .contains("INFO  14 slowloris of 200             " + EchoCases.UnderAHorde.STARVES_OTHERS.words());
        }
    }

    /**
     * A server that reads each client's first bytes on its accept loop serves clients that have spoken
     * concurrently (case 6), but a client that never sends stops it (case 7): the two cases tell it apart.
     */
    @Test
    void aSilentClientThatHoldsTheAcceptLoopIsToldFromOneThatHasSpoken() throws Exception {
        try (FaultyEchoServer server = new FaultyEchoServer(Fault.FIRST_READ_ON_ACCEPTOR)) {
            Run run = check("--port", Integer.toString(server.port()));
            assertThat(run.status()).as(run.out()).isZero();
            assertThat(run.out()).contains("INFO  6  concurrent clients           serves clients concurrently")
                    .contains("INFO  7  idle client                  a client that never sends holds the server: "
                            + "others wait until it leaves");
        }
    }

    /**
     * A one-at-a-time server held by another client answers nothing: case 1 waits out the timeout, and the
     * cases after it, which would each wait as long, are skipped and say why.
     */
    @Test
    void aServerThatAnswersNothingFailsInOneTimeoutNotOnePerCase() throws Exception {
        try (FaultyEchoServer server = new FaultyEchoServer(Fault.ONE_AT_A_TIME);
                EchoSession holder = EchoSession.connect(server.address(), "holder", Duration.ofSeconds(5))) {
            holder.send(new byte[] {1});
            holder.expect(new byte[] {1}); // the server is serving it now, and only it
            Run run = check("--port", Integer.toString(server.port()), "--timeout", "1s", "--hostile");
            assertThat(run.status()).as(run.out()).isEqualTo(1);
            assertThat(run.out()).contains("FAIL  1  short message                short message: no reply for 1,000 ms")
                    .contains("SKIP  2  1 MiB in random chunks       not run: case 1 got no reply in 1,000 ms")
                    .contains("SKIP  5  reset mid-stream             not run: case 1 got no reply in 1,000 ms")
                    .contains("SKIP  7  idle client                  not run: case 1 got no reply in 1,000 ms")
                    .contains("SKIP  17 fan-in of 500 × 256 KiB      not run: case 1 got no reply in 1,000 ms")
                    .contains("a server answering nobody looks like this")
                    .contains("0 of 5 contract cases passed (4 not run)")
                    .contains("FAILED: case 1 (short message)")
                    .doesNotContain("WARN");
        }
    }

    @ParameterizedTest
    @EnumSource(value = Fault.class, names = {"FLIP", "DROP", "WITHHOLD", "CLOSE_EARLY", "STALL", "RESET"})
    void failsNamingTheCaseAgainstABrokenServer(Fault fault) throws Exception {
        try (FaultyEchoServer server = new FaultyEchoServer(fault)) {
            Run run = check("--port", Integer.toString(server.port()), "--timeout", "1s", "--hostile");
            assertThat(run.status()).as(run.out()).isEqualTo(1);
            assertThat(run.out()).contains("FAIL  1  short message").contains("FAILED: case 1 (short message)");
            String expected = switch (fault) {
                case FLIP -> "byte at offset 10 differs: sent 0x6f, got 0x6e";
                case DROP -> "byte at offset 10 differs";
                case WITHHOLD, STALL -> "no reply for 1,000 ms";
                case CLOSE_EARLY -> "server closed the connection after echoing 10 of 22 bytes";
                case RESET -> "Connection reset after 10 bytes echoed";
                case NONE, ONE_AT_A_TIME, KEEP, FIRST_READ_ON_ACCEPTOR, FAVOURS_SOME -> throw new AssertionError();
            };
            assertThat(run.out()).contains(expected);
            if (fault == Fault.WITHHOLD || fault == Fault.STALL) {
                assertThat(run.out()).contains("SKIP  13 idle horde of 1,000          not run: case 1 got no reply");
            } else {
                assertThat(run.out()).contains("SKIP  13 idle horde of 1,000          the contract failed");
            }
        }
    }

    /**
     * A mismatch deep in the 16 MiB case, where our writer is still sending and blocks once the server
     * stops being read: the case must fail at once, not after the whole {@code --timeout}.
     */
    @Test
    @Timeout(value = 50, unit = TimeUnit.SECONDS) // the --timeout below is 60 s: waiting it out fails this
    void reportsAMismatchWithoutWaitingOutTheTimeout() throws Exception {
        try (FaultyEchoServer server = new FaultyEchoServer(Fault.FLIP, (1 << 20) + 7)) {
            Run run = check("--port", Integer.toString(server.port()), "--timeout", "60s");
            assertThat(run.status()).as(run.out()).isEqualTo(1);
            assertThat(run.out()).contains("PASS  2  1 MiB in random chunks")
                    .contains("FAIL  2  16 MiB in random chunks      16 MiB: byte at offset " + ((1 << 20) + 7) + " differs")
                    .contains("4 of 5 contract cases passed\n").contains("FAILED: case 2 (16 MiB in random chunks)");
        }
    }

    @Test
    void noServerIsOneLineAndExitOne() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Run run = check("--port", Integer.toString(port));
        assertThat(run.status()).isEqualTo(1);
        assertThat(run.err().strip()).startsWith("check: no echo server at 127.0.0.1:" + port).doesNotContain("\n");
    }

    @Test
    void badArgumentsExitTwo() {
        assertThat(check("--port", "nope").status()).isEqualTo(2);
        assertThat(check().status()).isEqualTo(2);
        assertThat(check("--port", "70000").status()).isEqualTo(2);
        Run run = check("--port", "7", "--bogus");
        assertThat(run.status()).isEqualTo(2);
        assertThat(run.err().strip()).doesNotContain("\n").contains("--bogus");
    }
}
