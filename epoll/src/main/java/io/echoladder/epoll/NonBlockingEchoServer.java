package io.echoladder.epoll;

import io.echoladder.common.AcceptPolicy;
import io.echoladder.common.EchoServer;
import io.echoladder.common.ServerConfig;
import io.echoladder.common.Stats;
import io.echoladder.common.WakeableListener;
import io.echoladder.common.Work;
import io.echoladder.common.linux.Posix;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.lang.foreign.Arena;
import java.net.InetSocketAddress;
import java.util.Arrays;
import java.util.concurrent.atomic.LongAdder;

/**
 * What the single-threaded readiness loops (select, poll, epoll) do the same way once the kernel has said
 * a socket is ready: accept until EAGAIN, serve a ready connection with the {@link EchoStep} (read and
 * echo, keep what write did not take, stop reading past the pending-output cap, finish a half-closed
 * connection) and pass on what it waits for next, close idle ones. Each rung's own file keeps
 * what it teaches: how it asks the kernel which sockets are ready ({@code serve}), and how it tells the
 * kernel what a connection waits for ({@link #watch}, {@link #want}, {@link #forget}).
 */
abstract class NonBlockingEchoServer implements EchoServer {

    /** What a connection waits for ({@link EchoStep}): bytes to read, room to write, both, or nothing. */
    static final int READ = EchoStep.READ;
    static final int WRITE = EchoStep.WRITE;

    final WakeableListener listener;
    final int listenFd;
    final int wakeFd;
    final Arena arena = Arena.ofShared();
    private final int maxConnections;
    private final long idleNanos;
    /** {@code --offload N}: the pool that does {@code --work} off the loop, or null. */
    final Offload<EchoStep.Connection> offload;
    /** Read, echo, keep what write did not take: the same for every loop, into this loop's one buffer. */
    private final EchoStep step;
    final Stats stats;
    /** This loop's worker number in {@link #stats}: 0, unless the server runs several loops. */
    private final int loop;
    private final LongAdder failed;
    /** What to do when accept fails: out of descriptors, turn the client away; null for a loop fed descriptors. */
    private final AcceptPolicy accepts;
    private final AcceptPolicy.AcceptAndClose turnAway;
    private Connection[] connections = new Connection[1024];
    private int live;
    /** While accepting is paused ({@link AcceptPolicy.Next#PAUSE}): when to watch the listener again; else 0. */
    private long pausedUntil;

    /** What the loop knows about one client: the step's state, what the kernel was last told, when it last spoke. */
    static final class Connection extends EchoStep.Connection {
        int wants = READ;
        long lastActive;

        Connection(int fd, long now) {
            super(fd);
            this.lastActive = now;
        }
    }

    /** {@code drain}: read each ready socket until EAGAIN (edge-triggered), not once (level-triggered). */
    NonBlockingEchoServer(ServerConfig config, WakeableListener listener, boolean drain, Stats stats)
            throws IOException {
        this(config, listener, drain, stats, 0);
    }

    /** {@code loop}: which of the server's loops this is, where it counts its clients in {@code stats}. */
    NonBlockingEchoServer(ServerConfig config, WakeableListener listener, boolean drain, Stats stats, int loop)
            throws IOException {
        this.listener = listener;
        this.stats = stats;
        this.loop = loop;
        this.failed = stats.counter(Stats.FAILED);
        this.listenFd = listener.listenFd;
        this.wakeFd = listener.wakeFd;
        this.maxConnections = config.maxConnections();
        this.idleNanos = config.idleTimeout().toNanos();
        Work work = config.work();
        try {
            this.offload = config.offload() > 0 ? new Offload<>(config.offload(), work) : null;
            this.step = new EchoStep(arena.allocate(EchoStep.READ_SIZE), drain, work, offload, failed);
            this.accepts = new AcceptPolicy(stats);
            this.turnAway = AcceptPolicy.closingAccept(listenFd);
        } catch (IOException e) {
            abandon();
            throw e;
        }
    }

    /** Starts watching a new client for {@link #READ}; false if it cannot be (the hook counts why). */
    abstract boolean watch(int fd);

    /** Tells the kernel a connection now waits for {@code wants}; false if it refused. */
    abstract boolean want(Connection c, int wants);

    /** Stops watching a connection, just before its fd is closed. */
    abstract void forget(Connection c);

    /** Releases what the loop waits with, after every connection and the listener are closed. */
    abstract void release();

    /**
     * Starts or stops watching the listener: stopped while accepting is paused, or a level-triggered
     * listener with a client in its backlog would be reported ready on every turn.
     */
    abstract void watchListener(boolean watch) throws IOException;

    /**
     * The wait's timeout in ms: forever (-1), unless idle connections must be looked for, or accepting is
     * paused and must start again.
     */
    final int waitMillis() {
        int millis = idleNanos > 0 ? (int) Math.clamp(idleNanos / 4_000_000, 10, 1000) : -1;
        if (pausedUntil != 0) {
            int left = (int) Math.clamp((pausedUntil - System.nanoTime()) / 1_000_000 + 1, 1, 1000);
            millis = millis < 0 ? left : Math.min(millis, left);
        }
        return millis;
    }

    /** The time of this turn, for the idle timeout (0 without one: no clock read per turn). */
    final long now() {
        return idleNanos > 0 ? System.nanoTime() : 0;
    }

    /** The connection on {@code fd}, or null. */
    final Connection connection(int fd) {
        return fd >= 0 && fd < connections.length ? connections[fd] : null;
    }

    /** Accepts until the backlog is empty (EAGAIN): one readiness report may stand for many clients. */
    final void acceptAll(long now) throws IOException {
        acceptUpTo(Integer.MAX_VALUE, now);
    }

    /** Accepts at most {@code most} clients (turned away ones included), fewer if the backlog empties first. */
    final void acceptUpTo(int most, long now) throws IOException {
        for (int i = 0; i < most && acceptOne(now); i++) {
            // the next may be waiting
        }
    }

    /**
     * Accepts one client; false when the backlog is empty or accepting is paused. Out of descriptors, the
     * policy turns the waiting client away (it reads EOF) and this returns true: more may be waiting.
     */
    private boolean acceptOne(long now) throws IOException {
        int fd = Posix.accept4(listenFd, Posix.SOCK_NONBLOCK | Posix.SOCK_CLOEXEC);
        if (fd < 0) {
            // Compared, not switched on: a switch on another class's enum loads a class of its own the
            // first time it runs, which at the descriptor limit could be the first time.
            AcceptPolicy.Next next = accepts.failed(-fd, turnAway);
            if (next == AcceptPolicy.Next.PAUSE) {
                pauseAccepting();
            }
            return next == AcceptPolicy.Next.ACCEPT;
        }
        if (maxConnections > 0 && live >= maxConnections) {
            Posix.close(fd); // past the cap: the client reads EOF at once
            return true;
        }
        adopt(fd, now);
        return true;
    }

    /** No spare descriptor to turn clients away with: leave them in the backlog for a while. */
    private void pauseAccepting() throws IOException {
        if (pausedUntil == 0) {
            watchListener(false);
        }
        pausedUntil = System.nanoTime() + accepts.pauseMillis() * 1_000_000;
        if (pausedUntil == 0) {
            pausedUntil = 1;
        }
    }

    /** Watches the listener again: a descriptor was freed, or the pause is over. */
    private void resumeAccepting() {
        if (pausedUntil != 0) {
            pausedUntil = 0;
            try {
                watchListener(true);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
    }

    /** Starts serving a new non-blocking client socket. */
    final void adopt(int fd, long now) {
        try {
            Posix.setsockopt(fd, Posix.IPPROTO_TCP, Posix.TCP_NODELAY, 1);
        } catch (IOException e) {
            failed.increment(); // the client is already gone
            Posix.close(fd);
            return;
        }
        if (!watch(fd)) {
            Posix.close(fd);
            return;
        }
        if (fd >= connections.length) {
            connections = Arrays.copyOf(connections, Math.max(fd + 1, 2 * connections.length));
        }
        connections[fd] = new Connection(fd, now);
        live++;
        stats.served().served(loop);
    }

    /** Serves one ready connection with the echo step, then tells the kernel what it waits for now. */
    final void handle(Connection c, boolean readable, boolean writable, long now) throws InterruptedIOException {
        c.lastActive = now;
        update(c, step.step(c, readable, writable));
    }

    /**
     * {@code --offload}: when the pool's eventfd is ready, echoes every finished job's bytes and lets its
     * connection read again. A job whose client was closed meanwhile (its fd may already be someone
     * else's) is dropped.
     */
    final void finished(long now) {
        offload.finished((job, bytes) -> {
            Connection c = connection(job.fd);
            if (c != job) {
                return;
            }
            c.lastActive = now;
            update(c, step.finished(c, bytes));
        });
    }

    /**
     * Closes a connection the step is done with; else, if what it waits for changed, says so to the
     * kernel ({@link #want}): select and poll at the next wait, epoll with one epoll_ctl now.
     */
    private void update(Connection c, int wants) {
        if (wants == EchoStep.CLOSE) {
            close(c);
            return;
        }
        if (wants != c.wants) {
            if (!want(c, wants)) {
                failed.increment();
                close(c);
                return;
            }
            c.wants = wants;
        }
    }

    /**
     * At the end of every turn: starts accepting again if a pause is over, and closes every connection
     * silent for longer than the idle timeout; the loop's wait is the tick.
     */
    final void afterTurn() {
        if (pausedUntil != 0 && System.nanoTime() - pausedUntil >= 0) {
            resumeAccepting();
        }
        if (idleNanos == 0) {
            return;
        }
        long now = System.nanoTime();
        for (Connection c : connections) {
            if (c != null && now - c.lastActive > idleNanos) {
                close(c);
            }
        }
    }

    /** Closes a connection; its descriptor is free again, so a paused accept may start again. */
    final void close(Connection c) {
        forget(c);
        connections[c.fd] = null;
        Posix.close(c.fd);
        live--;
        resumeAccepting();
    }

    /** When a constructor fails after the listener is open: releases it, the spare descriptor and the buffer. */
    final void abandon() {
        if (accepts != null) {
            accepts.close();
        }
        listener.close();
        arena.close();
    }

    /** When the loop ends: closes every connection and the listener, then what the loop waits with. */
    final void shutDown() {
        for (Connection c : connections) {
            if (c != null) {
                close(c);
            }
        }
        listener.close();
        accepts.close();
        if (offload != null) {
            offload.close();
        }
        release();
        arena.close();
    }

    @Override
    public final InetSocketAddress localAddress() {
        return listener.localAddress();
    }

    /** From the signal handler's thread: the loop's wait returns with {@link #wakeFd} ready. */
    @Override
    public final void close() {
        listener.wake();
    }

    /** Served by the loop, connections that failed, clients turned away at the descriptor limit. */
    @Override
    public final Stats stats() {
        return stats;
    }
}
