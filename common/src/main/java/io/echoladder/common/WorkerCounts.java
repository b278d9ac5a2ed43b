package io.echoladder.common;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLongArray;

/** Connections served per worker, each counted by the worker itself: the accept distribution. */
public final class WorkerCounts {

    private final String prefix;
    private final AtomicLongArray counts;

    public WorkerCounts(String prefix, int workers) {
        this.prefix = prefix;
        this.counts = new AtomicLongArray(workers);
    }

    public void served(int worker) {
        counts.incrementAndGet(worker);
    }

    public Map<String, Long> toMap() {
        Map<String, Long> map = new LinkedHashMap<>();
        for (int i = 0; i < counts.length(); i++) {
            map.put(prefix + i, counts.get(i));
        }
        return map;
    }
}
