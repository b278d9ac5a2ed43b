package io.echoladder.bench;

import io.echoladder.client.LoadClient;
import io.echoladder.client.Proc;
import java.io.IOException;
import java.util.List;

/**
 * What one point costs a server: its process and all its descendants, sampled from /proc every 100 ms
 * while the point runs (RSS, threads, processes and open descriptors summed over the tree; their peaks
 * are kept), and read exactly at the window's edges, when the client says it opens and closes: CPU time
 * (user + system, reaped children included), and system calls and context switches counted by perf
 * ({@link SyscallCounter}), or context switches from /proc where perf cannot count.
 */
final class ServerSampler implements LoadClient.Window, AutoCloseable {

    private static final long PERIOD_MILLIS = 100;

    /** Why perf cannot count on this machine, or null: asked once per run. */
    private static volatile String perfUnavailable;
    private static volatile boolean perfChecked;

    private final long pid;
    private final Thread thread;
    private final SyscallCounter perf;
    private long peakRss;
    private long peakThreads;
    private long peakProcesses;
    private long peakFds;
    private long cpuAtOpen = -1;
    private long cpuAtClose = -1;
    private long switchesAtOpen = -1;
    private long switchesAtClose = -1;
    private Point.Server figures;
    private volatile boolean stopped;

    ServerSampler(long pid) {
        this.pid = pid;
        sample();
        this.perf = attachPerf(pid);
        this.thread = Thread.ofPlatform().daemon().name("sampler").start(this::run);
    }

    private static SyscallCounter attachPerf(long pid) {
        if (!perfChecked) {
            perfUnavailable = SyscallCounter.unavailable();
            perfChecked = true;
        }
        if (perfUnavailable != null) {
            return null;
        }
        try {
            return SyscallCounter.start(Proc.tree(pid).stream().map(ProcessHandle::pid).toList());
        } catch (IOException e) {
            return null;
        }
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
        }
        if (processes == 0) {
            return;
        }
        peakRss = Math.max(peakRss, rss);
        peakThreads = Math.max(peakThreads, threads);
        peakProcesses = Math.max(peakProcesses, processes);
        peakFds = Math.max(peakFds, fds);
    }

    @Override
    public synchronized void opened() {
        if (perf != null) {
            perf.enable();
        }
        cpuAtOpen = treeCpu();
        switchesAtOpen = treeSwitches();
    }

    @Override
    public synchronized void closed() {
        if (perf != null) {
            perf.disable();
        }
        cpuAtClose = treeCpu();
        switchesAtClose = treeSwitches();
    }

    private long treeCpu() {
        return Proc.tree(pid).stream().mapToLong(p -> Math.max(0, Proc.cpuNanos(p.pid()))).sum();
    }

    private long treeSwitches() {
        return Proc.tree(pid).stream().mapToLong(p -> Math.max(0, Proc.contextSwitches(p.pid()))).sum();
    }

    /** Stops sampling and reads the window's figures. */
    synchronized Point.Server figures() {
        if (figures != null) {
            return figures;
        }
        stopSampling();
        long cpu = cpuAtOpen >= 0 && cpuAtClose >= 0 ? cpuAtClose - cpuAtOpen : -1;
        SyscallCounter.Counts counts = perf != null ? perf.read() : null;
        if (counts != null) {
            figures = new Point.Server(cpu, peakRss, peakThreads, peakProcesses, peakFds, counts.syscalls(),
                    counts.contextSwitches(), null);
        } else {
            // /proc's switch counts cover the threads alive at both edges: those that exited in between
            // (a thread per churned connection) are missing, so this is a floor.
            long switches = switchesAtOpen >= 0 && switchesAtClose >= 0
                    ? Math.max(0, switchesAtClose - switchesAtOpen) : -1;
            String why = perfUnavailable != null ? perfUnavailable : "perf could not attach";
            figures = new Point.Server(cpu, peakRss, peakThreads, peakProcesses, peakFds, -1, switches,
                    "n/a (perf unavailable: " + why + "); context switches from /proc");
        }
        return figures;
    }

    /** A server's open descriptors now, summed over its tree: to see it settle between points. */
    static long fds(long pid) {
        return Proc.tree(pid).stream().mapToLong(p -> Math.max(0, Proc.openFds(p.pid()))).sum();
    }

    /** Processes in a server's tree now. */
    static int processes(long pid) {
        return Proc.tree(pid).size();
    }

    private void stopSampling() {
        if (!stopped) {
            sample();
            stopped = true;
            thread.interrupt();
        }
    }

    /** Stops sampling and perf, and removes perf's files. */
    @Override
    public synchronized void close() {
        stopSampling();
        if (perf != null) {
            perf.close();
        }
    }
}
