package io.echoladder.client;

import java.util.Locale;
import java.util.Map;
import org.HdrHistogram.Histogram;

/**
 * What a run of the load client measured. Latencies are HdrHistogram percentiles of the measured window
 * only (warm-up excluded); in open loop they count from each message's intended send time.
 *
 * @param spec              what was asked for
 * @param connected         connections established (churn: one per exchange)
 * @param durationSeconds   length of the measured window actually run
 * @param messages          replies completed, byte-exact, inside the window
 * @param latency           per message (churn: per exchange, connect included), nanoseconds
 * @param connect           connect latency, nanoseconds
 * @param errors            errors by kind, with the first of each
 * @param cpuMicrosPerMessage this client's own CPU time (user + system, all threads) per message in the window
 * @param windowStart       {@link System#nanoTime()} when the measured window began
 * @param windowEnd         {@link System#nanoTime()} when it ended
 * @param unanswered        what the server left unanswered, and how it is counted in {@code latency}
 * @param sendLag           open loop: how late the client sent each message of the window against its own
 *                          schedule, nanoseconds (empty in closed loop); its lag is part of every latency
 */
public record LoadReport(LoadSpec spec, long connected, double durationSeconds, long messages, Histogram latency,
                         Histogram connect, Errors errors, double cpuMicrosPerMessage, long windowStart,
                         long windowEnd, Unanswered unanswered, Histogram sendLag) {

    /**
     * Whether the client could not keep to its own schedule: half or more of the measured p99 is its own
     * lateness in sending, so the figure says as much about the client as about the server.
     */
    public boolean clientLimited() {
        return spec.openLoop() && sendLag.getTotalCount() > 0 && !censored(99)
                && sendLag.getValueAtPercentile(99) * 2 >= latency.getValueAtPercentile(99);
    }

    /**
     * What went unanswered.
     *
     * @param messages       messages of the window given up on: sent (closed loop) or due (open loop)
     * @param oldestNanos    the longest any of them had waited when the client gave up on it
     * @param censored       latency samples that stand for unanswered messages (see {@link LoadClient}):
     *                       recorded at the ceiling, they are lower bounds, not measurements
     * @param ceilingNanos   the longest latency the run can observe, where they are recorded
     */
    public record Unanswered(long messages, long oldestNanos, long censored, long ceilingNanos) {
        public static final Unanswered NONE = new Unanswered(0, 0, 0, 0);
    }

    /** The percentiles every output shows, with their JSON names. */
    public static final double[] PERCENTILES = {50, 90, 99, 99.9};
    private static final String[] PERCENTILE_KEYS = {"p50", "p90", "p99", "p999"};
    private static final String[] PERCENTILE_LABELS = {"p50", "p90", "p99", "p99.9"};

    /**
     * Whether a percentile of {@code latency} falls among the unanswered samples: its value is then only
     * a lower bound (the ceiling), and every output says so. {@code 100} stands for the maximum.
     */
    public static boolean censored(Histogram latency, long censored, double percentile) {
        long total = latency.getTotalCount();
        if (censored <= 0 || total == 0) {
            return false;
        }
        // The rank HdrHistogram's getValueAtPercentile reads; unanswered samples are the top ones.
        long rank = Math.max(1, (long) (percentile / 100.0 * total + 0.5));
        return percentile >= 100 || rank > total - censored;
    }

    public boolean censored(double percentile) {
        return censored(latency, unanswered.censored(), percentile);
    }

    public double messagesPerSecond() {
        return durationSeconds > 0 ? messages / durationSeconds : 0;
    }

    /** Megabytes (10^6) per second echoed back, one direction. */
    public double megabytesPerSecond() {
        return messagesPerSecond() * spec.size() / 1e6;
    }

    /** Anything lost, corrupted, refused or unanswered. */
    public boolean failed() {
        return errors.total() > 0 || unanswered.messages() > 0;
    }

    /** A latency percentile in microseconds (0 when nothing was measured). */
    public static double us(Histogram h, double percentile) {
        return h.getTotalCount() == 0 ? 0 : h.getValueAtPercentile(percentile) / 1000.0;
    }

    public static double maxUs(Histogram h) {
        return h.getTotalCount() == 0 ? 0 : h.getMaxValue() / 1000.0;
    }

    /** One JSON object; the keys are a contract other tools read. */
    public String toJson() {
        StringBuilder json = new StringBuilder(512).append('{');
        field(json, "mode", quote(spec.mode().id()));
        field(json, "connections", spec.connections());
        field(json, "connected", connected);
        field(json, "size", spec.size());
        field(json, "duration_s", num(durationSeconds));
        field(json, "messages", messages);
        field(json, "msgs_per_s", num(messagesPerSecond()));
        field(json, "mb_per_s", num(megabytesPerSecond()));
        StringBuilder percentiles = new StringBuilder("{");
        StringBuilder censoredKeys = new StringBuilder("[");
        for (int i = 0; i < PERCENTILES.length; i++) {
            percentiles.append(quote(PERCENTILE_KEYS[i])).append(':').append(num(percentileUs(PERCENTILES[i]))).append(',');
            if (censored(PERCENTILES[i])) {
                censoredKeys.append(censoredKeys.length() > 1 ? "," : "").append(quote(PERCENTILE_KEYS[i]));
            }
        }
        if (censored(100)) {
            censoredKeys.append(censoredKeys.length() > 1 ? "," : "").append(quote("max"));
        }
        field(json, "latency_us", percentiles.append("\"max\":").append(num(percentileUs(100))).append('}'));
        // The samples that stand for unanswered messages, and which percentiles are only lower bounds.
        field(json, "latency_censored", "{\"samples\":" + unanswered.censored() + ",\"of\":" + latency.getTotalCount()
                + ",\"ceiling_us\":" + num(unanswered.ceilingNanos() / 1e3) + ",\"percentiles\":" + censoredKeys + "]}");
        field(json, "unanswered", unanswered.messages());
        field(json, "oldest_unanswered_ms", unanswered.messages() > 0 ? num(unanswered.oldestNanos() / 1e6) : "null");
        field(json, "connect_us", connect.getTotalCount() == 0 || spec.mode() == LoadSpec.Mode.PERSISTENT ? "null"
                : "{\"p50\":" + num(us(connect, 50)) + ",\"p99\":" + num(us(connect, 99)) + "}");
        StringBuilder counts = new StringBuilder("{");
        StringBuilder firsts = new StringBuilder("{");
        for (Errors.Kind kind : Errors.Kind.values()) {
            counts.append(counts.length() > 1 ? "," : "").append(quote(kind.id())).append(':').append(errors.count(kind));
        }
        for (Map.Entry<Errors.Kind, String> first : errors.firsts().entrySet()) {
            firsts.append(firsts.length() > 1 ? "," : "").append(quote(first.getKey().id())).append(':')
                    .append(quote(first.getValue()));
        }
        field(json, "errors", counts.append('}').toString());
        field(json, "first_errors", firsts.append('}').toString());
        field(json, "client_cpu_us_per_msg", num(cpuMicrosPerMessage));
        field(json, "send_lag_us", !spec.openLoop() || sendLag.getTotalCount() == 0 ? "null"
                : "{\"p50\":" + num(us(sendLag, 50)) + ",\"p99\":" + num(us(sendLag, 99)) + ",\"client_limited\":"
                + clientLimited() + "}");
        field(json, "rate", spec.openLoop() ? num(spec.offeredRate()) : "null");
        field(json, "pipeline", spec.pipeline());
        field(json, "threads", spec.threads());
        field(json, "warmup_s", num(spec.warmup().toNanos() / 1e9));
        json.setLength(json.length() - 1);
        return json.append('}').toString();
    }

    /** The human summary. */
    public String toText() {
        StringBuilder text = new StringBuilder();
        String loop = spec.openLoop()
                ? String.format(Locale.ROOT, "open loop at %,.0f msgs/s", spec.offeredRate()) : "closed loop";
        text.append(String.format(Locale.ROOT, "%s: %,d connections (%,d connected), %,d B messages, %s, pipeline %d, %d thread%s%n",
                spec.mode().id(), spec.connections(), connected, spec.size(), loop, spec.pipeline(), spec.threads(),
                spec.threads() == 1 ? "" : "s"));
        text.append(String.format(Locale.ROOT, "messages     %,d in %.2f s: %,.0f msgs/s, %,.2f MB/s%n",
                messages, durationSeconds, messagesPerSecond(), megabytesPerSecond()));
        StringBuilder line = new StringBuilder("latency      ");
        for (int i = 0; i < PERCENTILES.length; i++) {
            line.append(PERCENTILE_LABELS[i]).append(' ').append(latencyText(PERCENTILES[i])).append("  ");
        }
        line.append("max ").append(latencyText(100));
        text.append(line).append(spec.openLoop() ? "  (from intended send times)" : "").append('\n');
        if (unanswered.censored() > 0) {
            text.append(String.format(Locale.ROOT, "unanswered   %,d messages, the oldest after %s; %,d of %,d latency samples "
                            + "stand for them, at the %s ceiling (\u2265: a lower bound)%n", unanswered.messages(),
                    millis(unanswered.oldestNanos()), unanswered.censored(), latency.getTotalCount(),
                    millis(unanswered.ceilingNanos())));
        }
        if (connect.getTotalCount() > 0 && spec.mode() != LoadSpec.Mode.PERSISTENT) {
            text.append(String.format(Locale.ROOT, "connect      p50 %s  p99 %s%n",
                    micros(us(connect, 50)), micros(us(connect, 99))));
        }
        if (errors.total() == 0) {
            text.append("errors       none\n");
        } else {
            StringBuilder kinds = new StringBuilder();
            for (Errors.Kind kind : Errors.Kind.values()) {
                kinds.append(kinds.isEmpty() ? "" : ", ").append(kind.id()).append(' ').append(errors.count(kind));
            }
            text.append("errors       ").append(kinds).append('\n');
            errors.firsts().forEach((kind, what) -> text.append("  first ").append(kind.id()).append(": ")
                    .append(what).append('\n'));
        }
        if (spec.openLoop() && sendLag.getTotalCount() > 0) {
            text.append(String.format(Locale.ROOT, "schedule     sent p50 %s  p99 %s after their intended times%s%n",
                    micros(us(sendLag, 50)), micros(us(sendLag, 99)), clientLimited()
                            ? " (the client's own lag: half the p99 or more; it, not the server, set the pace)" : ""));
        }
        text.append(String.format(Locale.ROOT, "client CPU   %.2f us per message%n", cpuMicrosPerMessage));
        return text.toString();
    }

    /** A percentile for people: its value, or {@code ≥ ceiling} when it falls among unanswered messages. */
    public String latencyText(double percentile) {
        return censored(percentile) ? "\u2265 " + micros(percentileUs(percentile)) : micros(percentileUs(percentile));
    }

    /**
     * A latency percentile in microseconds ({@code 100}: the maximum); where it falls among unanswered
     * messages, the ceiling they are counted at (exactly, not HdrHistogram's bucket around it).
     */
    public double percentileUs(double percentile) {
        if (censored(percentile)) {
            return unanswered.ceilingNanos() / 1e3;
        }
        return percentile >= 100 ? maxUs(latency) : us(latency, percentile);
    }

    /** Nanoseconds as {@code 850 ms} or {@code 5.0 s}. */
    public static String millis(long nanos) {
        return nanos >= 10_000_000_000L ? String.format(Locale.ROOT, "%,.0f s", nanos / 1e9)
                : nanos >= 2_000_000_000L ? String.format(Locale.ROOT, "%.1f s", nanos / 1e9)
                : String.format(Locale.ROOT, "%,.0f ms", nanos / 1e6);
    }

    /** Microseconds as {@code 709 us}, {@code 12.3 ms} or {@code 1,000 ms}. */
    public static String micros(double us) {
        return us >= 100_000 ? String.format(Locale.ROOT, "%,.0f ms", us / 1000)
                : us >= 10_000 ? String.format(Locale.ROOT, "%,.1f ms", us / 1000)
                : String.format(Locale.ROOT, "%,.0f us", us);
    }

    private static void field(StringBuilder json, String key, Object value) {
        json.append(quote(key)).append(':').append(value).append(',');
    }

    private static String num(double value) {
        return Double.isFinite(value) ? String.format(Locale.ROOT, "%.3f", value).replaceAll("\\.?0+$", "") : "null";
    }

    /** A JSON string literal. */
    public static String quote(String s) {
        StringBuilder out = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        return out.append('"').toString();
    }
}
