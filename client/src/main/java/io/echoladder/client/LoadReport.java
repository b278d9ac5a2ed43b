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
 */
public record LoadReport(LoadSpec spec, long connected, double durationSeconds, long messages, Histogram latency,
                         Histogram connect, Errors errors, double cpuMicrosPerMessage, long windowStart,
                         long windowEnd) {

    public double messagesPerSecond() {
        return durationSeconds > 0 ? messages / durationSeconds : 0;
    }

    /** Megabytes (10^6) per second echoed back, one direction. */
    public double megabytesPerSecond() {
        return messagesPerSecond() * spec.size() / 1e6;
    }

    public boolean failed() {
        return errors.total() > 0;
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
        field(json, "latency_us", "{\"p50\":" + num(us(latency, 50)) + ",\"p90\":" + num(us(latency, 90))
                + ",\"p99\":" + num(us(latency, 99)) + ",\"p999\":" + num(us(latency, 99.9))
                + ",\"max\":" + num(maxUs(latency)) + "}");
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
        text.append(String.format(Locale.ROOT, "%s: %,d connections (%,d connected), %,d B messages, %s, pipeline %d, %d threads%n",
                spec.mode().id(), spec.connections(), connected, spec.size(), loop, spec.pipeline(), spec.threads()));
        text.append(String.format(Locale.ROOT, "messages     %,d in %.2f s: %,.0f msgs/s, %,.2f MB/s%n",
                messages, durationSeconds, messagesPerSecond(), megabytesPerSecond()));
        text.append(String.format(Locale.ROOT, "latency      p50 %s  p90 %s  p99 %s  p99.9 %s  max %s%s%n",
                micros(us(latency, 50)), micros(us(latency, 90)), micros(us(latency, 99)),
                micros(us(latency, 99.9)), micros(maxUs(latency)),
                spec.openLoop() ? "  (from intended send times)" : ""));
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
        text.append(String.format(Locale.ROOT, "client CPU   %.2f us per message%n", cpuMicrosPerMessage));
        return text.toString();
    }

    private static String micros(double us) {
        return us >= 10_000 ? String.format(Locale.ROOT, "%,.1f ms", us / 1000) : String.format(Locale.ROOT, "%,.0f us", us);
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
