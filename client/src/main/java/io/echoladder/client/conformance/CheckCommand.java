package io.echoladder.client.conformance;

import io.echoladder.common.Cli;
import io.echoladder.common.LadderException;
import io.echoladder.common.Listeners;
import io.echoladder.common.Version;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ./ladder check --port P}: the conformance cases that need only an address, against any echo
 * server. Cases 1 to 5 are the RFC 862 contract and decide the exit status (PASS or FAIL); 6 and 7 describe
 * the server (INFO: concurrent or one client at a time), and so do the hostile cases 13 (idle horde), 14
 * (slowloris) and 17 (fan-in): what a horde does to other clients. Trouble there is a WARN that does not
 * decide the exit status.
 */
@Command(name = "check", mixinStandardHelpOptions = true, versionProvider = Version.Provider.class, sortOptions = false,
        description = {"Run the RFC 862 conformance cases against any TCP echo server.",
                "Exit 0 only if every contract case (1-5) passes; 6-7 report how the server treats concurrent clients,",
                "13, 14 and 17 what a horde of idle, dripping or bulk clients does to the others."},
        footerHeading = "%nExamples:%n",
        footer = {"  1. A rung started in the background, then checked:",
                "       ./ladder serve epoll --port 7007 &",
                "       ./ladder check --port 7007",
                "  2. The one-at-a-time rung, a waiting client timed out after 2 s, not 10:",
                "       ./ladder serve blocking --port 7008 &",
                "       ./ladder check --port 7008 --timeout 2s"})
public final class CheckCommand implements Callable<Integer> {

    @Option(names = "--host", defaultValue = "127.0.0.1", description = "Server address (default: ${DEFAULT-VALUE}).")
    private String host;

    @Option(names = "--port", required = true, description = "Server port.")
    private int port;

    @Option(names = "--seed", defaultValue = "862", description = "Seed of the random payloads (default: ${DEFAULT-VALUE}).")
    private long seed;

    @Option(names = "--timeout", defaultValue = "10s", converter = Cli.DurationConverter.class,
            description = "How long to wait for the next echoed byte before calling it withheld (default: ${DEFAULT-VALUE}).")
    private Duration timeout;

    private final PrintStream out;

    public CheckCommand() {
        this(System.out);
    }

    public CheckCommand(PrintStream out) {
        this.out = out;
    }

    public static void main(String[] args) {
        Cli.main(new CheckCommand(), args);
    }

    /** One numbered case; {@code contract} cases decide the exit status, the others describe the server. */
    private record Case(int number, String name, boolean contract, Body body) {

        /** The hostile cases (13 on) describe a server that keeps the contract; against one that broke it, they are skipped. */
        boolean hostile() {
            return number >= 13;
        }
    }

    @FunctionalInterface
    private interface Body {
        String run(EchoCases cases) throws CaseFailure;
    }

    @Override
    public Integer call() {
        if (port < 1 || port > 65535) {
            throw LadderException.usage("--port must be 1 to 65535, not " + port);
        }
        InetSocketAddress address = new InetSocketAddress(host, port);
        if (address.isUnresolved()) {
            throw LadderException.usage("cannot resolve host '" + host + "'");
        }
        if (timeout.isZero() || timeout.isNegative()) {
            throw LadderException.usage("--timeout must be longer than zero");
        }
        EchoCases run = new EchoCases(address, timeout, seed);
        try {
            run.connect("connect").close();
        } catch (CaseFailure e) {
            throw LadderException.failure("no echo server at " + Listeners.hostPort(host, port) + ": " + e.getMessage());
        }
        List<Case> cases = List.of(
                new Case(1, "short message", true, EchoCases::shortMessage),
                new Case(2, "1 MiB in random chunks", true, c -> c.bulk(1 << 20)),
                new Case(2, "16 MiB in random chunks", true, c -> c.bulk(16 << 20)),
                new Case(3, "connect and close 100 times", true, c -> c.connectAndClose(100)),
                new Case(4, "half-close", true, c -> c.halfClose(100_003)),
                new Case(5, "reset mid-stream", true, EchoCases::resetMidStream),
                new Case(6, "concurrent clients", false, c ->
                        c.concurrency().words() + "; " + c.manyClients(100, 64 * 1024)),
                new Case(7, "idle client", false, c -> switch (c.idleClient()) {
                    case CONCURRENT -> "an idle client does not hold up others";
                    case ONE_AT_A_TIME -> "an idle client holds the server: others wait until it leaves";
                }),
                // The hostile cases that need only an address, numbered as in the conformance suite.
                new Case(13, "idle horde of 1,000", false, c ->
                        c.idleHorde(1000, 20, 4 * 1024, Duration.ofSeconds(10)).words()),
                new Case(14, "slowloris of 200", false, c -> c.slowloris(200, Duration.ofMillis(200),
                        Duration.ofSeconds(5), 10, 64 * 1024, Duration.ofSeconds(2)).words()),
                new Case(17, "fan-in of 500 × 256 KiB", false, c -> c.fanIn(500, 256 * 1024, Duration.ofSeconds(120))));

        out.println("check " + Listeners.hostPort(host, port));
        int contractCases = 0;
        int contractPassed = 0;
        int failed = 0;
        String firstFailure = null;
        for (Case c : cases) {
            if (c.hostile() && failed > 0) {
                out.printf("SKIP  %-2d %-28s the contract failed: how a horde is treated says nothing more%n", c.number(), c.name());
                continue;
            }
            long start = System.nanoTime();
            String verdict;
            String detail;
            try {
                detail = c.body().run(run);
                verdict = c.contract() ? "PASS" : "INFO";
                contractPassed += c.contract() ? 1 : 0;
            } catch (CaseFailure e) {
                detail = e.getMessage();
                verdict = c.contract() ? "FAIL" : "WARN";
                failed += c.contract() ? 1 : 0;
                if (c.contract() && firstFailure == null) {
                    firstFailure = "case " + c.number() + " (" + c.name() + "): " + e.getMessage();
                }
            }
            contractCases += c.contract() ? 1 : 0;
            long millis = (System.nanoTime() - start) / 1_000_000;
            out.printf("%s  %-2d %-28s %s (%d ms)%n", verdict, c.number(), c.name(), detail, millis);
            out.flush();
        }
        out.printf("%d of %d contract cases passed%n", contractPassed, contractCases);
        if (failed > 0) {
            out.println("FAILED: " + firstFailure);
            return 1;
        }
        return 0;
    }
}
