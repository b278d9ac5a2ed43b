package io.echoladder.client;

import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReferenceArray;

/** Errors by kind, counted across all threads, with the first of each kind described. */
public final class Errors {

    /** What went wrong, as the JSON names it. */
    public enum Kind {
        /** The connect was refused (or the host unreachable). */
        REFUSED,
        /** The server reset the connection. */
        RESET,
        /** A reply or a connect took longer than {@code --timeout}. */
        TIMEOUT,
        /** The server closed the connection with replies outstanding. */
        EOF,
        /** A byte came back different from the one sent, or more came back than was sent. */
        MISMATCH;

        public String id() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    private final AtomicLongArray counts = new AtomicLongArray(Kind.values().length);
    private final AtomicReferenceArray<String> first = new AtomicReferenceArray<>(Kind.values().length);

    public void record(Kind kind, String description) {
        counts.incrementAndGet(kind.ordinal());
        first.compareAndSet(kind.ordinal(), null, description);
    }

    public long count(Kind kind) {
        return counts.get(kind.ordinal());
    }

    public long total() {
        long total = 0;
        for (Kind kind : Kind.values()) {
            total += count(kind);
        }
        return total;
    }

    /** The first error of each kind that occurred, described. */
    public Map<Kind, String> firsts() {
        Map<Kind, String> map = new EnumMap<>(Kind.class);
        for (Kind kind : Kind.values()) {
            if (first.get(kind.ordinal()) != null) {
                map.put(kind, first.get(kind.ordinal()));
            }
        }
        return map;
    }
}
