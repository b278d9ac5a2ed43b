package io.echoladder.client;

import static org.assertj.core.api.Assertions.assertThat;

import io.echoladder.client.FaultyEchoServer.Fault;
import io.echoladder.common.Cli;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import picocli.CommandLine;

/** The soak's verdict against in-test servers: a correct one passes, a stalling or corrupting one exits 1. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SoakCommandTest {

    private record Run(int status, String out, String err) {
    }

    private static Run soak(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream progress = new ByteArrayOutputStream();
        StringWriter err = new StringWriter();
        CommandLine cl = Cli.commandLine(new SoakCommand(new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(progress, true, StandardCharsets.UTF_8)));
        cl.setErr(new PrintWriter(err, true));
        int status = cl.execute(args);
        return new Run(status, out.toString(StandardCharsets.UTF_8), err + progress.toString(StandardCharsets.UTF_8));
    }

    private static Run soakAgainst(FaultyEchoServer server, String... more) {
        String[] args = {"--port", Integer.toString(server.port()), "--connections", "50", "--duration", "2s",
                "--interval", "100ms", "--timeout", "1s"};
        String[] all = new String[args.length + more.length];
        System.arraycopy(args, 0, all, 0, args.length);
        System.arraycopy(more, 0, all, args.length, more.length);
        return soak(all);
    }

    @Test
    void passesAgainstACorrectServer() throws Exception {
        try (FaultyEchoServer server = new FaultyEchoServer(Fault.NONE)) {
            Run run = soakAgainst(server);
            assertThat(run.status()).as(run.out()).isZero();
            assertThat(run.out()).contains("connections  50 of 50 held").contains("mismatches   0")
                    .contains("lost         0").contains("server RSS   not sampled").endsWith("PASSED\n");
        }
    }

    @Test
    void aStallingServerFailsWithUnansweredMessages() throws Exception {
        try (FaultyEchoServer server = new FaultyEchoServer(Fault.STALL)) {
            Run run = soakAgainst(server);
            assertThat(run.status()).as(run.out()).isEqualTo(1);
            assertThat(run.out()).doesNotContain("lost         0 ").endsWith("FAILED\n");
        }
    }

    @Test
    void aCorruptingServerFailsWithMismatches() throws Exception {
        // Each connection's stream is corrupted at byte 1,000: the 16th message of 64 bytes.
        try (FaultyEchoServer server = new FaultyEchoServer(Fault.FLIP, 1000)) {
            Run run = soakAgainst(server);
            assertThat(run.status()).as(run.out()).isEqualTo(1);
            assertThat(run.out()).contains("mismatches   50").contains("first mismatch:").endsWith("FAILED\n");
        }
    }

    @Test
    void samplesTheServerWhenGivenItsPid() throws Exception {
        try (FaultyEchoServer server = new FaultyEchoServer(Fault.NONE)) {
            Run run = soakAgainst(server, "--pid", Long.toString(ProcessHandle.current().pid()));
            assertThat(run.out()).containsPattern("server RSS   \\d+ MiB at start, \\d+ MiB peak, \\d+ MiB at end");
        }
    }

    @Test
    void rssGrowthOfMoreThanAQuarterIsALeak() {
        LoadReport clean = null; // the RSS rule does not look at the echo
        assertThat(new SoakCommand.Verdict(1, clean, 100, 140, 125).leaked()).isFalse();
        assertThat(new SoakCommand.Verdict(1, clean, 100, 140, 126).leaked()).isTrue();
        assertThat(new SoakCommand.Verdict(1, clean, -1, -1, -1).leaked()).as("not sampled").isFalse();
    }

    @Test
    void badInputIsOneLineAndExitTwo() {
        for (String[] args : new String[][] {{}, {"no-such-rung"}, {"epoll", "--port", "7"}, {"--port", "0"},
                {"--port", "7", "--duration", "0s"}, {"--port", "7", "--bogus"}}) {
            Run run = soak(args);
            assertThat(run.status()).as(String.join(" ", args)).isEqualTo(2);
            assertThat(run.err().strip()).as(String.join(" ", args)).doesNotContain("\n").doesNotContain("Exception");
        }
    }
}
