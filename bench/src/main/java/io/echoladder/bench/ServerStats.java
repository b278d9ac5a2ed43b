package io.echoladder.bench;

import io.echoladder.common.Stats;
import java.util.LinkedHashMap;
import java.util.Map;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;

/**
 * A server's counts as it printed them for programs ({@link Stats#json()}, the line {@code serve} prints
 * on exit and every {@code --stats} interval): served and events per worker, and the named counters.
 * Running totals; {@link #minus} gives what one point added.
 */
record ServerStats(Map<String, Long> served, Map<String, Long> events, Map<String, Long> counted) {

    static final ServerStats NONE = new ServerStats(Map.of(), Map.of(), Map.of());

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Reads one {@code {"stats":...}} line. */
    static ServerStats parse(String line) {
        JsonNode stats = JSON.readTree(line).get("stats");
        return new ServerStats(longs(stats.get("served")), longs(stats.get("events")), longs(stats.get("counted")));
    }

    private static Map<String, Long> longs(JsonNode object) {
        Map<String, Long> values = new LinkedHashMap<>();
        if (object != null) {
            object.properties().forEach(e -> values.put(e.getKey(), e.getValue().asLong()));
        }
        return values;
    }

    /** What was counted since {@code before}. */
    ServerStats minus(ServerStats before) {
        return new ServerStats(minus(served, before.served), minus(events, before.events),
                minus(counted, before.counted));
    }

    private static Map<String, Long> minus(Map<String, Long> now, Map<String, Long> before) {
        Map<String, Long> delta = new LinkedHashMap<>();
        now.forEach((name, count) -> delta.put(name, count - before.getOrDefault(name, 0L)));
        return delta;
    }

    /** {@code served per worker: a=1 b=2 (total 3)}, and {@code ; events per worker: ...} where counted. */
    String perWorkerWords() {
        String words = Stats.perWorker("served per worker: ", served);
        return events.isEmpty() ? words : words + "; " + Stats.perWorker("events per worker: ", events);
    }
}
