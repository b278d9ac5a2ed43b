package io.echoladder.bench;

import io.echoladder.common.Cli;
import io.echoladder.common.LadderException;
import io.echoladder.common.Rung;
import io.echoladder.common.Rungs;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ./ladder bench}: every rung, one client, one command; a report with tables and charts.
 */
@Command(name = "bench", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Run the whole ladder under the shared client and write a report: results.json, report.md, PNG charts.",
                "Scenarios: a sweep of connection counts (closed loop), churn (a connection per exchange),",
                "open-loop latency at fixed rates, and the accept distribution of the pooled rungs."})
public final class BenchCommand implements Callable<Integer> {

    @Option(names = "--quick", description = "The short run (under 5 minutes on 2 cores): 1,10,100,1000 connections, 2 s per point.")
    private boolean quick;

    @Option(names = "--rungs", split = ",", paramLabel = "ID", description = "Rungs to run (default: every rung in ./ladder list).")
    private List<String> rungs;

    @Option(names = "--connections", split = ",", paramLabel = "N", description = "Connection counts of the sweep (default: 1,10,100,1000,10000; quick: 1,10,100,1000).")
    private List<Integer> connections;

    @Option(names = "--size", defaultValue = "64", paramLabel = "BYTES", description = "Message size (default: ${DEFAULT-VALUE}).")
    private int size;

    @Option(names = "--duration", paramLabel = "DURATION", converter = Cli.DurationConverter.class,
            description = "Measured time per point (default: 5s; quick: 2s).")
    private Duration duration;

    @Option(names = "--warmup", paramLabel = "DURATION", converter = Cli.DurationConverter.class,
            description = "Warm-up per point, not counted (default: 2s; quick: 750ms).")
    private Duration warmup;

    @Option(names = "--rates", split = ",", paramLabel = "R", description = "Offered loads of the open-loop scenario, msgs/s (default: 1000,10000; quick: 5000).")
    private List<Double> rates;

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
        List<String> rungIds = plan.targets().stream().filter(Bench.Target::isRung).map(Bench.Target::name).toList();
        if (!jmhOnly) {
            Duration estimate = plan.estimate();
            progress.printf(Locale.ROOT, "bench: %d points, about %d min %02d s; writing to %s%n", plan.points(),
                    estimate.toMinutes(), estimate.toSecondsPart(), dir);
            List<Point> points = new Bench(plan, progress).run();
            new BenchReport(plan, points, BenchReport.Machine.current(), now, commandLine()).write(dir);
            progress.println("bench: wrote " + dir.resolve("report.md"));
        }
        if (jmh || jmhOnly) {
            progress.printf(Locale.ROOT, "bench: JMH, %d rungs, about %d s; log in %s%n", rungIds.size(),
                    rungIds.size() * 9 + 20, dir.resolve("jmh.txt"));
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
            if (!known.contains(id)) {
                throw LadderException.usage("unknown rung '" + id + "' (./ladder list shows them)");
            }
            targets.add(new Bench.Target(id, null));
        }
        for (String external : also != null ? also : List.<String>of()) {
            targets.add(external(external));
        }
        if (targets.isEmpty()) {
            throw LadderException.usage("nothing to measure");
        }
        List<Integer> counts = connections != null ? connections
                : quick ? List.of(1, 10, 100, 1000) : List.of(1, 10, 100, 1000, 10_000);
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
        Duration d = duration != null ? duration : quick ? Duration.ofSeconds(2) : Duration.ofSeconds(5);
        Duration w = warmup != null ? warmup : quick ? Duration.ofMillis(750) : Duration.ofSeconds(2);
        if (d.isZero() || d.isNegative() || w.isNegative()) {
            throw LadderException.usage("--duration must be longer than zero and --warmup not negative");
        }
        List<Double> r = rates != null ? rates : quick ? List.of(5000.0) : List.of(1000.0, 10_000.0);
        for (double rate : r) {
            if (!(rate > 0)) {
                throw LadderException.usage("--rates must be more than 0");
            }
        }
        return new Bench.Plan(targets, List.copyOf(counts), size, w, d, clientThreads, noChurn ? 0 : 10, 4096,
                List.copyOf(r), 50);
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
            return new Bench.Target(spec.substring(0, eq), address);
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
