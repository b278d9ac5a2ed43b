package io.echoladder.bench;

import io.echoladder.common.Cli;
import io.echoladder.common.Interrupts;
import io.echoladder.common.LadderException;
import io.echoladder.common.Rung;
import io.echoladder.common.Rungs;
import io.echoladder.common.Setting;
import io.echoladder.common.Version;
import io.echoladder.common.Work;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ./ladder bench}: every rung, one client, one command; a report with tables and charts.
 */
@Command(name = "bench", mixinStandardHelpOptions = true, versionProvider = Version.Provider.class, sortOptions = false,
        description = {"Run the whole ladder under the shared client and write a report: results.json, report.md, PNG charts.",
                "Scenarios: sweep (closed loop over connection counts), churn (a connection per exchange),",
                "latency (open loop at steps of each rung's own closed-loop maximum: latency against offered load),",
                "idle (50 active connections while N more stay silent), work (every rung with a slow handler, --work),",
                "rounds (only when asked for: the rungs side by side, a fresh server each per round, --rounds times).",
                "Ctrl-C stops at once and writes the report of the points that finished, saying where it stopped;",
                "exit 130. A second Ctrl-C quits without a report."},
        footerHeading = "%nExamples:%n",
        footer = {"  1. Every rung and scenario, the short run (about 5 minutes on 2 cores):",
                "       ./ladder bench --quick",
                "  2. Two rungs, closed loop only, at 1 and 1,000 connections:",
                "       ./ladder bench --scenario sweep --rungs epoll,poll --connections 1,1k",
                "  3. Two rungs side by side, 10 rounds, a fresh server each round:",
                "       ./ladder bench --scenario rounds --rounds 10 --rungs epoll,io-uring",
                "  4. Your own server (on port 9000) beside epoll, the report in ./mine:",
                "       ./ladder bench --rungs epoll --also mine=127.0.0.1:9000 --out mine"})
public final class BenchCommand implements Callable<Integer> {

    @Option(names = "--quick", description = "The short run (under 6 minutes on 2 cores): 1,100,1000 connections, "
            + "0.3 s warm-up and 1 s per point, load steps 50,90,110%%, idle counts 0,1000,5000, and the work "
            + "scenario for thread-per-connection, epoll and netty-epoll (with their --offload 8 forms).")
    private boolean quick;

    @Option(names = "--scenario", split = ",", paramLabel = "NAME", description = "Run only these scenarios: sweep, churn, latency, idle, work, rounds (default: all but rounds).")
    private List<String> scenarios;

    @Option(names = "--rungs", split = ",", paramLabel = "ID", description = "Rungs to run (default: every rung in ./ladder list).")
    private List<String> rungs;

    @Option(names = "--connections", split = ",", paramLabel = "N", description = "Connection counts of the sweep "
            + "(default: 1,10,100,1000,10000; quick: 1,100,1000) and of the rounds (default: 100).")
    private List<Integer> connections;

    @Option(names = "--rounds", paramLabel = "N", description = "With --scenario rounds: how many rounds (default: 5). "
            + "Each round starts every rung afresh, in turn, and measures it closed loop; the report gives each "
            + "round, the mean, and every rung's ratio to the first with its range over the rounds.")
    private Integer rounds;

    @Option(names = "--size", defaultValue = "64", paramLabel = "BYTES", description = "Message size (default: ${DEFAULT-VALUE}).")
    private int size;

    @Option(names = "--duration", paramLabel = "DURATION", converter = Cli.DurationConverter.class,
            description = "Measured time per point (default: 5s; quick: 1s).")
    private Duration duration;

    @Option(names = "--warmup", paramLabel = "DURATION", converter = Cli.DurationConverter.class,
            description = "Warm-up per point, not counted (default: 2s; quick: 300ms).")
    private Duration warmup;

    @Option(names = "--load-steps", split = ",", paramLabel = "PERCENT",
            description = "Offered loads of the latency scenario, in %% of each rung's closed-loop maximum at 100 connections (default: 10,50,80,95,110; quick: 50,90,110).")
    private List<Double> loadSteps;

    @Option(names = "--rates", split = ",", paramLabel = "R", description = "Fixed offered loads in msgs/s for every rung instead of --load-steps.")
    private List<Double> rates;

    @Option(names = "--idle", split = ",", paramLabel = "N", description = "Silent connections beside the 50 active ones, "
            + "one point per count (default: 0,1000,5000,10000; quick: 0,1000,5000; select stops at the first count past FD_SETSIZE).")
    private List<Integer> idleCounts;

    @Option(names = "--work", split = ",", paramLabel = "KIND:DURATION", description = "The handler's work in the work "
            + "scenario, one server per kind (default: cpu:100us,sleep:1ms).")
    private List<String> workKinds;

    @Option(names = "--no-churn", description = "Skip the churn scenario.")
    private boolean noChurn;

    @Option(names = "--client-threads", defaultValue = "1", paramLabel = "N",
            description = "Client event loops (default: ${DEFAULT-VALUE}, leaving the other core to the server).")
    private int clientThreads;

    @Option(names = "--also", paramLabel = "NAME=HOST:PORT", description = "Also measure a server already listening there (e.g. one of your own), under NAME.")
    private List<String> also;

    @Option(names = "--jmh", description = "Also run the JMH benchmarks (short settings, about 2 minutes): a round trip per rung, FFM against NIO.")
    private boolean jmh;

    @Option(names = "--jmh-only", description = "Run only the JMH benchmarks.")
    private boolean jmhOnly;

    @Option(names = "--profile", description = "Also profile every rung (async-profiler, event=cpu) at the sweep's 100 "
            + "connections and the idle scenario's largest count, each on a server of its own: a flame graph per "
            + "rung in DIR/profiles, a CPU budget table and a sentence per rung in report.md (about 10 s more per profile: "
            + "a server's start, the warm-up and at least 5 s measured).")
    private boolean profile;

    @Option(names = "--out", paramLabel = "DIR", description = "Where to write the report (default: bench-results/<date-time>).")
    private Path out;

    private final PrintStream progress;

    public BenchCommand() {
        this(System.err);
    }

    BenchCommand(PrintStream progress) {
        this.progress = progress;
    }

    public static void main(String[] args) {
        Cli.main(new BenchCommand(), args);
    }

    @Override
    public Integer call() throws Exception {
        Bench.Plan plan = plan();
        ZonedDateTime now = ZonedDateTime.now();
        Path dir = out != null ? out
                : Path.of("bench-results", now.format(DateTimeFormatter.ofPattern("yyyy-MM-dd-HHmmss")));
        List<String> rungIds = plan.targets().stream().filter(Bench.Target::isRung).map(Bench.Target::rung).toList();
        if (!jmhOnly) {
            Duration estimate = plan.estimate();
            progress.printf(Locale.ROOT, "bench: %d points, about %d min %02d s; writing to %s%n", plan.points(),
                    estimate.toMinutes(), estimate.toSecondsPart(), dir);
            if (profile) {
                Duration profiles = plan.profileEstimate();
                progress.printf(Locale.ROOT, "bench: then %d profiles (--profile), about %d min %02d s more%n",
                        plan.profiles(), profiles.toMinutes(), profiles.toSecondsPart());
            }
            Bench bench = new Bench(plan, progress);
            long began = System.nanoTime();
            List<Point> points;
            List<Bench.Profiled> profiles = List.of();
            try (Interrupts.Registration ctrlC = Interrupts.onInterrupt(bench::stop)) {
                points = bench.run();
                if (profile && !bench.stopped()) {
                    profiles = bench.profiles(dir.resolve("profiles"));
                }
            }
            BenchReport.Interruption interruption = bench.stopped() ? new BenchReport.Interruption(
                    (System.nanoTime() - began) / 1e9, bench.stoppedDuring(), bench.lastFinished(), points.size(),
                    plan.points()) : null;
            new BenchReport(plan, points, BenchReport.Machine.current(), now, commandLine(), Version.line(), interruption)
                    .write(dir);
            if (!profiles.isEmpty()) {
                Files.writeString(dir.resolve("report.md"), CpuBudget.section(profiles, dir),
                        java.nio.file.StandardOpenOption.APPEND);
            }
            if (interruption != null) {
                progress.println("bench: " + interruption.words() + "; wrote " + dir.resolve("report.md")
                        + " and results.json for those");
                return Interrupts.EXIT_STATUS;
            }
            progress.println("bench: wrote " + dir.resolve("report.md"));
        }
        if (jmh || jmhOnly) {
            progress.printf(Locale.ROOT, "bench: JMH, %d rungs, about %d s; log in %s%n", rungIds.size(),
                    rungIds.size() * 9 + 100, dir.resolve("jmh.txt"));
            String table = Jmh.run(dir, rungIds);
            Path report = dir.resolve("report.md");
            if (Files.exists(report)) {
                Files.writeString(report, "\n" + table, java.nio.file.StandardOpenOption.APPEND);
            }
            progress.println("bench: wrote " + dir.resolve("jmh.md"));
        }
        return 0;
    }

    Bench.Plan plan() {
        List<Bench.Target> targets = new ArrayList<>();
        List<String> known = Rungs.all().stream().map(Rung::id).toList();
        for (String id : rungs != null ? rungs : known) {
            targets.add(Bench.Target.rung(Rungs.require(id).id()));
        }
        for (String external : also != null ? also : List.<String>of()) {
            targets.add(external(external));
        }
        if (targets.isEmpty()) {
            throw LadderException.usage("nothing to measure");
        }
        List<Integer> counts = connections != null ? connections
                : quick ? List.of(1, 100, 1000) : List.of(1, 10, 100, 1000, 10_000);
        for (int c : counts) {
            if (c < 1) {
                throw LadderException.usage("--connections must be at least 1, not " + c);
            }
        }
        if (size < 1 || size > (16 << 20)) {
            throw LadderException.usage("--size must be 1 B to 16 MiB, not " + size);
        }
        if (clientThreads < 1 || clientThreads > 64) {
            throw LadderException.usage("--client-threads must be 1 to 64, not " + clientThreads);
        }
        Duration d = duration != null ? duration : quick ? Duration.ofSeconds(1) : Duration.ofSeconds(5);
        Duration w = warmup != null ? warmup : quick ? Duration.ofMillis(300) : Duration.ofSeconds(2);
        if (d.isZero() || d.isNegative() || w.isNegative()) {
            throw LadderException.usage("--duration must be longer than zero and --warmup not negative");
        }
        List<Double> r = rates != null ? rates : List.of();
        for (double rate : r) {
            if (!(rate > 0)) {
                throw LadderException.usage("--rates must be more than 0");
            }
            if (!io.echoladder.client.LoadSpec.schedulable(rate, RATE_CONNECTIONS)) {
                throw LadderException.usage(io.echoladder.client.LoadSpec.unschedulable(rate, RATE_CONNECTIONS)
                        .replace("--rate ", "--rates "));
            }
        }
        List<Double> steps = loadSteps != null ? loadSteps : quick ? List.of(50.0, 90.0, 110.0)
                : List.of(10.0, 50.0, 80.0, 95.0, 110.0);
        for (double step : steps) {
            if (!(step > 0 && step <= 1000)) {
                throw LadderException.usage("--load-steps must be percentages above 0 and at most 1000, not " + num(step));
            }
        }
        Set<String> chosen = new LinkedHashSet<>(scenarios != null ? scenarios : Bench.DEFAULT_SCENARIOS);
        for (String scenario : chosen) {
            if (!Bench.SCENARIOS.contains(scenario)) {
                throw LadderException.usage("--scenario must be one of " + String.join(", ", Bench.SCENARIOS)
                        + ", not '" + scenario + "'" + Cli.didYouMean(scenario, Bench.SCENARIOS)
                        .map(n -> " (did you mean '" + n + "'?)").orElse(""));
            }
        }
        if (noChurn) {
            chosen.remove("churn");
        }
        if (rounds != null && !chosen.contains("rounds")) {
            throw LadderException.usage("--rounds goes with --scenario rounds");
        }
        int roundCount = rounds != null ? rounds : 5;
        if (roundCount < 1 || roundCount > 100) {
            throw LadderException.usage("--rounds must be 1 to 100, not " + roundCount);
        }
        if (chosen.isEmpty()) {
            throw LadderException.usage("nothing to measure: no scenario left");
        }
        List<Integer> idle = idleCounts != null ? idleCounts : quick ? List.of(0, 1000, 5000) : List.of(0, 1000, 5000, 10_000);
        for (int n : idle) {
            if (n < 0 || n > 15_000) {
                throw LadderException.usage("--idle counts must be 0 to 15000 (one process may hold 20,000 descriptors), not " + n);
            }
        }
        List<String> kinds = workKinds != null ? workKinds : List.of("cpu:100us", "sleep:1ms");
        for (String kind : kinds) {
            try {
                Work.parse(kind);
            } catch (IllegalArgumentException e) {
                throw LadderException.usage("--work: " + e.getMessage());
            }
        }
        List<Bench.Target> rungTargets = targets.stream().filter(Bench.Target::isRung).toList();
        return new Bench.Plan(targets, chosen, List.copyOf(counts), size, w, d, clientThreads, 10, 4096,
                steps.stream().map(s -> s / 100).toList(), List.copyOf(r), RATE_CONNECTIONS,
                new Bench.Idle(rungs != null ? rungTargets : among(Bench.IDLE_RUNGS), List.copyOf(idle), 50),
                new Bench.Work(workTargets(rungs != null ? rungTargets : quick ? among(WORK_QUICK_RUNGS) : rungTargets),
                        List.copyOf(kinds), 100),
                chosen.contains("rounds") ? new Bench.Rounds(roundCount, connections != null ? List.copyOf(counts)
                        : List.of(100)) : Bench.Rounds.NONE,
                // The quick run lets a server settle for less, and each point's warm-up does the JIT's work.
                quick ? Duration.ofMillis(1500) : Duration.ofSeconds(3), !quick);
    }

    /** Connections of the latency scenario: its offered rates are spread over these. */
    static final int RATE_CONNECTIONS = 100;

    /** The work scenario's rungs in a quick run: a thread per client, and a loop by hand and in Netty, enough to show the lesson. */
    static final List<String> WORK_QUICK_RUNGS = List.of("thread-per-connection", "epoll", "netty-epoll");

    /** The rungs of {@code ids} that are on the class path, in ladder order. */
    private static List<Bench.Target> among(List<String> ids) {
        return Rungs.all().stream().map(Rung::id).filter(ids::contains).map(Bench.Target::rung).toList();
    }

    /**
     * The work scenario's targets: each rung that takes {@code --work}, and right after {@code epoll} and
     * {@code netty-epoll} their offloaded form.
     */
    private static List<Bench.Target> workTargets(List<Bench.Target> rungTargets) {
        List<Bench.Target> out = new ArrayList<>();
        for (Bench.Target target : rungTargets) {
            if (Rungs.find(target.rung()).map(r -> !r.settings().contains(Setting.WORK)).orElse(true)) {
                continue;
            }
            out.add(target);
            if (OFFLOADS.contains(target.rung())) {
                out.add(Bench.Target.rung(target.rung(), "--offload", "8"));
            }
        }
        return out;
    }

    /** The rungs that take {@code --offload N}: a pool of N threads does the work, the loop keeps looping. */
    private static final List<String> OFFLOADS = List.of("epoll", "netty-epoll");

    private static String num(double v) {
        return String.format(Locale.ROOT, "%.3f", v).replaceAll("\\.?0+$", "");
    }

    private static Bench.Target external(String spec) {
        int eq = spec.indexOf('=');
        int colon = spec.lastIndexOf(':');
        if (eq <= 0 || colon < eq) {
            throw LadderException.usage("--also takes NAME=HOST:PORT, not '" + spec + "'");
        }
        try {
            InetSocketAddress address = new InetSocketAddress(spec.substring(eq + 1, colon).replaceAll("[\\[\\]]", ""),
                    Integer.parseInt(spec.substring(colon + 1)));
            if (address.isUnresolved()) {
                throw LadderException.usage("cannot resolve host in '" + spec + "'");
            }
            return Bench.Target.outside(spec.substring(0, eq), address);
        } catch (IllegalArgumentException e) {
            throw LadderException.usage("--also takes NAME=HOST:PORT, not '" + spec + "'");
        }
    }

    private static String commandLine() {
        String args = ProcessHandle.current().info().arguments().map(Arrays::asList).orElse(List.of()).stream()
                .dropWhile(a -> !a.equals("bench")).reduce((a, b) -> a + " " + b).orElse("bench");
        return "./ladder " + args;
    }
}
