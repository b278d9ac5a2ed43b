package io.echoladder.bench;

import io.echoladder.client.Proc;
import java.util.ArrayList;
import java.util.List;

/**
 * Samples a server process and all its descendants from /proc every 100 ms while a point runs: RSS,
 * threads, processes and open descriptors summed over the tree (their maxima are kept), and CPU time
 * (user + system, reaped children included) with its timestamp, so CPU over any window can be read back.
 */
final class ServerSampler implements AutoCloseable {

    private static final long PERIOD_MILLIS = 100;

    private final long pid;
    private final Thread thread;
    private final List<long[]> cpu = new ArrayList<>();
    private long peakRss;
    private long peakThreads;
    private long peakProcesses;
    private long peakFds;
    private volatile boolean stopped;

    ServerSampler(long pid) {
        this.pid = pid;
        sample();
        this.thread = Thread.ofPlatform().daemon().name("sampler").start(this::run);
    }

    private void run() {
        while (!stopped) {
            try {
                Thread.sleep(PERIOD_MILLIS);
            } catch (InterruptedException e) {
                return;
            }
            sample();
        }
    }

    private synchronized void sample() {
        long rss = 0;
        long threads = 0;
        long fds = 0;
        long cpuNanos = 0;
        int processes = 0;
        for (ProcessHandle process : Proc.tree(pid)) {
            long r = Proc.rssBytes(process.pid());
            if (r < 0) {
                continue; // exited between listing and reading
            }
            processes++;
            rss += r;
            threads += Math.max(0, Proc.threads(process.pid()));
            fds += Math.max(0, Proc.openFds(process.pid()));
            cpuNanos += Math.max(0, Proc.cpuNanos(process.pid()));
        }
        if (processes == 0) {
            return;
        }
        peakRss = Math.max(peakRss, rss);
        peakThreads = Math.max(peakThreads, threads);
        peakProcesses = Math.max(peakProcesses, processes);
        peakFds = Math.max(peakFds, fds);
        cpu.add(new long[] {System.nanoTime(), cpuNanos});
    }

    /** Server CPU time between two instants, from the samples nearest to them. */
    synchronized long cpuNanosBetween(long from, long to) {
        return nearest(to) - nearest(from);
    }

    private long nearest(long time) {
        long best = 0;
        long bestDistance = Long.MAX_VALUE;
        for (long[] sample : cpu) {
            long distance = Math.abs(sample[0] - time);
            if (distance < bestDistance) {
                bestDistance = distance;
                best = sample[1];
            }
        }
        return best;
    }

    synchronized long peakRss() {
        return peakRss;
    }

    synchronized long peakThreads() {
        return peakThreads;
    }

    synchronized long peakProcesses() {
        return peakProcesses;
    }

    synchronized long peakFds() {
        return peakFds;
    }

    @Override
    public void close() {
        sample();
        stopped = true;
        thread.interrupt();
    }
}
