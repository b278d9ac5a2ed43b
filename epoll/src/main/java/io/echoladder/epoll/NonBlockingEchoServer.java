package io.echoladder.epoll;

import static io.echoladder.common.linux.Native.EAGAIN;
import static io.echoladder.common.linux.Native.ECONNABORTED;
import static io.echoladder.common.linux.Native.EINTR;

import io.echoladder.common.EchoServer;
import io.echoladder.common.ServerConfig;
import io.echoladder.common.WakeableListener;
import io.echoladder.common.Work;
import io.echoladder.common.linux.Posix;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetSocketAddress;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What the single-threaded readiness loops (select, poll, epoll) do the same way once the kernel has said
 * a socket is ready: accept until EAGAIN, read and echo, keep what write did not take, stop reading past
 * the pending-output cap, finish a half-closed connection, close idle ones. Each rung's own file keeps
 * what it teaches: how it asks the kernel which sockets are ready ({@code serve}), and how it tells the
 * kernel what a connection waits for ({@link #watch}, {@link #want}, {@link #forget}).
 */
abstract class NonBlockingEchoServer implements EchoServer {

    static final int READ_SIZE = 64 * 1024;

    /** What a connection waits for: bytes to read, room to write, or both. */
    static final int READ = 1;
    static final int WRITE = 2;

    final WakeableListener listener;
    final int listenFd;
    final int wakeFd;
    final Arena arena = Arena.ofShared();
    private final MemorySegment buffer = arena.allocate(READ_SIZE);
    private final int maxConnections;
    private final long idleNanos;
    private final boolean drain;
    private final Work work;
    /** {@code --offload N}: the pool that does {@link #work} off the loop, or null. */
    final Offload<Connection> offload;
    private Connection[] connections = new Connection[1024];
    private int live;
    private long served;
    long failed;

    /** What the loop knows about one client. */
    static final class Connection {
        final int fd;
        final PendingOutput pending = new PendingOutput();
        int wants = READ;
        boolean eof;
        /** {@code --offload}: a read's work is in the pool; nothing more is read until it is back. */
        boolean busy;
        long lastActive;

        Connection(int fd, long now) {
            this.fd = fd;
            this.lastActive = now;
        }
    }

    /** {@code drain}: read each ready socket until EAGAIN (edge-triggered), not once (level-triggered). */
    NonBlockingEchoServer(ServerConfig config, WakeableListener listener, boolean drain) throws IOException {
        this.listener = listener;
        this.listenFd = listener.listenFd;
        this.wakeFd = listener.wakeFd;
        this.maxConnections = config.maxConnections();
        this.idleNanos = config.idleTimeout().toNanos();
        this.drain = drain;
        this.work = config.work();
        try {
            this.offload = config.offload() > 0 ? new Offload<>(config.offload(), work) : null;
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

    /** The wait's timeout in ms: forever (-1), unless idle connections must be looked for. */
    final int waitMillis() {
        return idleNanos > 0 ? (int) Math.clamp(idleNanos / 4_000_000, 10, 1000) : -1;
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
    final void acceptAll(long now) {
        acceptUpTo(Integer.MAX_VALUE, now);
    }

    /** Accepts at most {@code most} clients, fewer if the backlog empties first. */
    final void acceptUpTo(int most, long now) {
        for (int i = 0; i < most && acceptOne(now); i++) {
            // the next may be waiting
        }
    }

    /** Accepts one client; false when the backlog is empty or no descriptor is left to accept into. */
    private boolean acceptOne(long now) {
        while (true) {
            int fd = Posix.accept4(listenFd, Posix.SOCK_NONBLOCK | Posix.SOCK_CLOEXEC);
            if (fd < 0) {
                if (fd == -EAGAIN) {
                    return false;
                }
                if (fd == -ECONNABORTED || fd == -EINTR) {
                    continue; // that client left before we took it; the next may be waiting
                }
                // EMFILE and friends: no descriptor to accept into. The client stays in the backlog, and
                // the listener is reported ready again on the next turn.
                failed++;
                return false;
            }
            if (maxConnections > 0 && live >= maxConnections) {
                Posix.close(fd); // past the cap: the client reads EOF at once
                return true;
            }
            adopt(fd, now);
            return true;
        }
    }

    /** Starts serving a new non-blocking client socket. */
    final void adopt(int fd, long now) {
        try {
            Posix.setsockopt(fd, Posix.IPPROTO_TCP, Posix.TCP_NODELAY, 1);
        } catch (IOException e) {
            failed++; // the client is already gone
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
        served++;
    }

    /** Serves one ready connection: flushes if it can write, then reads and echoes if it can read. */
    final void handle(Connection c, boolean readable, boolean writable, long now) throws InterruptedIOException {
        c.lastActive = now;
        if (writable && !flush(c)) {
            return;
        }
        if (readable && !c.eof && !c.busy) {
            readAndEcho(c);
        }
    }

    /**
     * Reads and writes straight back. Level-triggered: one read, the other clients get their turn. Edge-
     * triggered: until EAGAIN (or the cap), since no further event comes for bytes already there.
     */
    private void readAndEcho(Connection c) throws InterruptedIOException {
        do {
            long n = Posix.read(c.fd, buffer, READ_SIZE);
            if (n == -EAGAIN) {
                break;
            }
            if (n < 0) {
                fail(c);
                return;
            }
            if (n == 0) {
                c.eof = true; // the client shut down its side: echo what is pending, then close
                break;
            }
            if (offload != null) {
                c.busy = true; // the pool works, the loop goes on; see finished()
                offload.submit(c, buffer.asSlice(0, n));
                break;
            }
            work.apply(buffer.asSlice(0, n)); // --work: while the loop works, every other client waits
            if (!echo(c, n)) {
                return;
            }
        } while (drain && !c.pending.overCap());
        update(c);
    }

    /** Writes the first {@code n} bytes of the buffer back, keeping what the socket does not take; false if it failed. */
    private boolean echo(Connection c, long n) {
        if (!c.pending.isEmpty()) {
            c.pending.append(buffer, 0, (int) n); // behind what is already waiting: order matters
            return true;
        }
        long written = Posix.write(c.fd, buffer, n);
        if (written < 0 && written != -EAGAIN) {
            fail(c);
            return false;
        }
        written = Math.max(0, written);
        if (written < n) {
            // The client's receive window is full: keep the rest and wait until it can take more.
            c.pending.append(buffer, written, (int) (n - written));
        }
        return true;
    }

    /**
     * {@code --offload}: when the pool's eventfd is ready, echoes every finished job's bytes and lets its
     * connection read again. A job whose client was closed meanwhile (its fd may already be someone
     * else's) is dropped.
     */
    final void finished(long now) {
        offload.finished((c, bytes) -> {
            if (connection(c.fd) != c) {
                return;
            }
            c.busy = false;
            c.lastActive = now;
            MemorySegment.copy(bytes, 0, buffer, ValueLayout.JAVA_BYTE, 0, bytes.length);
            if (echo(c, bytes.length)) {
                update(c);
            }
        });
    }

    /** Writes pending output; false if the connection is gone (failed, or drained after EOF). */
    private boolean flush(Connection c) {
        while (!c.pending.isEmpty()) {
            int n = c.pending.peek(buffer, READ_SIZE);
            long written = Posix.write(c.fd, buffer, n);
            if (written == -EAGAIN) {
                break;
            }
            if (written < 0) {
                fail(c);
                return false;
            }
            c.pending.consume((int) written);
            if (written < n) {
                break;
            }
        }
        return update(c);
    }

    /**
     * Asks for what the connection needs now: READ while it may read, WRITE only while output is pending
     * (waiting for it with nothing to write would wake the loop for nothing, on every turn), and no READ
     * past the cap (back-pressure). Closes a drained connection after EOF.
     */
    private boolean update(Connection c) {
        if (c.eof && c.pending.isEmpty()) {
            close(c);
            return false;
        }
        int wants = c.eof || c.busy || c.pending.overCap() ? (c.pending.isEmpty() ? 0 : WRITE)
                : c.pending.isEmpty() ? READ : READ | WRITE;
        if (wants != c.wants) {
            if (!want(c, wants)) {
                fail(c);
                return false;
            }
            c.wants = wants;
        }
        return true;
    }

    /** Closes every connection silent for longer than the idle timeout; the loop's wait is the tick. */
    final void closeIdle() {
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

    private void fail(Connection c) {
        failed++; // a reset or a broken pipe ends this client only
        close(c);
    }

    final void close(Connection c) {
        forget(c);
        connections[c.fd] = null;
        Posix.close(c.fd);
        live--;
    }

    /** When a constructor fails after the listener is open: releases it and the buffer. */
    final void abandon() {
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

    @Override
    public final Map<String, Long> servedPerWorker() {
        return Map.of("loop", served);
    }

    /** Connections that ended in an error (a reset, a broken pipe) and accepts that found no descriptor. */
    @Override
    public Map<String, Long> counters() {
        Map<String, Long> counted = new LinkedHashMap<>();
        counted.put("failed", failed);
        return counted;
    }
}
