package io.echoladder.bench;

import io.echoladder.client.LoadReport;

/**
 * One measured point: a rung under one load. Server figures are -1 where there was no process of ours
 * to sample (an external server) or the point did not run; {@code note} says why a point is missing or
 * what went wrong in it, and is null for a clean run.
 *
 * @param scenario          sweep, churn or latency
 * @param rung              rung id (or the name of an external server)
 * @param connections       connections at once
 * @param rate              offered messages per second (open loop), 0 for closed loop
 * @param report            what the client measured, or null if the point did not run
 * @param serverCpuNanos    server CPU time (all its processes) during the measured window
 * @param peakRss           largest summed RSS of the server's processes, bytes
 * @param threads           most threads seen, summed over the server's processes
 * @param processes         most processes seen in the server's tree
 * @param fds               most open descriptors seen, summed
 * @param servedPerWorker   the server's {@code served per worker: ...} line on exit, or null
 * @param note              what happened, if not a clean run
 */
record Point(String scenario, String rung, int connections, double rate, LoadReport report, long serverCpuNanos,
             long peakRss, long threads, long processes, long fds, String servedPerWorker, String note) {

    boolean ran() {
        return report != null;
    }

    double messagesPerSecond() {
        return ran() ? report.messagesPerSecond() : 0;
    }

    long errors() {
        return ran() ? report.errors().total() : 0;
    }

    /** Server CPU per message (churn: per connection) in microseconds, or -1 if unknown. */
    double serverCpuMicrosPerMessage() {
        return ran() && serverCpuNanos >= 0 && report.messages() > 0 ? serverCpuNanos / 1e3 / report.messages() : -1;
    }

    /** Cores the server kept busy during the window, or -1 if unknown. */
    double serverCores() {
        return ran() && serverCpuNanos >= 0 && report.durationSeconds() > 0
                ? serverCpuNanos / 1e9 / report.durationSeconds() : -1;
    }
}
