package io.echoladder.bench;

import io.echoladder.client.LoadClient;
import io.echoladder.client.LoadReport;
import io.echoladder.client.LoadSpec;
import io.echoladder.client.RungProcess;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
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
    static final List<String> SCENARIOS = List.of("sweep", "churn", "latency", "idle", "work", "rounds");

    /** What runs without {@code --scenario}: all but rounds, which repeats what the sweep measures once. */
    static final List<String> DEFAULT_SCENARIOS = SCENARIOS.subList(0, SCENARIOS.size() - 1);

    /** The rungs of the idle scenario unless {@code --rungs} names others: the multiplexers and two thread models. */
    static final List<String> IDLE_RUNGS = List.of("select", "poll", "epoll", "nio-selector", "netty-epoll",
            "thread-per-connection", "virtual-threads");

    /** glibc's {@code FD_SETSIZE}: the highest descriptor {@code select} can watch, plus one. */
    static final int FD_SETSIZE = 1024;

    /**
     * A server to measure: a rung we start (with extra {@code serve} arguments, e.g. {@code --offload 8}),
     * or an external one already listening.
     *
     * @param name      how tables and charts name it: the rung id, followed by its arguments if any
     * @param rung      the rung id, or null for an external server
     * @param arguments extra {@code serve} arguments
     * @param external  the address of a server we do not start, or null
     */
    record Target(String name, String rung, List<String> arguments, InetSocketAddress external) {

        static Target rung(String id, String... arguments) {
            return new Target(arguments.length == 0 ? id : id + " " + String.join(" ", arguments), id,
                    List.of(arguments), null);
        }

        static Target outside(String name, InetSocketAddress address) {
            return new Target(name, null, List.of(), address);
        }

        boolean isRung() {
            return external == null;
        }
    }

    /**
     * The idle scenario: {@code active} connections echo in a closed loop while {@code counts} more stay
     * open and silent, one count per point.
     */
    record Idle(List<Target> targets, List<Integer> counts, int active) {
        static final Idle NONE = new Idle(List.of(), List.of(), 0);

        /** Descriptors a rung's JVM holds besides its clients (jars, its listener, its poller): room left under FD_SETSIZE. */
        static final int JVM_DESCRIPTORS = 64;

        /**
         * The counts a target runs. {@code select} runs those that fit under {@code FD_SETSIZE} with the active
         * connections; if any does not, the most that fits, and then the first count past it as it is: there
         * the rung closes new clients, and the point shows what that costs them. Higher counts would only
         * repeat it.
         */
        List<Integer> counts(Target target) {
            if (!"select".equals(target.rung())) {
                return counts;
            }
            int fits = FD_SETSIZE - active - JVM_DESCRIPTORS;
            List<Integer> run = new ArrayList<>(counts.stream().filter(n -> n <= fits).toList());
            counts.stream().filter(n -> n > fits).min(Integer::compare).ifPresent(past -> {
                if (!run.contains(fits)) {
                    run.add(fits);
                }
                run.add(past);
            });
            return run;
        }

        int points() {
            return targets.stream().mapToInt(t -> counts(t).size()).sum();
        }
    }

    /** The work scenario: each target started once per {@code --work} kind, {@code connections} in a closed loop. */
    record Work(List<Target> targets, List<String> kinds, int connections) {
        static final Work NONE = new Work(List.of(), List.of(), 0);
    }

    /**
     * The rounds scenario: closed-loop points at each of {@code connections}, {@code count} times, a fresh
     * server per target per round and the targets in turn within each round, so that a ratio between two
     * rungs is measured side by side and its spread from round to round is seen, not guessed.
     */
    record Rounds(int count, List<Integer> connections) {
        static final Rounds NONE = new Rounds(0, List.of());
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
     * @param idle             the idle scenario
     * @param work             the work scenario
     * @param rounds           the rounds scenario
     * @param settle           how long a server may take to let go of a point's clients before the next
     * @param warmServers      whether a fresh server gets a warm-up burst of its own before its first point
     */
    record Plan(List<Target> targets, Set<String> scenarios, List<Integer> connections, int size, Duration warmup,
                Duration duration, int clientThreads, int churnConnections, int churnSize, List<Double> loadSteps,
                List<Double> rates, int rateConnections, Idle idle, Work work, Rounds rounds, Duration settle,
                boolean warmServers) {

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
            int idlePoints = runs("idle") ? idle.points() : 0;
            int workPoints = runs("work") ? work.targets().size() * work.kinds().size() : 0;
            int roundPoints = runs("rounds") ? rounds.count() * rounds.connections().size() : 0;
            return targets.size() * (perTarget + roundPoints) + idlePoints + workPoints;
        }

        /** How many servers the run starts. */
        int servers() {
            return (perTargetScenarios() ? targets.size() : 0) + (runs("idle") ? idle.targets().size() : 0)
                    + (runs("work") ? work.targets().size() * work.kinds().size() : 0)
                    + (runs("rounds") ? targets.size() * rounds.count() : 0);
        }

        private boolean perTargetScenarios() {
            return runs("sweep") || runs("churn") || runs("latency");
        }

        /** An estimate: warm-up, window and settling per point, plus starting, warming and stopping each server. */
        Duration estimate() {
            Duration perPoint = warmup.plus(duration).plusMillis(500);
            long idleConnections = runs("idle") ? idle.targets().stream()
                    .mapToLong(t -> idle.counts(t).stream().mapToLong(n -> n).sum()).sum() : 0;
            return perPoint.multipliedBy(points()).plus(warmup.plusMillis(1500).multipliedBy(servers()))
                    .plusMillis(idleConnections / 5); // idle connections open at about 5,000 a second
        }

        /** How many profiles {@code --profile} takes: every rung at the sweep's point, the idle rungs at their largest. */
        int profiles() {
            return (int) targets.stream().filter(Target::isRung).count() + (runs("idle") ? idle.targets().size() : 0);
        }

        /** An estimate of the profiles: warm-up and window each, plus starting the server and writing its profile. */
        Duration profileEstimate() {
            return longer(warmup, PROFILE_WARMUP).plus(longer(duration, PROFILE_WINDOW)).plusSeconds(4)
                    .multipliedBy(profiles());
        }
    }


    private final Plan plan;
    private final PrintStream progress;
    private int done;
    /** Every point recorded so far, in order: what an interrupted run reports. */
    private final List<Point> finished = new ArrayList<>();
    /** Asked for by {@link #stop}; every run of the client is handed it, so the one under way ends at once. */
    private final LoadClient.Stop stop = new LoadClient.Stop();
    /** The progress label of the point being measured, null between points. */
    private volatile String underWay;
    /** The progress label of the last point that finished. */
    private volatile String lastFinished;
    private volatile String stoppedDuring;

    Bench(Plan plan, PrintStream progress) {
        this.plan = plan;
        this.progress = progress;
    }

    /**
     * Ends the run from another thread (Ctrl-C): the point under way stops measuring at once and is
     * dropped, its server is stopped, and {@link #run} returns the points that finished.
     */
    void stop() {
        stoppedDuring = underWay;
        stop.now();
    }

    boolean stopped() {
        return stop.requested();
    }

    /** The point that was under way when the run was stopped ({@code [12/94] sweep epoll 100 conn}), or null. */
    String stoppedDuring() {
        return stoppedDuring;
    }

    /** The last point that finished before the stop, or null if none had. */
    String lastFinished() {
        return lastFinished;
    }

    /** Thrown through the scenario loops when the run is stopped; {@link #run} ends there. */
    private static final class Stopped extends RuntimeException {
        Stopped() {
            super(null, null, false, false);
        }
    }

    private void checkStop() {
        if (stop.requested()) {
            throw new Stopped();
        }
    }

    /** Every scenario of the plan, in order; the points that finished, if {@link #stop} cut the run short. */
    List<Point> run() throws InterruptedException {
        try {
            return runAll();
        } catch (Stopped e) {
            return List.copyOf(finished);
        }
    }

    private List<Point> runAll() throws InterruptedException {
        List<Point> points = new ArrayList<>();
        if (plan.perTargetScenarios()) {
            for (Target target : plan.targets()) {
                points.addAll(target(target));
            }
        }
        if (plan.runs("idle")) {
            for (Target target : plan.idle().targets()) {
                points.addAll(idle(target));
            }
        }
        if (plan.runs("work")) {
            for (String kind : plan.work().kinds()) {
                for (Target target : plan.work().targets()) {
                    points.add(work(target, kind));
                }
            }
        }
        if (plan.runs("rounds")) {
            for (int round = 1; round <= plan.rounds().count(); round++) {
                for (Target target : plan.targets()) {
                    points.addAll(round(target, round));
                }
            }
        }
        return points;
    }

    /**
     * A profile taken by {@code bench --profile}: one rung at one point, as collapsed stacks: the server's
     * file and, for a process rung, one file per worker.
     */
    record Profiled(String target, String point, String rate, long answered, List<Path> files) {
    }

    /** The sweep's point that {@code --profile} profiles every rung at. */
    static final int PROFILE_CONNECTIONS = 100;

    /**
     * {@code bench --profile}: every rung again at the sweep's {@value #PROFILE_CONNECTIONS} connections,
     * and the idle scenario's rungs at its largest count, each on a fresh server started with
     * {@code --profile} into {@code dir}. A profile covers the server's whole life: its start, the point's
     * warm-up (at least {@link #PROFILE_WARMUP}) and its window (at least {@link #PROFILE_WINDOW}); SIGTERM ends it and the server (and each
     * worker) writes its file.
     */
    List<Profiled> profiles(Path dir) throws InterruptedException {
        List<Profiled> profiles = new ArrayList<>();
        try {
            Files.createDirectories(dir);
            for (Target target : plan.targets()) {
                if (target.isRung()) {
                    profile(target, Load.closed("sweep", PROFILE_CONNECTIONS), "sweep-100", dir, profiles);
                }
            }
            if (plan.runs("idle")) {
                for (Target target : plan.idle().targets()) {
                    int largest = plan.idle().counts(target).stream().max(Integer::compare).orElse(0);
                    profile(target, new Load("idle", plan.idle().active(), largest, null, 0, 0, 0),
                            "idle-" + largest, dir, profiles);
                }
            }
        } catch (Stopped e) {
            // Ctrl-C: the profiles taken so far
        } catch (IOException e) {
            progress.println("profile: cannot write to " + dir + ": " + e.getMessage());
        }
        return profiles;
    }

    private void profile(Target target, Load load, String label, Path dir, List<Profiled> profiles)
            throws InterruptedException, IOException {
        checkStop();
        String stem = target.name().replaceAll("[^A-Za-z0-9.-]+", "-") + "-" + label;
        Path file = dir.resolve(stem + ".collapsed");
        progress.print(String.format(Locale.ROOT, "profile  %-24s %s ... ", target.name(), label.replace('-', ' ')));
        progress.flush();
        if (load.connections() + load.idle() + 64 > descriptorLimit()) {
            progress.println("skipped: more descriptors than one process may open");
            return;
        }
        Server server;
        try {
            server = Server.start(target, List.of("--profile", file.toString()));
        } catch (IOException e) {
            progress.println("server did not start: " + e.getMessage());
            return;
        }
        server.stopLimit = PROFILE_STOP_LIMIT;
        String rate;
        long answered;
        try (server; IdleCrowd crowd = IdleCrowd.open(server.address(), load.idle(), IDLE_OPEN_LIMIT)) {
            // At least PROFILE_WINDOW, also in a quick run: the profile covers the server's start and JIT too,
            // and a longer window makes them a smaller share of it. The warm-up and the reply timeout are
            // long enough for a process rung's workers to start (64 JVMs at once, each loading the profiler,
            // take seconds on 2 cores): a budget of a server that answered nothing would show only its start.
            LoadReport report = load(server.address(), load, LoadClient.Window.NONE,
                    longer(plan.duration(), PROFILE_WINDOW), longer(plan.warmup(), PROFILE_WARMUP), PROFILE_WINDOW);
            // The profiled run's own rate: a budget is read against what the server was doing meanwhile.
            rate = report == null ? "client failed" : String.format(Locale.ROOT, "%,.0f msgs/s%s",
                    report.messagesPerSecond(), report.unanswered().messages() > 0
                            ? String.format(Locale.ROOT, ", %,d unanswered", report.unanswered().messages()) : "");
            answered = report == null ? 0 : report.messages();
        }
        checkStop();
        List<Path> files = new ArrayList<>();
        try (var all = Files.list(dir)) {
            all.filter(f -> f.equals(file) || f.getFileName().toString().matches(
                    java.util.regex.Pattern.quote(stem) + "-\\d+\\.collapsed")).sorted().forEach(files::add);
        }
        if (files.remove(file)) {
            files.addFirst(file); // the server's own first: the flame graph is named after it
        }
        progress.println(rate + "; " + (files.isEmpty() ? "no profile written" : files.size() == 1 ? "written"
                : files.size() + " files (server and workers)"));
        if (!files.isEmpty()) {
            profiles.add(new Profiled(target.name(), label, rate, answered, files));
        }
    }

    /** The shortest measured window of a profile; also its reply timeout. */
    static final Duration PROFILE_WINDOW = Duration.ofSeconds(5);

    /** The shortest warm-up of a profile: the workers of a process rung start in it. */
    static final Duration PROFILE_WARMUP = Duration.ofSeconds(5);

    private static Duration longer(Duration a, Duration b) {
        return a.compareTo(b) >= 0 ? a : b;
    }

    /** How long a profiled server may take to write its profiles once stopped (serve waits up to 30 s). */
    private static final Duration PROFILE_STOP_LIMIT = Duration.ofSeconds(35);

    /** One round of one target: a fresh server, a closed-loop point per connection count. */
    private List<Point> round(Target target, int round) throws InterruptedException {
        return onFreshServer(target, plan.rounds().connections().stream().map(c -> Load.round(c, round)).toList());
    }

    /** The idle scenario for one rung: a point per count of silent connections, opened before it and closed after. */
    private List<Point> idle(Target target) throws InterruptedException {
        return onFreshServer(target, plan.idle().counts(target).stream()
                .map(n -> new Load("idle", plan.idle().active(), n, null, 0, 0, 0)).toList());
    }

    /** Starts a server for {@code target}, warms it up, runs {@code loads} against it in order and stops it. */
    private List<Point> onFreshServer(Target target, List<Load> loads) throws InterruptedException {
        return withServer(target, List.of(), loads, server -> {
            warmUp(server);
            List<Point> points = new ArrayList<>();
            for (Load load : loads) {
                points.add(point(server, load));
            }
            return points;
        });
    }

    /** The work scenario for one target and one kind of work: a server of its own, started with {@code --work KIND}. */
    private Point work(Target target, String kind) throws InterruptedException {
        Load load = new Load("work", plan.work().connections(), 0, kind, 0, 0, 0);
        // Its own warm-up is enough: a fresh server per point here.
        return withServer(target, List.of("--work", kind), List.of(load), server -> List.of(point(server, load)))
                .getFirst();
    }

    /** The points one server process runs. */
    private interface OnServer {
        List<Point> run(Server server) throws InterruptedException;
    }

    /**
     * Starts a server for {@code target} with {@code more} {@code serve} arguments, runs {@code points}
     * against it and stops it; if it does not start, each of {@code planned} is recorded as missing, with
     * the reason.
     */
    private List<Point> withServer(Target target, List<String> more, List<Load> planned, OnServer points)
            throws InterruptedException {
        Server server;
        try {
            server = Server.start(target, more);
        } catch (IOException e) {
            progress.println(target.name() + ": server did not start: " + e.getMessage());
            checkStop(); // a server stopped under its start is the interrupt's doing, not the rung's
            List<Point> missing = new ArrayList<>();
            for (Load load : planned) {
                done++;
                missing.add(Point.missing(load, target.name(), "server did not start: " + e.getMessage()));
            }
            finished.addAll(missing);
            return missing;
        }
        try (server) {
            return points.run(server);
        }
    }

    /**
     * What one point asks of a server.
     *
     * @param scenario    one of {@link #SCENARIOS}
     * @param connections connections at once (churn: exchanges at once)
     * @param idle        silent connections held open beside them (idle scenario), else 0
     * @param work        the server's {@code --work} (work scenario), else null
     * @param rate        offered msgs/s (open loop), 0 for closed loop
     * @param load        the offered rate as a share of the rung's closed-loop maximum, else 0
     * @param round       which round (rounds scenario, from 1), else 0
     */
    record Load(String scenario, int connections, int idle, String work, double rate, double load, int round) {

        static Load closed(String scenario, int connections) {
            return new Load(scenario, connections, 0, null, 0, 0, 0);
        }

        static Load open(int connections, double rate, double load) {
            return new Load("latency", connections, 0, null, rate, load, 0);
        }

        static Load round(int connections, int round) {
            return new Load("rounds", connections, 0, null, 0, 0, round);
        }

        LoadSpec.Mode mode() {
            return scenario.equals("churn") ? LoadSpec.Mode.CHURN : LoadSpec.Mode.PERSISTENT;
        }
    }

    /** Every point of one server, against one process of it. */
    private List<Point> target(Target target) throws InterruptedException {
        return withServer(target, List.of(), planned(), server -> {
            warmUp(server);
            List<Point> points = new ArrayList<>();
            if (plan.runs("sweep")) {
                for (int connections : plan.connections()) {
                    points.add(point(server, Load.closed("sweep", connections)));
                }
            }
            if (plan.runs("churn")) {
                points.add(point(server, Load.closed("churn", plan.churnConnections())));
            }
            if (plan.runs("latency")) {
                points.addAll(latency(server, points));
            }
            return points;
        });
    }

    /**
     * Before its first point, a fresh server gets a warm-up of its own (two connections, closed loop, as
     * long as a point's warm-up), so that its first point is not the one that pays for class loading and
     * the JIT compiler. Nothing of it is recorded.
     */
    private void warmUp(Server server) throws InterruptedException {
        if (server.target.isRung() && plan.warmServers()) {
            load(server.address(), Load.closed("warm-up", 2), LoadClient.Window.NONE, plan.warmup(), Duration.ZERO);
            server.settle(plan.settle());
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
                points.add(point(server, Load.open(plan.rateConnections(), rate, 0)));
            }
            return points;
        }
        Optional<Point> base = sofar.stream().filter(p -> p.scenario().equals("sweep")
                && p.connections() == plan.rateConnections() && p.ran()).findFirst();
        if (base.isEmpty()) {
            Point own = point(server, Load.closed("latency", plan.rateConnections()));
            points.add(own);
            base = Optional.of(own).filter(Point::ran);
        }
        double maximum = Math.max(MINIMUM_BASE, base.map(Point::messagesPerSecond).orElse(0.0));
        for (double step : plan.loadSteps()) {
            points.add(point(server, Load.open(plan.rateConnections(), Math.round(step * maximum), step)));
        }
        return points;
    }

    /** The closed-loop maximum below which the latency steps are taken from this instead. */
    static final double MINIMUM_BASE = 1000;

    /** The points a target would have run, for reporting them missing. */
    private List<Load> planned() {
        List<Load> all = new ArrayList<>();
        if (plan.runs("sweep")) {
            plan.connections().forEach(c -> all.add(Load.closed("sweep", c)));
        }
        if (plan.runs("churn")) {
            all.add(Load.closed("churn", plan.churnConnections()));
        }
        if (plan.runs("latency")) {
            if (plan.latencyNeedsBase()) {
                all.add(Load.closed("latency", plan.rateConnections()));
            }
            if (plan.rates().isEmpty()) {
                plan.loadSteps().forEach(s -> all.add(Load.open(plan.rateConnections(), 0, s)));
            } else {
                plan.rates().forEach(r -> all.add(Load.open(plan.rateConnections(), r, 0)));
            }
        }
        return all;
    }

    private Point point(Server server, Load load) throws InterruptedException {
        checkStop();
        done++;
        String what = String.format(Locale.ROOT, "[%d/%d] %-8s %-24s %,6d conn%s%s%s%s", done, plan.points(),
                load.scenario(), server.target.name(), load.connections(),
                load.idle() > 0 ? String.format(Locale.ROOT, " + %,d idle", load.idle()) : "",
                load.work() != null ? " --work " + load.work() : "",
                load.rate() > 0 ? String.format(Locale.ROOT, " at %,.0f msgs/s", load.rate()) : "",
                load.round() > 0 ? " round " + load.round() : "");
        progress.print(what + " ... ");
        progress.flush();
        underWay = what.replaceAll("\\s+", " ");
        Point point = measure(server, load);
        if (stop.requested()) {
            progress.println("interrupted");
            progress.flush();
            throw new Stopped(); // cut short: not a measurement of anything
        }
        lastFinished = underWay;
        underWay = null;
        progress.println(point.ran() ? summary(point) : point.note());
        progress.flush();
        finished.add(point);
        return point;
    }

    private static String summary(Point point) {
        LoadReport report = point.report();
        String line = String.format(Locale.ROOT, "%,.0f msgs/s, p99 %s", point.messagesPerSecond(), report.latencyText(99));
        if (report.unanswered().messages() > 0) {
            line += String.format(Locale.ROOT, ", %,d unanswered", report.unanswered().messages());
        }
        if (point.errors() > 0) {
            line += ", " + point.errors() + " errors";
        }
        return point.note() == null ? line : line + " (" + point.note() + ")";
    }

    private Point measure(Server server, Load load) throws InterruptedException {
        String name = server.target.name();
        long limit = descriptorLimit();
        if (load.connections() + load.idle() + 64 > limit) {
            return Point.missing(load, name, "skipped: " + (load.connections() + load.idle())
                    + " connections need more descriptors than one process may open (" + limit + ")");
        }
        if (!server.isAlive()) {
            return Point.missing(load, name, "server exited: " + server.process.diagnostics());
        }
        if (!server.target.isRung()) {
            LoadReport report = load(server.address(), load, LoadClient.Window.NONE);
            return report == null ? Point.missing(load, name, "client failed")
                    : new Point(load, name, report, Point.Server.NONE, null, Map.of(), null);
        }
        LoadReport report;
        Point.Server figures;
        String note = null;
        try (IdleCrowd crowd = IdleCrowd.open(server.address(), load.idle(), IDLE_OPEN_LIMIT);
             ServerSampler sampler = new ServerSampler(server.process.pid())) {
            if (crowd.failure() != null) {
                note = crowd.failure();
            }
            report = load(server.address(), load, sampler);
            figures = sampler.figures();
            int held = crowd.held();
            if (held < crowd.opened()) {
                note = (note == null ? "" : note + "; ") + String.format(Locale.ROOT,
                        "the server closed %,d of the %,d idle connections", crowd.opened() - held, crowd.opened());
            }
        }
        server.settle(plan.settle());
        ServerStats served = server.pointStats();
        if (report == null) {
            return Point.missing(load, name, "client failed; " + server.process.diagnostics());
        }
        if (report.connected() == 0) {
            note = "no connection succeeded: " + report.errors().firsts().values().stream().findFirst().orElse("?");
        }
        return new Point(load, name, report, figures, served == null ? null : served.perWorkerWords(),
                served == null ? Map.of() : served.served(), note);
    }

    /** How long the idle connections of one point may take to open. */
    private static final Duration IDLE_OPEN_LIMIT = Duration.ofSeconds(20);

    private LoadReport load(InetSocketAddress address, Load load, LoadClient.Window window) throws InterruptedException {
        return load(address, load, window, plan.duration(), plan.warmup());
    }

    private LoadReport load(InetSocketAddress address, Load load, LoadClient.Window window, Duration duration,
                            Duration warmupBefore) throws InterruptedException {
        return load(address, load, window, duration, warmupBefore, plan.replyTimeout());
    }

    private LoadReport load(InetSocketAddress address, Load load, LoadClient.Window window, Duration duration,
                            Duration warmupBefore, Duration replyTimeout) throws InterruptedException {
        int connections = load.connections();
        // Many connections ramp up at 5,000 a second; the warm-up covers the ramp.
        double connectRate = connections >= 1000 ? 5000 : 0;
        Duration ramp = connectRate > 0 ? Duration.ofMillis((long) (connections / connectRate * 1000)) : Duration.ZERO;
        Duration warmup = warmupBefore.plus(ramp);
        int size = load.mode() == LoadSpec.Mode.CHURN ? plan.churnSize() : plan.size();
        LoadSpec spec = new LoadSpec(load.mode(), address, connections, size, duration, 0, warmup,
                Math.min(plan.clientThreads(), connections), 1, load.rate(), replyTimeout, connectRate,
                Duration.ofSeconds(1), 1);
        try {
            return LoadClient.run(spec, null, window, stop);
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
        private ServerStats pointStats;
        /** How long {@link #close()} waits for the server's exit after SIGTERM. */
        Duration stopLimit = Duration.ofSeconds(5);

        private Server(Target target, RungProcess process) {
            this.target = target;
            this.process = process;
            if (process != null) {
                baselineFds = ServerSampler.fds(process.pid());
                baselineProcesses = ServerSampler.processes(process.pid());
            }
        }

        static Server start(Target target, List<String> more) throws IOException {
            if (!target.isRung()) {
                return new Server(target, null);
            }
            // --stats 100ms: the server prints its per-worker counts as it goes, read after each point.
            List<String> arguments = new ArrayList<>(statsArguments(target.rung()));
            arguments.addAll(target.arguments());
            arguments.addAll(more);
            return new Server(target, RungProcess.start(target.rung(), arguments));
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
        void settle(Duration limit) throws InterruptedException {
            if (process == null) {
                return;
            }
            long deadline = System.nanoTime() + limit.toNanos();
            while (System.nanoTime() < deadline && process.process().isAlive()
                    && (ServerSampler.fds(process.pid()) > baselineFds + 16
                    || ServerSampler.processes(process.pid()) > baselineProcesses)) {
                Thread.sleep(20);
            }
            Thread.sleep(120); // the --stats line (every 100 ms) of the point just run
            pointStats = readPointStats();
        }

        private ServerStats previous = ServerStats.NONE;

        /**
         * The counts one point added: the server prints its running totals as one JSON line each
         * {@code --stats} interval, so the point's own are the last line now minus the last before it.
         */
        private ServerStats readPointStats() {
            List<String> lines = process.stdout().stream()
                    .filter(l -> l.startsWith(io.echoladder.common.Stats.JSON_PREFIX)).toList();
            if (lines.isEmpty()) {
                return null;
            }
            ServerStats now = ServerStats.parse(lines.getLast());
            ServerStats point = now.minus(previous);
            previous = now;
            return point;
        }

        /** The counts of the point just run, per worker, from the server's --stats lines; null without them. */
        ServerStats pointStats() {
            return pointStats;
        }

        @Override
        public void close() throws InterruptedException {
            if (process != null) {
                process.terminate(stopLimit);
                process.close();
            }
        }
    }
}
