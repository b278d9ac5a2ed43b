package io.echoladder.bench;

import io.echoladder.client.LoadReport;
import java.util.Map;
import java.util.Optional;

/**
 * One measured point: a rung under one load. {@code note} says why a point is missing or what went wrong
 * in it, and is null for a clean run.
 *
 * @param scenario        one of {@link Bench#SCENARIOS}
 * @param rung            rung id, with its extra arguments if any (or the name of an external server)
 * @param connections     connections at once
 * @param idle            silent connections held open beside them (idle scenario), else 0
 * @param work            the server's {@code --work} (work scenario), else null
 * @param rate            offered messages per second (open loop), 0 for closed loop
 * @param load            the offered rate as a fraction of the rung's closed-loop maximum (latency
 *                        scenario), 0 elsewhere
 * @param round           which round (rounds scenario, from 1), 0 elsewhere
 * @param report          what the client measured, or null if the point did not run
 * @param server          what the server spent, {@link Server#NONE} where there was no process of ours
 * @param servedPerWorker the server's {@code served per worker: ...} line, or null
 * @param servedByWorker  the same counts as data, worker by worker (empty where the server gave none)
 * @param note            what happened, if not a clean run
 */
record Point(String scenario, String rung, int connections, int idle, String work, double rate, double load,
             int round, LoadReport report, Server server, String servedPerWorker, Map<String, Long> servedByWorker,
             String note) {

    Point(Bench.Load load, String rung, LoadReport report, Server server, String servedPerWorker,
          Map<String, Long> servedByWorker, String note) {
        this(load.scenario(), rung, load.connections(), load.idle(), load.work(), load.rate(), load.load(),
                load.round(), report, server, servedPerWorker, servedByWorker, note);
    }

    /**
     * The server's figures for the point, summed over its process tree; -1 where unknown.
     *
     * @param cpuNanos        CPU time (user + system) during the measured window
     * @param peakRss         largest RSS seen, bytes
     * @param threads         most threads seen
     * @param processes       most processes seen
     * @param fds             most open descriptors seen
     * @param syscalls        system calls during the window (perf)
     * @param contextSwitches context switches during the window (perf, or /proc)
     * @param countersNote    why syscalls are not known (perf unavailable), or null
     */
    record Server(long cpuNanos, long peakRss, long threads, long processes, long fds, long syscalls,
                  long contextSwitches, String countersNote) {
        static final Server NONE = new Server(-1, -1, -1, -1, -1, -1, -1, null);
    }

    static Point missing(Bench.Load load, String rung, String note) {
        return new Point(load, rung, null, Server.NONE, null, Map.of(), note);
    }

    boolean ran() {
        return report != null;
    }

    double messagesPerSecond() {
        return ran() ? report.messagesPerSecond() : 0;
    }

    long errors() {
        return ran() ? report.errors().total() : 0;
    }

    /**
     * Whether the server left clients unanswered in the window: then none of its figures may make it
     * look faster than a rung that answered everyone.
     */
    boolean leftClientsUnanswered() {
        return ran() && report.unanswered().censored() > 0;
    }

    /**
     * What each connection got, where a rate was measured: Jain's index and the spread of messages per
     * connection (see {@link LoadReport.PerConnection}); empty otherwise.
     */
    Optional<LoadReport.PerConnection> perConnection() {
        return ran() && report.rateMeasured() && !Double.isNaN(report.perConnection().jain())
                ? Optional.of(report.perConnection()) : Optional.empty();
    }

    /**
     * Jain's index over the connections each worker served (the accept distribution): 1 when every worker
     * took as many, 1/n when one took them all; NaN with fewer than two workers or nothing served.
     */
    double acceptJain() {
        if (servedByWorker.size() < 2) {
            return Double.NaN;
        }
        return LoadReport.PerConnection.jain(servedByWorker.values().stream().mapToLong(Long::longValue).toArray());
    }

    /** Server CPU per message (churn: per connection) in microseconds, or -1 if unknown. */
    double serverCpuMicrosPerMessage() {
        return perMessage(server.cpuNanos() / 1e3);
    }

    /** System calls per message, or -1 if unknown. */
    double syscallsPerMessage() {
        return perMessage(server.syscalls());
    }

    /** Context switches per message, or -1 if unknown. */
    double switchesPerMessage() {
        return perMessage(server.contextSwitches());
    }

    private double perMessage(double total) {
        return ran() && total >= 0 && report.messages() > 0 ? total / report.messages() : -1;
    }

    /** Cores the server kept busy during the window, or -1 if unknown. */
    double serverCores() {
        return ran() && server.cpuNanos() >= 0 && report.durationSeconds() > 0
                ? server.cpuNanos() / 1e9 / report.durationSeconds() : -1;
    }
}
