package io.echoladder.common;

import java.io.Closeable;
import java.io.IOException;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The open connections of a server whose handlers block: lets shutdown close every one of them, and runs
 * the idle watchdog.
 *
 * <p>A handler blocked in {@code read} cannot notice that it has waited too long: only another thread can
 * end the wait, by closing the socket under it, which makes the blocked call throw. That other thread is
 * the watchdog here, separate from every handler (the idea of rack-timeout). {@code Socket.setSoTimeout}
 * would do it from inside the handler instead, but only for reads: a handler stuck in {@code write}
 * behind a client that never reads has no timeout at all.
 */
public final class Connections implements AutoCloseable {

    private final Set<Tracked> open = ConcurrentHashMap.newKeySet();
    private final long idleNanos;
    private final Thread watchdog;
    private final AtomicLong idleClosed = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private volatile boolean closed;

    public Connections(Duration idleTimeout) {
        this.idleNanos = idleTimeout.toNanos();
        if (idleNanos > 0) {
            watchdog = Thread.ofPlatform().daemon().name("idle-watchdog").start(this::watch);
        } else {
            watchdog = null;
        }
    }

    /**
     * Starts tracking a freshly accepted socket. Once this server is closing, the socket is closed at once
     * and the returned handle is already closed.
     */
    public Tracked track(Closeable socket) {
        Tracked tracked = new Tracked(socket);
        open.add(tracked);
        if (closed) {
            tracked.close();
        }
        return tracked;
    }

    /** Live connections now. */
    public int size() {
        return open.size();
    }

    /** Connections the watchdog closed for being idle. */
    public long idleClosed() {
        return idleClosed.get();
    }

    /** Connections that ended with an I/O error (a reset, mostly). */
    public long failed() {
        return failed.get();
    }

    /** Counts a connection that ended with an error; the error ends that connection only. */
    public void failed(IOException ignored) {
        failed.incrementAndGet();
    }

    /** Closes every open connection, now and any tracked from here on. */
    @Override
    public void close() {
        closed = true;
        if (watchdog != null) {
            watchdog.interrupt();
        }
        for (Tracked tracked : open) {
            tracked.close();
        }
    }

    private void watch() {
        // Checking four times per timeout closes an idle connection between 1 and 1.25 timeouts after
        // its last byte, at the cost of one pass over the set each tick.
        long tickMillis = Math.clamp(Duration.ofNanos(idleNanos).toMillis() / 4, 10, 1000);
        while (!closed) {
            try {
                Thread.sleep(tickMillis);
            } catch (InterruptedException e) {
                return;
            }
            long now = System.nanoTime();
            for (Tracked tracked : open) {
                if (now - tracked.lastActive > idleNanos) {
                    idleClosed.incrementAndGet();
                    tracked.close();
                }
            }
        }
    }

    /** One tracked connection. Closing it closes the socket and stops tracking it. */
    public final class Tracked implements AutoCloseable {
        private final Closeable socket;
        private volatile long lastActive = System.nanoTime();
        private volatile boolean closedHere;

        private Tracked(Closeable socket) {
            this.socket = socket;
        }

        /** Marks the connection as active now: call after every read or write that moved bytes. */
        public void touch() {
            lastActive = System.nanoTime();
        }

        /** Whether this side closed it (watchdog or shutdown): the handler's I/O error is then expected. */
        public boolean closedByServer() {
            return closedHere;
        }

        @Override
        public void close() {
            closedHere = true;
            open.remove(this);
            try {
                socket.close();
            } catch (IOException e) {
                failed(e);
            }
        }
    }
}
