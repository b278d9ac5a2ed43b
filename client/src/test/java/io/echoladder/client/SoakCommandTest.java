package io.echoladder.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.echoladder.client.FaultyEchoServer.Fault;
import io.echoladder.common.Cli;
import io.echoladder.common.Jvm;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import picocli.CommandLine;

/**
 * The soak's verdict against in-test servers: a correct one passes, a stalling, corrupting or leaking one
 * exits 1; and the RSS trend it judges, on samples made up to show each case.
 */
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
                "--interval", "100ms", "--timeout", "1s", "--sample-every", "250ms"};
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
            assertThat(run.out()).containsPattern("server RSS   \\d+ MiB at start, \\d+ MiB peak, \\d+ MiB at end\n")
                    .containsPattern("RSS trend    [+-]\\d+\\.\\d MiB/min over the second half \\(least squares through \\d+ samples")
                    .as("a server soak did not start: what RSS cannot tell").contains("note         RSS alone cannot tell");
        }
    }

    /**
     * A server that keeps every message, as its own process with its heap touched up front (as soak starts
     * a rung) from 16 MiB: the leak makes the heap grow, each new piece touched, while the echo itself is
     * perfect. 50 connections × 50 messages a second × 4 KiB: about 10 MB a second.
     */
    @Test
    void aServerThatKeepsEveryMessageFailsAsALeak() throws Exception {
        Run run = soakOwnProcess(Fault.KEEP);
        assertThat(run.status()).as(run.out()).isEqualTo(1);
        assertThat(run.out()).contains("connections  50 of 50 held").contains("mismatches   0").contains("lost         0")
                .containsPattern("RSS trend    \\+\\d+\\.\\d MiB/min over the second half .*: still growing")
                .endsWith("FAILED\n");
    }

    /**
     * The same server and load without the leak passes: its RSS grows while it warms up, and may still
     * move by a MiB or two in the second half of so short a window (seen: +1.5 MiB, a slope of 29 MiB a
     * minute over 3 s), which the noise floor is for.
     */
    @Test
    void theSameServerWithoutTheLeakPasses() throws Exception {
        Run run = soakOwnProcess(Fault.NONE);
        assertThat(run.status()).as(run.out()).isZero();
        assertThat(run.out()).contains("RSS trend").contains(": no leak").endsWith("PASSED\n");
    }

    /** Soaks a {@link FaultyEchoServer} started as its own process, heap touched up front from 16 MiB. */
    private static Run soakOwnProcess(Fault fault) throws Exception {
        try (RungProcess server = RungProcess.startMain(fault.name(), List.of(Jvm.PRE_TOUCH, "-Xms16m", "-Xmx1g"),
                FaultyEchoServer.class.getName(), List.of(fault.name()))) {
            Run run = soak("--port", Integer.toString(server.address().getPort()), "--pid", Long.toString(server.pid()),
                    "--connections", "50", "--interval", "20ms", "--size", "4096", "--duration", "8s",
                    "--sample-every", "250ms", "--timeout", "2s");
            System.out.print(run.out());
            return run;
        }
    }

    /** Window samples: {@code mib[i]} at minute {@code i * step}. */
    private static List<SoakCommand.Sample> samples(double step, double... mib) {
        List<SoakCommand.Sample> samples = new ArrayList<>();
        for (int i = 0; i < mib.length; i++) {
            samples.add(new SoakCommand.Sample(Math.round(i * step * 60e9), Math.round(mib[i] * (1 << 20))));
        }
        return samples;
    }

    @Test
    void aHeapFillingOutInTheFirstHalfIsNoLeak() {
        // 10 minutes, a sample a minute: 84 MiB growing to 149 MiB by minute 4, then flat: the 25% rule
        // (end against start) called this a leak.
        SoakCommand.Trend trend = SoakCommand.Trend.secondHalf(samples(1, 84, 100, 115, 130, 149, 149, 149, 150, 149, 149, 149));
        assertThat(trend.judged()).isTrue();
        assertThat(trend.samples()).isEqualTo(6);
        assertThat(trend.mibPerMinute()).isCloseTo(0, within(0.5));
        assertThat(trend.growing()).isFalse();
    }

    @Test
    void growthThatGoesOnInTheSecondHalfIsALeak() {
        // 3 MiB a minute, steadily, from a flat start: the 25% rule let this pass (100 to 124 MiB).
        SoakCommand.Trend trend = SoakCommand.Trend.secondHalf(samples(1, 100, 101, 103, 109, 112, 115, 118, 121, 124));
        assertThat(trend.mibPerMinute()).isCloseTo(3, within(0.01));
        assertThat(trend.riseMib()).isCloseTo(12, within(0.1));
        assertThat(trend.growing()).isTrue();
    }

    @Test
    void aSmallRiseInAShortWindowIsNoise() {
        // Half a minute at 6 MiB a minute is 3 MiB: what a JIT compilation or a thread's stack moves by.
        SoakCommand.Trend trend = SoakCommand.Trend.secondHalf(samples(0.1, 80, 80, 80, 80, 80, 80, 80.6, 81.2, 81.8, 82.4, 83));
        assertThat(trend.mibPerMinute()).isCloseTo(6, within(0.01));
        assertThat(trend.growing()).isFalse();
        assertThat(SoakCommand.Trend.secondHalf(samples(0.1, 80, 80, 80, 80, 80, 80, 81, 82, 83, 84, 85)).growing())
                .as("5 MiB in the same half minute").isTrue();
    }

    @Test
    void tooFewSamplesAreNotJudged() {
        assertThat(SoakCommand.Trend.secondHalf(samples(1, 100, 500)).judged()).isFalse();
        assertThat(SoakCommand.Trend.secondHalf(samples(1, 100, 500)).growing()).isFalse();
        assertThat(SoakCommand.Trend.secondHalf(List.of()).judged()).as("not sampled").isFalse();
    }

    @Test
    void badInputIsOneLineAndExitTwo() {
        for (String[] args : new String[][] {{}, {"no-such-rung"}, {"epoll", "--port", "7"}, {"--port", "0"},
                {"--port", "7", "--duration", "0s"}, {"--port", "7", "--sample-every", "0s"}, {"--port", "7", "--bogus"}}) {
            Run run = soak(args);
            assertThat(run.status()).as(String.join(" ", args)).isEqualTo(2);
            assertThat(run.err().strip()).as(String.join(" ", args)).doesNotContain("\n").doesNotContain("Exception");
        }
    }
}
