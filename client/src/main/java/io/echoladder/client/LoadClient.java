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
                long count = workers.stream().mapToLong(w -> w.completed.get()).sum();
                progress.printf(Locale.ROOT, "%5.1f s  %,12d messages  %,10.0f msgs/s  errors %d%s%n",
                        (now - start) / 1e9, count, (count - lastCount) / ((now - lastAt) / 1e9), errors.total(),
                        now < windowStart ? "  (warm-up)" : now >= windowEnd ? "  (waiting for replies in flight)" : "");
                progress.flush();
                lastCount = count;
                lastAt = now;
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
        boolean quotaDone = true;
        for (LoadWorker worker : workers) {
            answered.add(worker.latency);
            connect.add(worker.connectLatency);
            denied.add(worker.denied);
            sendLag.add(worker.sendLag);
            messages += worker.windowMessages;
            connected += worker.connected;
            unanswered += worker.unanswered;
            oldest = Math.max(oldest, worker.oldestUnanswered);
            finished = Math.max(finished, worker.finishedAt);
            quotaDone &= worker.quotaDone;
        }
        // A window cut short by --messages lasted until the last reply; one whose connections all failed
        // still lasted its full length: what was not done in it is what the server did not do.
        long end = quotaDone ? Math.min(windowEnd, finished) : windowEnd;
        double seconds = Math.max(0, (end - windowStart) / 1e9);
        double cpuPerMessage = messages > 0 && cpuAtWindowStart >= 0
                ? (cpuAtEnd - cpuAtWindowStart) / 1e3 / messages : 0;

        long ceiling = ceilingNanos(spec);
        long censored = spec.openLoop() ? unanswered : deniedRoundTrips(denied, answered, ceiling);
        Histogram latency = answered.copy();
        if (censored > 0) {
            latency.recordValueWithCount(ceiling, censored);
        }
        return new LoadReport(spec, connected, seconds, messages, latency, connect, errors, cpuPerMessage,
                windowStart, Math.max(windowStart, end), new LoadReport.Unanswered(unanswered, oldest, censored, ceiling),
                sendLag);
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
