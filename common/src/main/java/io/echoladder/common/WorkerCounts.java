package io.echoladder.common;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLongArray;

/** Connections served per worker, each counted by the worker itself: the accept distribution. */
public final class WorkerCounts {

    private final String[] names;
    private final AtomicLongArray counts;

    /** {@code workers} workers named {@code prefix0}, {@code prefix1}, ...; one worker is named {@code prefix} alone. */
    public WorkerCounts(String prefix, int workers) {
        this.names = new String[workers];
        for (int i = 0; i < workers; i++) {
            names[i] = workers == 1 && !prefix.endsWith("-") ? prefix : prefix + i;
        }
        this.counts = new AtomicLongArray(workers);
    }

    public void served(int worker) {
        counts.incrementAndGet(worker);
    }

    public Map<String, Long> toMap() {
        Map<String, Long> map = new LinkedHashMap<>();
        for (int i = 0; i < counts.length(); i++) {
            map.put(names[i], counts.get(i));
        }
        return map;
    }
}
