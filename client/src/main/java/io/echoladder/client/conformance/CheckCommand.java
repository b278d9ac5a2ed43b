package io.echoladder.client.conformance;

import io.echoladder.common.Cli;
import io.echoladder.common.LadderException;
import io.echoladder.common.Listeners;
import io.echoladder.common.Version;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ./ladder check --port P}: the conformance cases that need only an address, against any echo
 * server, in seconds. Cases 1 to 5 are the RFC 862 contract and decide the exit status (PASS or FAIL); 6
 * and 7 describe the server (INFO: concurrent or one client at a time; trouble there is a WARN that does
 * not decide the exit status). With {@code --hostile}, the hostile cases 13 (idle horde), 14 (slowloris)
 * and 17 (fan-in) follow: what a horde does to other clients, reported like 6 and 7, in tens of seconds.
 *
 * <p>A server that answers nothing at all (one serving one client at a time while another holds it, or
 * one that reads and never writes) would make every case wait out the reply timeout in turn: when case 1
 * gets no reply, the cases after it are skipped and say why, so the check answers in one timeout.
 */
@Command(name = "check", mixinStandardHelpOptions = true, versionProvider = Version.Provider.class, sortOptions = false,
        description = {"Run the RFC 862 conformance cases against any TCP echo server, in seconds.",
                "Exit 0 only if every contract case (1-5) passes; 6-7 report how the server",
                "treats concurrent and silent clients. --hostile adds 13, 14 and 17: what a",
                "horde of idle, dripping or bulk clients does to the others."},
        footerHeading = "%nExamples:%n",
        footer = {"  1. A rung started in the background, then checked:",
                "       ./ladder serve epoll --port 7007 &",
                "       ./ladder check --port 7007",
                "  2. The hordes too (about 20 s more):",
                "       ./ladder check --port 7007 --hostile"})
public final class CheckCommand implements Callable<Integer> {

    /** The contract: cases 1 to 5 (case 2 in two sizes), which decide the exit status. */
    static final int CONTRACT_CASES = 5;

    @Option(names = "--host", defaultValue = "127.0.0.1", description = "Server address (default: ${DEFAULT-VALUE}).")
    private String host;

    @Option(names = "--port", required = true, description = "Server port.")
    private int port;

    @Option(names = "--seed", defaultValue = "862", description = "Seed of the random payloads (default: ${DEFAULT-VALUE}).")
    private long seed;

    @Option(names = "--timeout", defaultValue = "10s", converter = Cli.DurationConverter.class,
            description = "How long to wait for the next echoed byte before calling it withheld (default: ${DEFAULT-VALUE}).")
    private Duration timeout;

    @Option(names = "--hostile", description = "Also run the hostile cases 13, 14 and 17 (1,000 idle, 200 dripping and "
            + "500 bulk clients): about 6 s more, 17 s if the others must wait, up to 2.5 min against a server they overwhelm.")
    private boolean hostile;

    private final PrintStream out;
    private final PrintStream err;

    public CheckCommand() {
        this(System.out, System.err);
    }

    public CheckCommand(PrintStream out) {
        this(out, System.err);
    }

    /** {@code err} gets the progress line before each hostile case. */
    public CheckCommand(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    public static void main(String[] args) {
        Cli.main(new CheckCommand(), args);
    }

    /**
     * One numbered case; {@code contract} cases decide the exit status, the others describe the server.
     * {@code takes} says, for a hostile case, what it does and how long it may take (its progress line).
     */
    private record Case(int number, String name, boolean contract, String takes, Body body) {

        Case(int number, String name, boolean contract, Body body) {
            this(number, name, contract, null, body);
        }

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
        List<Case> cases = new ArrayList<>(List.of(
                new Case(1, "short message", true, EchoCases::shortMessage),
                new Case(2, "1 MiB in random chunks", true, c -> c.bulk(1 << 20)),
                new Case(2, "16 MiB in random chunks", true, c -> c.bulk(16 << 20)),
                new Case(3, "connect and close 100 times", true, c -> c.connectAndClose(100)),
                new Case(4, "half-close", true, c -> c.halfClose(100_003)),
                new Case(5, "reset mid-stream", true, EchoCases::resetMidStream),
                new Case(6, "concurrent clients", false, c ->
                        c.concurrency().words() + "; " + c.manyClients(100, 64 * 1024)),
                new Case(7, "idle client", false, c -> switch (c.idleClient()) {
                    case CONCURRENT -> "a client that never sends does not hold up others";
                    case ONE_AT_A_TIME -> "a client that never sends holds the server: others wait until it leaves";
                })));
        if (hostile) {
            // The hostile cases that need only an address, numbered as in the conformance suite. How long
            // each took against epoll and blocking (2026-12-04, 2 cores): 0.2 and 10.2 s, 5.1 s, 0.6 and 1.7 s.
            cases.addAll(List.of(
                    new Case(13, "idle horde of 1,000", false, "1,000 silent connections, then 20 clients echo 4 KiB: "
                            + "under a second, or 10 s if they must wait",
                            c -> c.idleHorde(1000, 20, 4 * 1024, Duration.ofSeconds(10)).words()),
                    new Case(14, "slowloris of 200", false, "200 clients drip a byte every 200 ms for 5 s while 10 "
                            + "echo 64 KiB: about 5 s",
                            c -> c.slowloris(200, Duration.ofMillis(200), Duration.ofSeconds(5), 10, 64 * 1024,
                                    Duration.ofSeconds(2)).words()),
                    new Case(17, "fan-in of 500 × 256 KiB", false, "500 clients at once × 256 KiB: about 1-3 s, "
                            + "at most 120 s",
                            c -> c.fanIn(500, 256 * 1024, Duration.ofSeconds(120)))));
        }

        out.println("check " + Listeners.hostPort(host, port));
        Set<Integer> contractPassed = new TreeSet<>();
        Set<Integer> contractFailed = new TreeSet<>();
        String firstFailure = null;
        String silent = null;
        for (Case c : cases) {
            if (silent != null) {
                out.printf("SKIP  %-2d %-28s %s%n", c.number(), c.name(), silent);
                continue;
            }
            if (c.hostile() && !contractFailed.isEmpty()) {
                out.printf("SKIP  %-2d %-28s the contract failed: how a horde is treated says nothing more%n", c.number(), c.name());
                continue;
            }
            if (c.takes() != null) {
                err.printf("...   %-2d %-28s %s%n", c.number(), c.name(), c.takes());
                err.flush();
            }
            long start = System.nanoTime();
            String verdict;
            String detail;
            try {
                detail = c.body().run(run);
                verdict = c.contract() ? "PASS" : "INFO";
                if (c.contract()) {
                    contractPassed.add(c.number());
                }
            } catch (CaseFailure e) {
                detail = e.getMessage();
                verdict = c.contract() ? "FAIL" : "WARN";
                if (c.contract()) {
                    contractFailed.add(c.number());
                    if (firstFailure == null) {
                        firstFailure = "case " + c.number() + " (" + c.name() + "): " + e.getMessage();
                    }
                }
                if (c.number() == 1 && e.kind() == CaseFailure.Kind.NO_REPLY) {
                    // Every case after it waits for replies too, and would wait out the same timeout.
                    silent = "not run: case 1 got no reply in " + EchoCases.n(timeout.toMillis()) + " ms, and this one would wait as long";
                }
            }
            long millis = (System.nanoTime() - start) / 1_000_000;
            out.printf(Locale.ROOT, "%s  %-2d %-28s %s (%,d ms)%n", verdict, c.number(), c.name(), detail, millis);
            if (silent != null && c.number() == 1) {
                out.println("      a server answering nobody looks like this: one that serves one client at a time and is busy "
                        + "with another, or one that reads and never writes");
            }
            out.flush();
        }
        contractPassed.removeAll(contractFailed);
        int notRun = CONTRACT_CASES - contractPassed.size() - contractFailed.size();
        out.printf("%d of %d contract cases passed%s%n", contractPassed.size(), CONTRACT_CASES,
                notRun > 0 ? " (" + notRun + " not run)" : "");
        if (firstFailure != null) {
            out.println("FAILED: " + firstFailure);
            return 1;
        }
        return 0;
    }
}
