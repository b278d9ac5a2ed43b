package io.echoladder.client;

import java.net.InetSocketAddress;
import java.time.Duration;

/**
 * What one run of the load client does.
 *
 * @param mode        persistent (closed loop on long-lived connections), churn (a fresh connection per
 *                    exchange) or hold (many mostly idle connections, one message each per interval)
 * @param address     the server
 * @param connections connections open at once (in churn: exchanges in progress at once)
 * @param size        bytes per message
 * @param duration    measured time; the run also stops here when {@code messages} is set
 * @param messages    stop after this many messages in total; 0 for no count
 * @param warmup      time before the measured window: traffic flows, nothing is counted
 * @param threads     event-loop threads, each with its own selector and its share of the connections
 * @param pipeline    messages in flight per connection
 * @param rate        messages per second in total (open loop); 0 for closed loop
 * @param timeout     a reply (or a connect) slower than this is a timeout error
 * @param connectRate new connections per second while ramping up; 0 for all at once
 * @param interval    hold mode: each connection sends one message this often
 * @param seed        seed of the payloads
 */
public record LoadSpec(Mode mode, InetSocketAddress address, int connections, int size, Duration duration,
                       long messages, Duration warmup, int threads, int pipeline, double rate, Duration timeout,
                       double connectRate, Duration interval, long seed) {

    public enum Mode {
        PERSISTENT, CHURN, HOLD;

        public String id() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /**
     * The closest the open-loop schedule spaces two messages of one connection. Each connection's period
     * is whole nanoseconds, so at 1,000 ns the rounding costs at most 0.1% of the rate asked for; closer,
     * the period rounds away from the rate, and at 0 the schedule would silently be a closed loop.
     */
    public static final long MIN_PERIOD_NANOS = 1000;

    /** Whether {@code rate} msgs/s in total can be scheduled on {@code connections} (see {@link #MIN_PERIOD_NANOS}). */
    public static boolean schedulable(double rate, int connections) {
        return rate <= maxRate(connections);
    }

    /** The most msgs/s the schedule can keep on {@code connections}. */
    public static double maxRate(int connections) {
        return connections * (1e9 / MIN_PERIOD_NANOS);
    }

    /** The one line that refuses a rate the schedule cannot keep. */
    public static String unschedulable(double rate, int connections) {
        return String.format(java.util.Locale.ROOT, "--rate %,.0f msgs/s cannot be scheduled on %,d connection%s: the "
                        + "client spaces a connection's messages at least 1 us apart, %,.0f msgs/s in all (lower --rate "
                        + "or add --connections)", rate, connections, connections == 1 ? "" : "s", maxRate(connections));
    }

    /** Messages per second in total that the schedule aims for; 0 means closed loop. */
    public double offeredRate() {
        if (rate > 0) {
            return rate;
        }
        return mode == Mode.HOLD ? connections / (interval.toNanos() / 1e9) : 0;
    }

    public boolean openLoop() {
        return offeredRate() > 0;
    }

    /** When the last scheduled connect starts, relative to the start of the run. */
    public Duration rampUp() {
        return connectRate > 0 ? Duration.ofNanos((long) (connections / connectRate * 1e9)) : Duration.ZERO;
    }

    /** Start of the measured window, relative to the start of the run: hold mode measures once all are open. */
    public Duration windowStart() {
        return mode == Mode.HOLD ? rampUp().plus(warmup) : warmup;
    }
}
