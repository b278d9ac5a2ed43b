package io.echoladder.bench;

import io.echoladder.client.LoadClient;
import io.echoladder.client.LoadReport;
import io.echoladder.client.LoadSpec;
import io.echoladder.client.RungProcess;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * Runs the ladder's scenarios: each rung as its own process, started once for its sweep, churn and
 * latency points and left to settle between them, driven by the shared client in this JVM, its costs read
 * from /proc and perf over each measured window. A point that cannot run (a descriptor limit, a server
 * that does not start) is recorded with a note and the run moves on; every point is bounded by its
 * warm-up, its window and the drain after it, so the whole run is bounded.
 */
final class Bench {

    /** The scenarios, by the names {@code --scenario} takes. */
    static final List<String> SCENARIOS = List.of("sweep", "churn", "latency");

    /** A server to measure: a rung we start, or an external one already listening. */
    record Target(String name, InetSocketAddress external) {
        boolean isRung() {
            return external == null;
        }
    }

    /**
     * What to run.
     *
     * @param targets          rungs and external servers, in ladder order
     * @param scenarios        which of {@link #SCENARIOS} to run
     * @param connections      the sweep's connection counts
     * @param size             message size
     * @param warmup           per point, before the window
     * @param duration         per point, the measured window
     * @param clientThreads    client event loops: 1 leaves the other core to the server on 2 cores
     * @param churnConnections exchanges at once in the churn scenario
     * @param churnSize        bytes per churn exchange
     * @param loadSteps        offered loads of the latency scenario, as fractions of each rung's
     *                         closed-loop maximum at {@code rateConnections} (used unless {@code rates})
     * @param rates            fixed offered loads in msgs/s instead of steps (empty: use the steps)
     * @param rateConnections  connections of the latency scenario
     */
    record Plan(List<Target> targets, Set<String> scenarios, List<Integer> connections, int size, Duration warmup,
                Duration duration, int clientThreads, int churnConnections, int churnSize, List<Double> loadSteps,
                List<Double> rates, int rateConnections) {

        /**
         * A reply slower than this is a timeout: at most half the window, so a connection the server never
         * answers (it waits in a backlog, say) is counted as one within the point instead of going unseen.
         */
        Duration replyTimeout() {
            Duration half = duration.dividedBy(2);
            return half.compareTo(Duration.ofSeconds(2)) < 0 ? half : Duration.ofSeconds(2);
        }

        boolean runs(String scenario) {
            return scenarios.contains(scenario);
        }

        /** Whether the latency scenario needs a closed-loop point of its own (the sweep does not have one). */
        boolean latencyNeedsBase() {
            return runs("latency") && rates.isEmpty() && !(runs("sweep") && connections.contains(rateConnections));
        }

        int points() {
            int perTarget = (runs("sweep") ? connections.size() : 0) + (runs("churn") ? 1 : 0)
                    + (runs("latency") ? (rates.isEmpty() ? loadSteps.size() : rates.size()) : 0)
                    + (latencyNeedsBase() ? 1 : 0);
            return targets.size() * perTarget;
        }

        /** An estimate: warm-up, window and settling per point, plus starting and stopping each server. */
        Duration estimate() {
            Duration perPoint = warmup.plus(duration).plusMillis(150);
            return perPoint.multipliedBy(points()).plus(Duration.ofMillis(1500).multipliedBy(targets.size()));
        }
    }

    private static final Duration SETTLE_LIMIT = Duration.ofSeconds(3);

    private final Plan plan;
    private final PrintStream progress;
    private int done;

    Bench(Plan plan, PrintStream progress) {
        this.plan = plan;
        this.progress = progress;
    }

    List<Point> run() throws InterruptedException {
        List<Point> points = new ArrayList<>();
        for (Target target : plan.targets()) {
            points.addAll(target(target));
        }
        return points;
    }

    /** Every point of one server, against one process of it. */
    private List<Point> target(Target target) throws InterruptedException {
        List<Point> points = new ArrayList<>();
        Server server;
        try {
            server = Server.start(target);
        } catch (IOException e) {
            for (Planned planned : planned(List.of())) {
                done++;
                points.add(Point.missing(planned.scenario, target.name(), planned.connections, planned.rate,
                        planned.load, "server did not start: " + e.getMessage()));
            }
            progress.println(target.name() + ": server did not start: " + e.getMessage());
            return points;
        }
        try (server) {
            warmUp(server);
            if (plan.runs("sweep")) {
                for (int connections : plan.connections()) {
                    points.add(point(server, "sweep", LoadSpec.Mode.PERSISTENT, connections, plan.size(), 0, 0));
                }
            }
            if (plan.runs("churn")) {
                points.add(point(server, "churn", LoadSpec.Mode.CHURN, plan.churnConnections(), plan.churnSize(), 0, 0));
            }
            if (plan.runs("latency")) {
                points.addAll(latency(server, points));
            }
        }
        return points;
    }

    /**
     * Before its first point, a fresh server gets a warm-up of its own (two connections, closed loop, as
     * long as a point's warm-up), so that its first point is not the one that pays for class loading and
     * the JIT compiler. Nothing of it is recorded.
     */
    private void warmUp(Server server) throws InterruptedException {
        if (server.target.isRung()) {
            load(server.address(), LoadSpec.Mode.PERSISTENT, 2, plan.size(), 0, LoadClient.Window.NONE, plan.warmup(), Duration.ZERO);
            server.settle();
        }
    }

    /**
     * Latency against offered load: open loop at each step's share of the rung's own closed-loop maximum
     * at the same connection count, measured in this run (the sweep's point, or one of its own), so that
     * every rung's curve shows its knee. A rung that answered (almost) nothing closed-loop is offered
     * steps of 1,000 msgs/s instead, and shows what it does with them.
     */
    private List<Point> latency(Server server, List<Point> sofar) throws InterruptedException {
        List<Point> points = new ArrayList<>();
        if (!plan.rates().isEmpty()) {
            for (double rate : plan.rates()) {
                points.add(point(server, "latency", LoadSpec.Mode.PERSISTENT, plan.rateConnections(), plan.size(), rate, 0));
            }
            return points;
        }
        Optional<Point> base = sofar.stream().filter(p -> p.scenario().equals("sweep")
                && p.connections() == plan.rateConnections() && p.ran()).findFirst();
        if (base.isEmpty()) {
            Point own = point(server, "latency", LoadSpec.Mode.PERSISTENT, plan.rateConnections(), plan.size(), 0, 0);
            points.add(own);
            base = Optional.of(own).filter(Point::ran);
        }
        double maximum = Math.max(MINIMUM_BASE, base.map(Point::messagesPerSecond).orElse(0.0));
        for (double step : plan.loadSteps()) {
            points.add(point(server, "latency", LoadSpec.Mode.PERSISTENT, plan.rateConnections(), plan.size(),
                    Math.round(step * maximum), step));
        }
        return points;
    }

    /** The closed-loop maximum below which the latency steps are taken from this instead. */
    static final double MINIMUM_BASE = 1000;

    private record Planned(String scenario, int connections, double rate, double load) {
    }

    /** The points a target would have run, for reporting them missing. */
    private List<Planned> planned(List<Point> ignored) {
        List<Planned> all = new ArrayList<>();
        if (plan.runs("sweep")) {
            plan.connections().forEach(c -> all.add(new Planned("sweep", c, 0, 0)));
        }
        if (plan.runs("churn")) {
            all.add(new Planned("churn", plan.churnConnections(), 0, 0));
        }
        if (plan.runs("latency")) {
            if (plan.rates().isEmpty()) {
                plan.loadSteps().forEach(s -> all.add(new Planned("latency", plan.rateConnections(), 0, s)));
            } else {
                plan.rates().forEach(r -> all.add(new Planned("latency", plan.rateConnections(), r, 0)));
            }
        }
        return all;
    }

    private Point point(Server server, String scenario, LoadSpec.Mode mode, int connections, int size, double rate,
                        double load) throws InterruptedException {
        done++;
        String what = String.format(Locale.ROOT, "[%d/%d] %-8s %-22s %,6d conn%s", done, plan.points(), scenario,
                server.target.name(), connections, rate > 0 ? String.format(Locale.ROOT, " at %,.0f msgs/s", rate) : "");
        progress.print(what + " ... ");
        progress.flush();
        Point point = measure(server, scenario, mode, connections, size, rate, load);
        progress.println(point.ran() ? summary(point) : point.note());
        progress.flush();
        return point;
    }

    private static String summary(Point point) {
        LoadReport report = point.report();
        String line = String.format(Locale.ROOT, "%,.0f msgs/s, p99 %s", point.messagesPerSecond(), report.latencyText(99));
        if (report.unanswered().messages() > 0) {
            line += String.format(Locale.ROOT, ", %,d unanswered", report.unanswered().messages());
        }
        return point.errors() > 0 ? line + ", " + point.errors() + " errors" : line;
    }

    private Point measure(Server server, String scenario, LoadSpec.Mode mode, int connections, int size, double rate,
                          double load) throws InterruptedException {
        long limit = descriptorLimit();
        if (connections + 64 > limit) {
            return Point.missing(scenario, server.target.name(), connections, rate, load, "skipped: " + connections
                    + " connections need more descriptors than one process may open (" + limit + ")");
        }
        if (!server.isAlive()) {
            return Point.missing(scenario, server.target.name(), connections, rate, load,
                    "server exited: " + server.process.diagnostics());
        }
        if (!server.target.isRung()) {
            LoadReport report = load(server.address(), mode, connections, size, rate, LoadClient.Window.NONE);
            return report == null
                    ? Point.missing(scenario, server.target.name(), connections, rate, load, "client failed")
                    : new Point(scenario, server.target.name(), connections, rate, load, report, Point.Server.NONE,
                    null, null);
        }
        LoadReport report;
        Point.Server figures;
        try (ServerSampler sampler = new ServerSampler(server.process.pid())) {
            report = load(server.address(), mode, connections, size, rate, sampler);
            figures = sampler.figures();
        }
        server.settle();
        String served = server.servedPerWorker();
        if (report == null) {
            return Point.missing(scenario, server.target.name(), connections, rate, load,
                    "client failed; " + server.process.diagnostics());
        }
        String note = null;
        if (report.connected() == 0) {
            note = "no connection succeeded: " + report.errors().firsts().values().stream().findFirst().orElse("?");
        }
        return new Point(scenario, server.target.name(), connections, rate, load, report, figures, served, note);
    }

    private LoadReport load(InetSocketAddress address, LoadSpec.Mode mode, int connections, int size, double rate,
                            LoadClient.Window window) throws InterruptedException {
        return load(address, mode, connections, size, rate, window, plan.duration(), plan.warmup());
    }

    private LoadReport load(InetSocketAddress address, LoadSpec.Mode mode, int connections, int size, double rate,
                            LoadClient.Window window, Duration duration, Duration warmupBefore) throws InterruptedException {
        // Many connections ramp up at 5,000 a second; the warm-up covers the ramp.
        double connectRate = connections >= 1000 ? 5000 : 0;
        Duration ramp = connectRate > 0 ? Duration.ofMillis((long) (connections / connectRate * 1000)) : Duration.ZERO;
        Duration warmup = warmupBefore.plus(ramp);
        LoadSpec spec = new LoadSpec(mode, address, connections, size, duration, 0, warmup,
                Math.min(plan.clientThreads(), connections), 1, rate, plan.replyTimeout(), connectRate,
                Duration.ofSeconds(1), 1);
        try {
            return LoadClient.run(spec, null, window);
        } catch (IOException e) {
            return null;
        }
    }

    private static long descriptorLimit() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.UnixOperatingSystemMXBean unix) {
            return unix.getMaxFileDescriptorCount();
        }
        return Long.MAX_VALUE;
    }

    /** The server of a target: a rung process we started, or the external address. */
    private static final class Server implements AutoCloseable {
        final Target target;
        final RungProcess process;
        private long baselineFds;
        private int baselineProcesses;
        private String servedPerWorker;

        private Server(Target target, RungProcess process) {
            this.target = target;
            this.process = process;
            if (process != null) {
                baselineFds = ServerSampler.fds(process.pid());
                baselineProcesses = ServerSampler.processes(process.pid());
            }
        }

        static Server start(Target target) throws IOException {
            // --stats 100ms: the server prints its per-worker counts as it goes, read after each point.
            return new Server(target, target.isRung() ? RungProcess.start(target.name(), statsArguments(target.name()))
                    : null);
        }

        private static List<String> statsArguments(String rung) {
            return io.echoladder.common.Rungs.find(rung)
                    .filter(r -> r.settings().contains(io.echoladder.common.Setting.STATS))
                    .map(r -> List.of("--stats", "100ms")).orElse(List.of());
        }

        InetSocketAddress address() {
            return process != null ? process.address() : target.external();
        }

        boolean isAlive() {
            return process == null || process.process().isAlive();
        }

        /**
         * Waits, up to a few seconds, for the server to let go of the last point's clients (descriptors
         * and child processes back near where they started), so the next point starts clean.
         */
        void settle() throws InterruptedException {
            if (process == null) {
                return;
            }
            long deadline = System.nanoTime() + SETTLE_LIMIT.toNanos();
            while (System.nanoTime() < deadline && process.process().isAlive()
                    && (ServerSampler.fds(process.pid()) > baselineFds + 16
                    || ServerSampler.processes(process.pid()) > baselineProcesses)) {
                Thread.sleep(20);
            }
            Thread.sleep(150); // the --stats line of the point just run
            String served = delta("served per worker: ");
            String events = delta("events per worker: ");
            servedPerWorker = served == null ? null : events == null ? served : served + "; " + events;
        }

        /**
         * The counts one point added: the server prints its running totals ({@code --stats}), so the
         * point's own are the difference between the last line now and the last line before it.
         */
        private String delta(String prefix) {
            List<String> lines = process.stdout().stream().filter(l -> l.startsWith(prefix)).toList();
            if (lines.isEmpty()) {
                return null;
            }
            java.util.Map<String, Long> now = counts(lines.getLast().substring(prefix.length()));
            java.util.Map<String, Long> before = previous.getOrDefault(prefix, java.util.Map.of());
            previous.put(prefix, now);
            java.util.Map<String, Long> delta = new java.util.LinkedHashMap<>();
            now.forEach((worker, count) -> delta.put(worker, count - before.getOrDefault(worker, 0L)));
            return prefix.strip() + " " + io.echoladder.common.ServeCommand.statsLine(delta)
                    .substring("served per worker: ".length());
        }

        private final java.util.Map<String, java.util.Map<String, Long>> previous = new java.util.HashMap<>();

        /** {@code worker-0=3 worker-1=4 (total 7)} as a map. */
        private static java.util.Map<String, Long> counts(String text) {
            java.util.Map<String, Long> counts = new java.util.LinkedHashMap<>();
            for (String pair : text.replaceAll("\\(total \\d+\\)", "").trim().split("\\s+")) {
                int eq = pair.indexOf('=');
                if (eq > 0) {
                    counts.put(pair.substring(0, eq), Long.parseLong(pair.substring(eq + 1)));
                }
            }
            return counts;
        }

        /** The counts of the point just run, per worker, from the server's --stats lines. */
        String servedPerWorker() {
            return servedPerWorker;
        }

        @Override
        public void close() throws InterruptedException {
            if (process != null) {
                process.terminate(Duration.ofSeconds(5));
                process.close();
            }
        }
    }
}
