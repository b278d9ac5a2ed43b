package io.echoladder.client;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;

/**
 * The shared load client: {@link LoadSpec#threads()} event loops ({@link LoadWorker}) share the
 * connections, and their histograms are merged at the end. The calling thread only watches the clock:
 * it samples this process's CPU time at the edges of the measured window and prints the progress line.
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
        Payloads payloads = new Payloads(spec.seed(), spec.size());
        Errors errors = new Errors();
        long start = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(20);
        List<LoadWorker> workers = new ArrayList<>();
        for (int i = 0; i < spec.threads(); i++) {
            long quota = spec.messages() == 0 ? Long.MAX_VALUE
                    : spec.messages() / spec.threads() + (i < spec.messages() % spec.threads() ? 1 : 0);
            workers.add(new LoadWorker(spec, i, payloads, errors, start, quota));
        }
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < workers.size(); i++) {
            threads.add(Thread.ofPlatform().name("load-" + i).start(workers.get(i)));
        }

        long windowStart = start + spec.windowStart().toNanos();
        long windowEnd = windowStart + spec.duration().toNanos();
        long cpuAtWindowStart = -1;
        long nextProgress = start + TimeUnit.SECONDS.toNanos(1);
        long lastCount = 0;
        long lastAt = start;
        while (threads.stream().anyMatch(Thread::isAlive)) {
            long now = System.nanoTime();
            if (cpuAtWindowStart < 0 && now >= windowStart) {
                cpuAtWindowStart = processCpuNanos();
            }
            if (progress != null && now >= nextProgress) {
                long count = workers.stream().mapToLong(w -> w.completed.get()).sum();
                progress.printf(Locale.ROOT, "%5.1f s  %,12d messages  %,10.0f msgs/s  errors %d%s%n",
                        (now - start) / 1e9, count, (count - lastCount) / ((now - lastAt) / 1e9), errors.total(),
                        now < windowStart ? "  (warm-up)" : "");
                progress.flush();
                lastCount = count;
                lastAt = now;
                nextProgress += TimeUnit.SECONDS.toNanos(1);
            }
            long wakeAt = cpuAtWindowStart < 0 ? windowStart : windowEnd;
            if (progress != null) {
                wakeAt = Math.min(wakeAt, nextProgress);
            }
            long sleep = Math.clamp(TimeUnit.NANOSECONDS.toMillis(wakeAt - now), 1, 100);
            Thread.sleep(sleep);
        }
        for (Thread thread : threads) {
            thread.join();
        }
        for (LoadWorker worker : workers) {
            if (worker.failure != null) {
                throw new IOException("load thread failed: " + worker.failure, worker.failure);
            }
        }
        long cpuAtEnd = processCpuNanos();

        Histogram latency = new Histogram(TimeUnit.HOURS.toNanos(1), 3);
        Histogram connect = new Histogram(TimeUnit.HOURS.toNanos(1), 3);
        long messages = 0;
        long connected = 0;
        long finished = start;
        for (LoadWorker worker : workers) {
            latency.add(worker.latency);
            connect.add(worker.connectLatency);
            messages += worker.windowMessages;
            connected += worker.connected;
            finished = Math.max(finished, worker.finishedAt);
        }
        long end = Math.min(windowEnd, finished);
        double seconds = Math.max(0, (end - windowStart) / 1e9);
        double cpuPerMessage = messages > 0 && cpuAtWindowStart >= 0
                ? (cpuAtEnd - cpuAtWindowStart) / 1e3 / messages : 0;
        return new LoadReport(spec, connected, seconds, messages, latency, connect, errors, cpuPerMessage,
                windowStart, Math.max(windowStart, end));
    }

    /** CPU time of this whole process (every thread, user and system), in nanoseconds. */
    static long processCpuNanos() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getProcessCpuTime();
        }
        return 0;
    }
}
