package io.echoladder.common;

import java.io.Closeable;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * The open connections of a server whose handlers block: lets shutdown close every one of them, and runs
 * the watchdog for {@code --idle-timeout} and {@code --work-timeout}.
 *
 * <p>A handler blocked in {@code read} cannot notice that it has waited too long: only another thread can
 * end the wait, by closing the socket under it, which makes the blocked call throw. That other thread is
 * the watchdog here, separate from every handler (the idea of rack-timeout). {@code Socket.setSoTimeout}
 * would do it from inside the handler instead, but only for reads: a handler stuck in {@code write}
 * behind a client that never reads has no timeout at all.
 *
 * <p>The same thread stops a handler stuck in its {@link Work}: it closes that client and interrupts the
 * handler's thread, which wakes a sleep and ends a spin (rack-timeout raises in the stuck request's
 * thread). This works because the handler has a thread of its own that can be interrupted without
 * stopping anyone else; an event loop has no such thread, which is why those rungs refuse the option.
 */
public final class Connections implements AutoCloseable {

    private final Set<Tracked> open = ConcurrentHashMap.newKeySet();
    private final long idleNanos;
    private final Work work;
    private final long workNanos;
    private final Thread watchdog;
    private final AtomicLong idleClosed = new AtomicLong();
    private final LongAdder workTimeouts;
    private final LongAdder failed;
    private volatile boolean closed;

    /**
     * Connections for {@code config}'s {@code --idle-timeout}, {@code --work} and {@code --work-timeout}, counting
     * failures and work timeouts in {@code stats}.
     */
    public Connections(ServerConfig config, Stats stats) {
        this.idleNanos = config.idleTimeout().toNanos();
        this.work = config.work();
        this.workNanos = config.workTimeout().toNanos();
        this.failed = stats.counter(Stats.FAILED);
        this.workTimeouts = stats.workTimeouts();
        if (workNanos > 0) {
            stats.showWorkTimeouts();
        }
        if (idleNanos > 0 || workNanos > 0) {
            watchdog = Thread.ofPlatform().daemon().name("watchdog").start(this::watch);
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

    /** Connections the watchdog closed because their handler worked longer than {@code --work-timeout}. */
    public long workTimeouts() {
        return workTimeouts.sum();
    }

    /** Connections that ended with an I/O error (a reset, mostly). */
    public long failed() {
        return failed.sum();
    }

    /** Counts a connection that ended with an error; the error ends that connection only. */
    public void failed(IOException ignored) {
        failed.increment();
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
        // Checking four times per timeout closes a connection between 1 and 1.25 timeouts after it went
        // idle (or its handler started working), at the cost of one pass over the set each tick.
        long shortest = Math.min(idleNanos > 0 ? idleNanos : Long.MAX_VALUE, workNanos > 0 ? workNanos : Long.MAX_VALUE);
        long tickMillis = Math.clamp(Duration.ofNanos(shortest).toMillis() / 4, 10, 1000);
        while (!closed) {
            try {
                Thread.sleep(tickMillis);
            } catch (InterruptedException e) {
                return;
            }
            long now = System.nanoTime();
            for (Tracked tracked : open) {
                if (workNanos > 0 && tracked.stopIfWorkingSince(now - workNanos)) {
                    workTimeouts.increment();
                } else if (idleNanos > 0 && now - tracked.lastActive > idleNanos && !tracked.working()) {
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
        /** The handler thread while it is in {@link #work}, else null; guarded by this. */
        private Thread worker;
        private long workingSince;

        private Tracked(Closeable socket) {
            this.socket = socket;
        }

        /** Marks the connection as active now: call after every read or write that moved bytes. */
        public void touch() {
            lastActive = System.nanoTime();
        }

        /**
         * Does the server's {@link Work} for the bytes just read, watched: if it takes longer than
         * {@code --work-timeout}, the watchdog closes this connection and interrupts this thread, and
         * this throws. Call it where the handler runs: after each read, before echoing those bytes.
         *
         * @throws InterruptedIOException if the watchdog stopped the work (the connection is closed)
         */
        public void work(byte[] bytes, int offset, int length) throws InterruptedIOException {
            if (!work.isSome()) {
                return;
            }
            synchronized (this) {
                worker = Thread.currentThread();
                workingSince = System.nanoTime();
            }
            try {
                work.apply(bytes, offset, length);
            } finally {
                synchronized (this) {
                    worker = null;
                    // The watchdog interrupts only under this lock and only while worker is set, so once
                    // this is cleared no interrupt can follow; one that came late is dropped here, so a
                    // pool thread does not carry it to its next client.
                    Thread.interrupted();
                }
            }
        }

        private synchronized boolean working() {
            return worker != null;
        }

        /** The watchdog's side of {@link #work}: closes and interrupts if the work began before {@code limit}. */
        private boolean stopIfWorkingSince(long limit) {
            synchronized (this) {
                if (worker == null || workingSince - limit > 0) {
                    return false;
                }
                // Closed first, so whatever the handler does after the interrupt meets a closed socket
                // and counts as a close we made, not a failure.
                close();
                worker.interrupt();
                return true;
            }
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
