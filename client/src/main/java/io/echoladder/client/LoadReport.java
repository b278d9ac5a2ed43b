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
 * @param cpuMicrosPerMessage this client's own CPU time (user + system, all threads) per message in the window;
 *                          NaN when no message was answered (there is nothing to divide it by)
 * @param windowStart       {@link System#nanoTime()} when the measured window began
 * @param windowEnd         {@link System#nanoTime()} when it ended
 * @param unanswered        what the server left unanswered, and how it is counted in {@code latency}
 * @param sendLag           open loop: how late the client sent each message of the window against its own
 *                          schedule, nanoseconds (empty in closed loop); its lag is part of every latency
 * @param answered          the latency of the answered messages alone, without the samples {@code latency}
 *                          counts at the ceiling for the unanswered ones: what the replies that came took
 * @param perConnection     how evenly those replies were spread over the connections
 */
public record LoadReport(LoadSpec spec, long connected, double durationSeconds, long messages, Histogram latency,
                         Histogram connect, Errors errors, double cpuMicrosPerMessage, long windowStart,
                         long windowEnd, Unanswered unanswered, Histogram sendLag, Histogram answered,
                         PerConnection perConnection) {

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

    /**
     * What each connection got, which a total averages away: a server can reach a high rate by serving
     * some connections far more than others. A connection is a slot of the run (in churn, one client that
     * reconnects for each exchange), every one counted, one that got nothing as 0.
     *
     * @param connections how many
     * @param messages    replies completed inside the window, per connection: min, median, max
     * @param p99Us       the p99 of each connection's answered messages (as {@code answered}, without the
     *                    unanswered ones), in microseconds: min, median, max over the connections that got a
     *                    reply; null when none did
     * @param jain        Jain's fairness index of {@code messages}, (Σx)² / (n·Σx²): 1 when every connection got
     *                    as many, 1/n when one got them all; NaN when nothing was answered
     */
    public record PerConnection(int connections, Spread messages, Spread p99Us, double jain) {

        /** The smallest, middle (the mean of the two middle ones for an even count) and largest value. */
        public record Spread(double min, double median, double max) {
            static Spread of(double[] values) {
                double[] sorted = values.clone();
                java.util.Arrays.sort(sorted);
                int n = sorted.length;
                double median = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
                return new Spread(sorted[0], median, sorted[n - 1]);
            }
        }

        /** From each connection's messages and p99 (NaN for one that got no reply). */
        public static PerConnection of(long[] messages, double[] p99Us) {
            double[] answered = java.util.Arrays.stream(p99Us).filter(v -> !Double.isNaN(v)).toArray();
            return new PerConnection(messages.length,
                    messages.length == 0 ? null : Spread.of(java.util.Arrays.stream(messages).asDoubleStream().toArray()),
                    answered.length == 0 ? null : Spread.of(answered), jain(messages));
        }

        /**
         * Jain's fairness index, (Σx)² / (n·Σx²): 1 when every x is the same, 1/n when one x holds it all, k/n
         * when k of n share it evenly and the rest get nothing. NaN when there is nothing to share.
         */
        public static double jain(long[] x) {
            double sum = 0;
            double squares = 0;
            for (long v : x) {
                sum += v;
                squares += (double) v * v;
            }
            return squares == 0 ? Double.NaN : sum * sum / (x.length * squares);
        }
    }

    /** The percentiles every output shows, with their JSON names; then the maximum and the mean. */
    public static final double[] PERCENTILES = {50, 90, 99, 99.9, 99.99};
    private static final String[] PERCENTILE_KEYS = {"p50", "p90", "p99", "p999", "p9999"};
    private static final String[] PERCENTILE_LABELS = {"p50", "p90", "p99", "p99.9", "p99.99"};
    /** Stands for the maximum where a percentile is asked for. */
    public static final double MAX = 100;
    /** Stands for the mean where a percentile is asked for. */
    public static final double MEAN = -1;

    /**
     * Whether a percentile of {@code latency} falls among the unanswered samples: its value is then only
     * a lower bound (the ceiling), and every output says so. {@code 100} stands for the maximum, and
     * {@link #MEAN} for the mean, a lower bound as soon as one sample is.
     */
    public static boolean censored(Histogram latency, long censored, double percentile) {
        long total = latency.getTotalCount();
        if (censored <= 0 || total == 0) {
            return false;
        }
        if (percentile == MEAN) {
            return true;
        }
        // The rank HdrHistogram's getValueAtPercentile reads; unanswered samples are the top ones.
        long rank = Math.max(1, (long) (percentile / 100.0 * total + 0.5));
        return percentile >= 100 || rank > total - censored;
    }

    public boolean censored(double percentile) {
        return censored(latency, unanswered.censored(), percentile);
    }

    /** Whether any latency was measured: a message answered, or one unanswered counted at the ceiling. */
    public boolean latencyMeasured() {
        return latency.getTotalCount() > 0;
    }

    /** Whether a rate was measured: the window ran for some time with a connection made. */
    public boolean rateMeasured() {
        return durationSeconds > 0 && connected > 0;
    }

    /** Messages per second in the window; 0 when none was measured (see {@link #rateMeasured}). */
    public double messagesPerSecond() {
        return rateMeasured() ? messages / durationSeconds : 0;
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

    /** A percentile, {@link #MAX} or {@link #MEAN} of {@code h} in microseconds; NaN when {@code h} is empty. */
    static double figureUs(Histogram h, double percentile) {
        if (h.getTotalCount() == 0) {
            return Double.NaN;
        }
        return percentile == MEAN ? h.getMean() / 1000.0 : percentile >= MAX ? maxUs(h) : us(h, percentile);
    }

    /** One JSON object; the keys are a contract other tools read. A figure nothing measured is null. */
    public String toJson() {
        StringBuilder json = new StringBuilder(512).append('{');
        field(json, "mode", quote(spec.mode().id()));
        field(json, "connections", spec.connections());
        field(json, "connected", connected);
        field(json, "size", spec.size());
        field(json, "duration_s", num(durationSeconds));
        field(json, "messages", messages);
        field(json, "msgs_per_s", rateMeasured() ? num(messagesPerSecond()) : "null");
        field(json, "mb_per_s", rateMeasured() ? num(megabytesPerSecond()) : "null");
        StringBuilder censoredKeys = new StringBuilder("[");
        for (int i = 0; i < PERCENTILES.length; i++) {
            if (censored(PERCENTILES[i])) {
                censoredKeys.append(censoredKeys.length() > 1 ? "," : "").append(quote(PERCENTILE_KEYS[i]));
            }
        }
        for (String key : new String[] {"max", "mean"}) {
            if (censored(key.equals("max") ? MAX : MEAN)) {
                censoredKeys.append(censoredKeys.length() > 1 ? "," : "").append(quote(key));
            }
        }
        field(json, "latency_us", figures(p -> latencyMeasured() ? percentileUs(p) : Double.NaN));
        // The samples that stand for unanswered messages, and which figures are only lower bounds.
        field(json, "latency_censored", "{\"samples\":" + unanswered.censored() + ",\"of\":" + latency.getTotalCount()
                + ",\"ceiling_us\":" + num(unanswered.ceilingNanos() / 1e3) + ",\"percentiles\":" + censoredKeys + "]}");
        // The answered messages alone: beside the figures above wherever some went unanswered.
        field(json, "latency_answered_us", answered.getTotalCount() == 0 ? "null" : figures(p -> figureUs(answered, p)));
        field(json, "per_connection", perConnectionJson());
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

    /** {@code {"messages":{"min":..,"median":..,"max":..},"p99_us":{..},"jain":..}}, null when no rate was measured. */
    private String perConnectionJson() {
        if (!rateMeasured()) {
            return "null";
        }
        return "{\"messages\":" + spreadJson(perConnection.messages()) + ",\"p99_us\":" + spreadJson(perConnection.p99Us())
                + ",\"jain\":" + num(perConnection.jain()) + "}";
    }

    private static String spreadJson(PerConnection.Spread spread) {
        return spread == null ? "null" : "{\"min\":" + num(spread.min()) + ",\"median\":" + num(spread.median())
                + ",\"max\":" + num(spread.max()) + "}";
    }

    /**
     * {@code messages min 812  median 1,020  max 1,260; p99 min 1,100 us  median ...; Jain 0.990}: what
     * each connection got, or {@code n/a} when no rate was measured.
     */
    public String perConnectionText() {
        if (!rateMeasured()) {
            return "n/a";
        }
        PerConnection.Spread m = perConnection.messages();
        PerConnection.Spread p99 = perConnection.p99Us();
        return String.format(Locale.ROOT, "messages min %,.0f  median %,.0f  max %,.0f; p99 %s; Jain %s", m.min(),
                m.median(), m.max(), p99 == null ? "n/a" : "min " + micros(p99.min()) + "  median " + micros(p99.median())
                        + "  max " + micros(p99.max()),
                Double.isNaN(perConnection.jain()) ? "n/a" : String.format(Locale.ROOT, "%.3f", perConnection.jain()));
    }

    /** {@code {"p50":..,"p90":..,"p99":..,"p999":..,"p9999":..,"max":..,"mean":..}}, null where NaN. */
    private static String figures(java.util.function.DoubleUnaryOperator us) {
        StringBuilder object = new StringBuilder("{");
        for (int i = 0; i < PERCENTILES.length; i++) {
            object.append(quote(PERCENTILE_KEYS[i])).append(':').append(num(us.applyAsDouble(PERCENTILES[i]))).append(',');
        }
        return object.append("\"max\":").append(num(us.applyAsDouble(MAX)))
                .append(",\"mean\":").append(num(us.applyAsDouble(MEAN))).append('}').toString();
    }

    /** The human summary; {@code n/a} where nothing was measured. */
    public String toText() {
        StringBuilder text = new StringBuilder();
        String loop = spec.openLoop()
                ? String.format(Locale.ROOT, "open loop at %,.0f msgs/s", spec.offeredRate()) : "closed loop";
        text.append(String.format(Locale.ROOT, "%s: %s (%,d connected), %s messages, %s, pipeline %d, %s%n",
                spec.mode().id(), count(spec.connections(), "connection"), connected, bytes(spec.size()), loop,
                spec.pipeline(), count(spec.threads(), "thread")));
        text.append(String.format(Locale.ROOT, "messages     %,d in %.2f s: %s msgs/s, %s%n", messages, durationSeconds,
                rateMeasured() ? String.format(Locale.ROOT, "%,.0f", messagesPerSecond()) : "n/a",
                rateMeasured() ? bytesPerSecond(messagesPerSecond() * spec.size()) : "n/a MB/s"));
        text.append("latency      ").append(latencyLine(this::latencyText))
                .append(spec.openLoop() && latencyMeasured() ? "  (from intended send times)" : "").append('\n');
        if (unanswered.censored() > 0 && answered.getTotalCount() > 0) {
            // The figure above counts what never came back; what did come back, alone, is not the same thing.
            text.append("answered     ").append(latencyLine(p -> micros(figureUs(answered, p))))
                    .append(String.format(Locale.ROOT, "  (the %,d answered alone)%n", answered.getTotalCount()));
        }
        if (unanswered.censored() > 0) {
            text.append(String.format(Locale.ROOT, "unanswered   %,d messages, the oldest after %s; %,d of %,d latency samples "
                            + "stand for them, at the %s ceiling (\u2265: a lower bound)%n", unanswered.messages(),
                    millis(unanswered.oldestNanos()), unanswered.censored(), latency.getTotalCount(),
                    millis(unanswered.ceilingNanos())));
        }
        text.append("per conn     ").append(perConnectionText()).append('\n');
        if (connect.getTotalCount() > 0 && spec.mode() != LoadSpec.Mode.PERSISTENT) {
            text.append(String.format(Locale.ROOT, "connect      p50 %s  p99 %s%n",
                    micros(us(connect, 50)), micros(us(connect, 99))));
        }
        if (errors.total() == 0) {
            text.append("errors       none\n");
        } else {
            StringBuilder kinds = new StringBuilder();
            for (Errors.Kind kind : Errors.Kind.values()) {
                kinds.append(kinds.isEmpty() ? "" : ", ").append(kind.id()).append(' ')
                        .append(String.format(Locale.ROOT, "%,d", errors.count(kind)));
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
        text.append("client CPU   ").append(Double.isFinite(cpuMicrosPerMessage)
                ? String.format(Locale.ROOT, "%,.2f us per message", cpuMicrosPerMessage) : "n/a (no message answered)")
                .append('\n');
        return text.toString();
    }

    /** {@code p50 709 us  p90 ...  p99.99 ...  max ...  mean ...}, or {@code n/a} when nothing was measured. */
    private String latencyLine(java.util.function.DoubleFunction<String> figure) {
        if (!latencyMeasured()) {
            return "n/a";
        }
        StringBuilder line = new StringBuilder();
        for (int i = 0; i < PERCENTILES.length; i++) {
            line.append(PERCENTILE_LABELS[i]).append(' ').append(figure.apply(PERCENTILES[i])).append("  ");
        }
        return line.append("max ").append(figure.apply(MAX)).append("  mean ").append(figure.apply(MEAN)).toString();
    }

    /** A percentile for people: its value, {@code ≥ ceiling} when it falls among unanswered messages, or n/a. */
    public String latencyText(double percentile) {
        if (!latencyMeasured()) {
            return "n/a";
        }
        return censored(percentile) ? "\u2265 " + micros(percentileUs(percentile)) : micros(percentileUs(percentile));
    }

    /**
     * A latency percentile in microseconds ({@link #MAX}: the maximum, {@link #MEAN}: the mean); where it
     * falls among unanswered messages, the ceiling they are counted at (exactly, not HdrHistogram's bucket
     * around it), and for the mean, the mean with them counted at the ceiling. 0 when nothing was measured
     * (the outputs say n/a or null then: see {@link #latencyMeasured}).
     */
    public double percentileUs(double percentile) {
        if (!latencyMeasured()) {
            return 0;
        }
        if (censored(percentile) && percentile != MEAN) {
            return unanswered.ceilingNanos() / 1e3;
        }
        return figureUs(latency, percentile);
    }

    /** {@code 1 connection}, {@code 1,000 connections}. */
    public static String count(long n, String noun) {
        return String.format(Locale.ROOT, "%,d %s%s", n, noun, n == 1 ? "" : "s");
    }

    /** A size for people: {@code 64 B}, {@code 1,024 B}, {@code 1 MiB (1,048,576 B)} for whole mebibytes. */
    public static String bytes(long n) {
        return n >= (1 << 20) && n % (1 << 20) == 0
                ? String.format(Locale.ROOT, "%,d MiB (%,d B)", n >> 20, n) : String.format(Locale.ROOT, "%,d B", n);
    }

    /** Bytes per second with three significant figures or more: {@code 7.42 MB/s}, {@code 640 kB/s}, {@code 64 B/s}. */
    public static String bytesPerSecond(double bytesPerSecond) {
        String[] units = {"B/s", "kB/s", "MB/s", "GB/s"};
        int unit = 0;
        double value = bytesPerSecond;
        while (value >= 1000 && unit < units.length - 1) {
            value /= 1000;
            unit++;
        }
        String digits = value >= 100 || unit == 0 ? "%,.0f" : value >= 10 ? "%.1f" : "%.2f";
        return String.format(Locale.ROOT, digits + " %s", value, units[unit]);
    }

    /** Nanoseconds as {@code 850 ms} or {@code 5.0 s}. */
    public static String millis(long nanos) {
        return nanos >= 10_000_000_000L ? String.format(Locale.ROOT, "%,.0f s", nanos / 1e9)
                : nanos >= 2_000_000_000L ? String.format(Locale.ROOT, "%.1f s", nanos / 1e9)
                : String.format(Locale.ROOT, "%,.0f ms", nanos / 1e6);
    }

    /** Microseconds as {@code 709 us}, {@code 12.3 ms} or {@code 1,000 ms}; {@code n/a} for NaN. */
    public static String micros(double us) {
        return Double.isNaN(us) ? "n/a"
                : us >= 100_000 ? String.format(Locale.ROOT, "%,.0f ms", us / 1000)
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
