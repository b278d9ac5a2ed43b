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

/**
 * Runs the ladder's scenarios: every rung as a fresh process per point, driven by the shared client in
 * this JVM, sampled from /proc. A point that cannot run (a descriptor limit, a server that does not
 * start) is recorded with a note and the run moves on; every point is bounded by its warm-up plus its
 * duration, so the whole run is bounded.
 */
final class Bench {

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
     * @param connections      the sweep's connection counts
     * @param size             message size
     * @param warmup           per point, before the window
     * @param duration         per point, the measured window
     * @param clientThreads    client event loops: 1 leaves the other core to the server on 2 cores
     * @param churnConnections exchanges at once in the churn scenario (0 to skip it)
     * @param churnSize        bytes per churn exchange
     * @param rates            offered loads of the latency scenario (empty to skip it)
     * @param rateConnections  connections of the latency scenario
     */
    record Plan(List<Target> targets, List<Integer> connections, int size, Duration warmup, Duration duration,
                int clientThreads, int churnConnections, int churnSize, List<Double> rates, int rateConnections) {

        /**
         * A reply slower than this is a timeout: at most half the window, so a connection the server never
         * answers (it waits in a backlog, say) is counted as one within the point instead of going unseen.
         */
        Duration replyTimeout() {
            Duration half = duration.dividedBy(2);
            return half.compareTo(Duration.ofSeconds(2)) < 0 ? half : Duration.ofSeconds(2);
        }

        int points() {
            return targets.size() * (connections.size() + (churnConnections > 0 ? 1 : 0) + rates.size());
        }

        /** An estimate: warm-up and window, plus about 1.2 s to start and stop the server (measured). */
        Duration estimate() {
            Duration perPoint = warmup.plus(duration).plusMillis(1200);
            return perPoint.multipliedBy(points());
        }
    }

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
            for (int connections : plan.connections()) {
                points.add(point("sweep", target, LoadSpec.Mode.PERSISTENT, connections, plan.size(), 0));
            }
        }
        if (plan.churnConnections() > 0) {
            for (Target target : plan.targets()) {
                points.add(point("churn", target, LoadSpec.Mode.CHURN, plan.churnConnections(), plan.churnSize(), 0));
            }
        }
        for (double rate : plan.rates()) {
            for (Target target : plan.targets()) {
                points.add(point("latency", target, LoadSpec.Mode.PERSISTENT, plan.rateConnections(), plan.size(), rate));
            }
        }
        return points;
    }

    private Point point(String scenario, Target target, LoadSpec.Mode mode, int connections, int size, double rate)
            throws InterruptedException {
        done++;
        String what = String.format(Locale.ROOT, "[%d/%d] %-8s %-22s %,6d conn%s", done, plan.points(), scenario,
                target.name(), connections, rate > 0 ? String.format(Locale.ROOT, " at %,.0f msgs/s", rate) : "");
        progress.print(what + " ... ");
        progress.flush();
        Point point = measure(scenario, target, mode, connections, size, rate);
        progress.println(point.ran()
                ? String.format(Locale.ROOT, "%,.0f msgs/s, p99 %,.0f us%s", point.messagesPerSecond(),
                        LoadReport.us(point.report().latency(), 99),
                        point.errors() > 0 ? ", " + point.errors() + " errors" : "")
                : point.note());
        progress.flush();
        return point;
    }

    private Point measure(String scenario, Target target, LoadSpec.Mode mode, int connections, int size, double rate)
            throws InterruptedException {
        long limit = descriptorLimit();
        if (connections + 64 > limit) {
            return missing(scenario, target, connections, rate, "skipped: " + connections
                    + " connections need more descriptors than one process may open (" + limit + ")");
        }
        if (!target.isRung()) {
            LoadReport report = load(target.external(), mode, connections, size, rate);
            return report == null
                    ? missing(scenario, target, connections, rate, "client failed")
                    : new Point(scenario, target.name(), connections, rate, report, -1, -1, -1, -1, -1, null, null);
        }
        RungProcess server;
        try {
            server = RungProcess.start(target.name(), List.of());
        } catch (IOException e) {
            return missing(scenario, target, connections, rate, "server did not start: " + e.getMessage());
        }
        try (server; ServerSampler sampler = new ServerSampler(server.pid())) {
            LoadReport report = load(server.address(), mode, connections, size, rate);
            sampler.close();
            long cpu = report == null ? -1 : sampler.cpuNanosBetween(report.windowStart(), report.windowEnd());
            int status = server.terminate(Duration.ofSeconds(5));
            String served = server.stdout().stream().filter(l -> l.startsWith("served per worker:"))
                    .reduce((a, b) -> b).orElse(null);
            String events = server.stdout().stream().filter(l -> l.startsWith("events per worker:"))
                    .reduce((a, b) -> b).orElse(null);
            if (served != null && events != null) {
                served += "; " + events;
            }
            String note = status == 0 ? null : "server exit status " + status + " after SIGTERM";
            if (report == null) {
                return missing(scenario, target, connections, rate, "client failed; " + server.diagnostics());
            }
            if (report.connected() == 0) {
                note = "no connection succeeded: " + report.errors().firsts().values().stream().findFirst().orElse("?");
            }
            return new Point(scenario, target.name(), connections, rate, report, cpu, sampler.peakRss(),
                    sampler.peakThreads(), sampler.peakProcesses(), sampler.peakFds(), served, note);
        }
    }

    private LoadReport load(InetSocketAddress address, LoadSpec.Mode mode, int connections, int size, double rate)
            throws InterruptedException {
        // Many connections ramp up at 5,000 a second; the warm-up covers the ramp.
        double connectRate = connections >= 1000 ? 5000 : 0;
        Duration ramp = connectRate > 0 ? Duration.ofMillis((long) (connections / connectRate * 1000)) : Duration.ZERO;
        Duration warmup = plan.warmup().plus(ramp);
        LoadSpec spec = new LoadSpec(mode, address, connections, size, plan.duration(), 0, warmup,
                Math.min(plan.clientThreads(), connections), 1, rate, plan.replyTimeout(), connectRate,
                Duration.ofSeconds(1), 1);
        try {
            return LoadClient.run(spec, null);
        } catch (IOException e) {
            return null;
        }
    }

    private static Point missing(String scenario, Target target, int connections, double rate, String note) {
        return new Point(scenario, target.name(), connections, rate, null, -1, -1, -1, -1, -1, null, note);
    }

    private static long descriptorLimit() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.UnixOperatingSystemMXBean unix) {
            return unix.getMaxFileDescriptorCount();
        }
        return Long.MAX_VALUE;
    }
}
