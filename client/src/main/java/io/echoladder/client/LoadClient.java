package io.echoladder.client;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.HistogramIterationValue;

/**
 * The shared load client: {@link LoadSpec#threads()} event loops ({@link LoadWorker}) share the
 * connections, and their histograms are merged at the end. The calling thread only watches the clock:
 * it samples this process's CPU time at the edges of the measured window and prints the progress line.
 *
 * <p>Unanswered messages are latency, not just errors. Each enters the histogram at the run's ceiling,
 * the longest latency the run can observe (the reply timeout in closed loop; in open loop the window
 * plus the timeout, since latency counts from the intended send time), so that a server that leaves
 * clients waiting can never look faster than one that answers them all. In open loop each message due
 * in the window counts once. In closed loop nothing is due: a connection left waiting would have sent
 * one message per round trip, so the time it waited counts as that many unanswered messages, at the
 * median round trip of the answered ones (the idea of HdrHistogram's coordinated-omission correction).
 * Without that, one fast connection's thousands of replies would outvote 99 silent connections.
 */
public final class LoadClient {

    private LoadClient() {
    }

    /**
     * Runs one load test; returns when the measured window has passed, when {@code --messages} are all
     * answered, or when every connection has failed.
     *
     * @param progress where to print a progress line about once a second, or null
     */
    public static LoadReport run(LoadSpec spec, PrintStream progress) throws IOException, InterruptedException {
        return run(spec, progress, Window.NONE);
    }

    /**
     * Told when the measured window opens and closes, on the thread that watches the clock, within a
     * millisecond of each: what the bench uses to read the server's counters over exactly the window.
     */
    public interface Window {
        Window NONE = new Window() {
        };

        default void opened() {
        }

        default void closed() {
        }
    }

    /** {@link #run(LoadSpec, PrintStream)}, telling {@code window} when the measured window opens and closes. */
    public static LoadReport run(LoadSpec spec, PrintStream progress, Window window) throws IOException, InterruptedException {
        return run(spec, progress, window, new Stop());
    }

    /**
     * Ends a run early, from any thread (a command's Ctrl-C): the measured window closes at that moment,
     * and the run ends as at a window's normal end, the replies in flight awaited up to the timeout. The
     * report then covers the window up to the stop.
     */
    public static final class Stop {
        private static final long NOT_YET = Long.MAX_VALUE;
        private final AtomicLong at = new AtomicLong(NOT_YET);

        /** Stops the run now; a second call changes nothing. */
        public void now() {
            at.compareAndSet(NOT_YET, System.nanoTime());
        }

        public boolean requested() {
            return at.get() != NOT_YET;
        }

        /** {@link System#nanoTime()} of the stop, or {@link Long#MAX_VALUE} if none was asked for. */
        public long at() {
            return at.get();
        }
    }

    /** {@link #run(LoadSpec, PrintStream, Window)}, ended early if {@code stop} is asked to. */
    public static LoadReport run(LoadSpec spec, PrintStream progress, Window window, Stop stop)
            throws IOException, InterruptedException {
        Payloads payloads = new Payloads(spec.seed(), spec.size());
        Errors errors = new Errors();
        long start = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(20);
        List<LoadWorker> workers = new ArrayList<>();
        for (int i = 0; i < spec.threads(); i++) {
            long quota = spec.messages() == 0 ? Long.MAX_VALUE
                    : spec.messages() / spec.threads() + (i < spec.messages() % spec.threads() ? 1 : 0);
            workers.add(new LoadWorker(spec, i, payloads, errors, start, quota, stop));
        }
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < workers.size(); i++) {
            threads.add(Thread.ofPlatform().name("load-" + i).start(workers.get(i)));
        }

        long windowStart = start + spec.windowStart().toNanos();
        long plannedEnd = windowStart + spec.duration().toNanos();
        long windowEnd = plannedEnd;
        long cpuAtWindowStart = -1;
        long cpuAtWindowEnd = -1;
        long nextProgress = start + TimeUnit.SECONDS.toNanos(1);
        long lastCount = 0;
        long lastAt = start;
        boolean lastInWindow = false;
        while (threads.stream().anyMatch(Thread::isAlive)) {
            long now = System.nanoTime();
            windowEnd = Math.min(plannedEnd, stop.at()); // the workers see the stop too, within their next wake-up
            if (cpuAtWindowStart < 0 && now >= windowStart) {
                cpuAtWindowStart = processCpuNanos();
                window.opened();
            }
            if (cpuAtWindowEnd < 0 && cpuAtWindowStart >= 0 && now >= windowEnd) {
                cpuAtWindowEnd = processCpuNanos(); // the drain that follows is not the window's work
                window.closed();
            }
            if (progress != null && now >= nextProgress) {
                boolean inWindow = now >= windowStart;
                long count = workers.stream().mapToLong(w -> (inWindow ? w.windowCompleted : w.warmupCompleted).get()).sum();
                // The rate since the last line, over the same counter (the first line of the window starts at 0).
                long since = inWindow == lastInWindow ? lastAt : Math.max(lastAt, windowStart);
                double rate = (count - (inWindow == lastInWindow ? lastCount : 0)) / (Math.max(now - since, 1_000_000) / 1e9);
                progress.println(progressLine((now - start) / 1e9, inWindow, count, rate, errors.total(),
                        now >= windowEnd));
                progress.flush();
                lastCount = count;
                lastAt = now;
                lastInWindow = inWindow;
                nextProgress += TimeUnit.SECONDS.toNanos(1);
            }
            long wakeAt = cpuAtWindowStart < 0 ? windowStart : cpuAtWindowEnd < 0 ? windowEnd : now + 100_000_000;
            if (progress != null) {
                wakeAt = Math.min(wakeAt, nextProgress);
            }
            long sleep = Math.clamp(TimeUnit.NANOSECONDS.toMillis(wakeAt - now), 1, 100);
            Thread.sleep(sleep);
        }
        for (Thread thread : threads) {
            thread.join();
        }
        windowEnd = Math.min(plannedEnd, stop.at());
        if (cpuAtWindowStart < 0) {
            window.opened(); // the run ended before its window began (every connection failed at once)
        }
        if (cpuAtWindowEnd < 0) {
            window.closed(); // it ended early: --messages all answered, or every connection failed
        }
        for (LoadWorker worker : workers) {
            if (worker.failure != null) {
                throw new IOException("load thread failed: " + worker.failure, worker.failure);
            }
        }
        long cpuAtEnd = cpuAtWindowEnd >= 0 ? cpuAtWindowEnd : processCpuNanos();

        Histogram answered = new Histogram(TimeUnit.HOURS.toNanos(1), 3);
        Histogram connect = new Histogram(TimeUnit.HOURS.toNanos(1), 3);
        Histogram denied = new Histogram(TimeUnit.HOURS.toNanos(1), 3);
        Histogram sendLag = new Histogram(TimeUnit.HOURS.toNanos(1), 3);
        long messages = 0;
        long connected = 0;
        long unanswered = 0;
        long oldest = 0;
        long finished = start;
        for (LoadWorker worker : workers) {
            finished = Math.max(finished, worker.finishedAt);
        }
        // The window lasted until its end (as planned, or at Ctrl-C), or until the run did, if that was
        // earlier: --messages all answered, or every connection failed. The figures cover the time it ran.
        long end = Math.min(windowEnd, finished);
        long[] perConnection = new long[spec.connections()];
        double[] perConnectionP99 = new double[spec.connections()];
        for (LoadWorker worker : workers) {
            worker.perConnection(perConnection, perConnectionP99);
            answered.add(worker.latency);
            connect.add(worker.connectLatency);
            denied.add(worker.denied);
            sendLag.add(worker.sendLag);
            messages += worker.windowMessages;
            connected += worker.connected;
            unanswered += worker.unanswered;
            oldest = Math.max(oldest, worker.oldestUnanswered);
            // Closed loop: a connection that failed for good waited from then until the window's end.
            for (long since : worker.deadSince) {
                if (since < end && end >= windowStart) {
                    denied.recordValue(end - Math.max(since, windowStart));
                }
            }
        }
        double seconds = Math.max(0, (end - windowStart) / 1e9);
        double cpuPerMessage = messages > 0 && cpuAtWindowStart >= 0
                ? (cpuAtEnd - cpuAtWindowStart) / 1e3 / messages : Double.NaN;

        long ceiling = ceilingNanos(spec);
        // With no connection ever made, nothing was sent: there is no latency to speak of, not even a bound.
        long censored = connected == 0 ? 0 : spec.openLoop() ? unanswered : deniedRoundTrips(denied, answered, ceiling);
        Histogram latency = answered.copy();
        if (censored > 0) {
            latency.recordValueWithCount(ceiling, censored);
        }
        return new LoadReport(spec, connected, seconds, messages, latency, connect, errors, cpuPerMessage,
                windowStart, Math.max(windowStart, end), new LoadReport.Unanswered(unanswered, oldest, censored, ceiling),
                sendLag, answered, LoadReport.PerConnection.of(perConnection, perConnectionP99));
    }

    /**
     * The progress line: the messages of the measured window, or, before it, of the warm-up, labelled as
     * such (they are not in the summary); {@code rate} is since the last line.
     */
    static String progressLine(double seconds, boolean inWindow, long count, double rate, long errors, boolean drain) {
        return String.format(Locale.ROOT, "%5.1f s  %s %,12d messages  %,10.0f msgs/s  errors %,d%s", seconds,
                inWindow ? "measured" : "warm-up ", count, rate, errors,
                drain ? "  (window closed, waiting for replies in flight)" : "");
    }

    /**
     * The longest latency a run can observe, where its unanswered messages are counted: the reply timeout
     * in closed loop (a later reply is a timeout); in open loop, where latency counts from the intended
     * send time, the window plus the timeout (due at the window's start, answered at the drain's end).
     */
    static long ceilingNanos(LoadSpec spec) {
        long ceiling = spec.timeout().toNanos() + (spec.openLoop() ? spec.duration().toNanos() : 0);
        return Math.min(ceiling, TimeUnit.HOURS.toNanos(1));
    }

    /**
     * Closed loop: the round trips the unanswered connections were denied. Each episode of waiting
     * counts at least once, and once per median round trip of the answered messages it lasted (once per
     * ceiling if nothing was answered at all).
     */
    static long deniedRoundTrips(Histogram denied, Histogram answered, long ceiling) {
        long roundTrip = answered.getTotalCount() > 0 ? Math.max(1, answered.getValueAtPercentile(50)) : ceiling;
        long total = 0;
        for (HistogramIterationValue v : denied.recordedValues()) {
            long each = Math.max(1, Math.round((double) v.getValueIteratedTo() / roundTrip));
            total += each * v.getCountAtValueIteratedTo();
        }
        return total;
    }

    /** CPU time of this whole process (every thread, user and system), in nanoseconds. */
    static long processCpuNanos() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getProcessCpuTime();
        }
        return 0;
    }
}
