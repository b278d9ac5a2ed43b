package io.echoladder.common;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;
import java.util.stream.Collectors;

/**
 * What a server counts, as data: connections served per worker, readiness events per worker (for rungs
 * where any worker may serve any connection), clients the {@code --work-timeout} watchdog closed, and named
 * counters (connections that ended in an error, clients turned away at a limit, ...).
 *
 * <p>The server's threads write these while the stats thread reads them, so every figure is a type made
 * for that: {@link WorkerCounts} (atomics) and {@link LongAdder}s. The counter names are fixed when the
 * server is built, so a reader never races with a name being added.
 *
 * <p>Printed twice each time: {@link #lines()} for people, {@link #json()} for programs (the bench reads
 * that one; nothing parses the human lines back).
 */
public final class Stats {

    /** Connections that ended in an error (a reset, a broken pipe): each ends that client only. */
    public static final String FAILED = "failed";
    /** Clients accepted and closed at once because the server had no descriptor (or memory) for them. */
    public static final String TURNED_AWAY = "turned-away";
    /** The start of the human line that counts {@code --work-timeout}'s closes. */
    public static final String WORK_TIMEOUTS_LINE = "closed for working past --work-timeout: ";
    /** The start of the machine-readable line. */
    public static final String JSON_PREFIX = "{\"stats\":";

    private final WorkerCounts served;
    private final WorkerCounts events;
    private final Map<String, LongAdder> counters = new LinkedHashMap<>();
    private final LongAdder workTimeouts = new LongAdder();
    private volatile boolean workTimeoutsShown;

    /**
     * @param workers how many workers serve (threads or processes), named {@code prefix0}, {@code prefix1}...
     *                (or just {@code prefix} for one)
     * @param extra   counters this rung keeps besides {@link #FAILED} and {@link #TURNED_AWAY}
     */
    public Stats(String prefix, int workers, String... extra) {
        this(new WorkerCounts(prefix, workers), null, extra);
    }

    /** With a count of readiness events per worker too (the shared-epoll rung). */
    public Stats(WorkerCounts served, WorkerCounts events, String... extra) {
        this.served = served;
        this.events = events;
        counters.put(FAILED, new LongAdder());
        counters.put(TURNED_AWAY, new LongAdder());
        for (String name : extra) {
            counters.put(name, new LongAdder());
        }
    }

    /** The per-worker counts of connections served. */
    public WorkerCounts served() {
        return served;
    }

    /** The per-worker counts of readiness events; null where the rung does not count them. */
    public WorkerCounts events() {
        return events;
    }

    /** A named counter: {@link #FAILED}, {@link #TURNED_AWAY}, or one named when this was built. */
    public LongAdder counter(String name) {
        LongAdder counter = counters.get(name);
        if (counter == null) {
            throw new IllegalArgumentException("no counter '" + name + "' (known: " + counters.keySet() + ")");
        }
        return counter;
    }

    /** Clients the {@code --work-timeout} watchdog closed. */
    public LongAdder workTimeouts() {
        return workTimeouts;
    }

    /** Shows the work-timeout count in {@link #lines()} (when {@code --work-timeout} is set). */
    public void showWorkTimeouts() {
        workTimeoutsShown = true;
    }

    /** The connections served, summed over the workers. */
    public long totalServed() {
        return served.toMap().values().stream().mapToLong(Long::longValue).sum();
    }

    /** Every named counter now, in the order they were declared. */
    public Map<String, Long> counted() {
        Map<String, Long> now = new LinkedHashMap<>();
        counters.forEach((name, counter) -> now.put(name, counter.sum()));
        return now;
    }

    /**
     * For people: {@code served per worker: loop=3 (total 3)}, then {@code events per worker: ...} where
     * counted, {@code counted: failed=0 turned-away=0}, and the work-timeout line where shown.
     */
    public String lines() {
        StringBuilder text = new StringBuilder(perWorker("served per worker: ", served.toMap()));
        if (events != null) {
            text.append('\n').append(perWorker("events per worker: ", events.toMap()));
        }
        text.append("\ncounted: ").append(counted().entrySet().stream()
                .map(e -> e.getKey() + "=" + count(e.getValue())).collect(Collectors.joining(" ")));
        if (workTimeoutsShown) {
            text.append('\n').append(WORK_TIMEOUTS_LINE).append(count(workTimeouts.sum()));
        }
        return text.toString();
    }

    /**
     * For programs, one line: {@code {"stats":{"served":{"loop":3},"events":{},"counted":{"failed":0,
     * "turned-away":0},"work_timeouts":0}}}. Names are the rung's own (letters, digits, '-' and '_'), so no
     * escaping is needed; {@link #name} refuses anything else.
     */
    public String json() {
        return JSON_PREFIX + "{\"served\":" + object(served.toMap())
                + ",\"events\":" + object(events == null ? Map.of() : events.toMap())
                + ",\"counted\":" + object(counted())
                + ",\"work_timeouts\":" + workTimeouts.sum() + "}}";
    }

    /** {@code served per worker: main=3 (total 3)}: the accept distribution, one line. */
    public static String perWorker(String label, Map<String, Long> perWorker) {
        long total = perWorker.values().stream().mapToLong(Long::longValue).sum();
        return label + perWorker.entrySet().stream()
                .map(e -> e.getKey() + "=" + count(e.getValue()))
                .collect(Collectors.joining(" ")) + " (total " + count(total) + ")";
    }

    /** A count for people, {@code 42,859}: the human lines only; the JSON line keeps plain numbers. */
    private static String count(long value) {
        return String.format(java.util.Locale.ROOT, "%,d", value);
    }

    private static String object(Map<String, Long> values) {
        return values.entrySet().stream().map(e -> "\"" + name(e.getKey()) + "\":" + e.getValue())
                .collect(Collectors.joining(",", "{", "}"));
    }

    private static String name(String name) {
        if (!name.matches("[A-Za-z0-9_-]+")) {
            throw new IllegalArgumentException("counter name '" + name + "' would need escaping in JSON");
        }
        return name;
    }
}
