package io.echoladder.epoll;

import static io.echoladder.common.linux.EPoll.EPOLLERR;
import static io.echoladder.common.linux.EPoll.EPOLLET;
import static io.echoladder.common.linux.EPoll.EPOLLHUP;
import static io.echoladder.common.linux.EPoll.EPOLLIN;
import static io.echoladder.common.linux.EPoll.EPOLLOUT;
import static io.echoladder.common.linux.EPoll.EPOLLRDHUP;
import static io.echoladder.common.linux.EPoll.EPOLL_CTL_ADD;
import static io.echoladder.common.linux.EPoll.EPOLL_CTL_MOD;
import static io.echoladder.common.linux.Native.EAGAIN;
import static io.echoladder.common.linux.Native.ECONNABORTED;
import static io.echoladder.common.linux.Native.EINTR;

import io.echoladder.common.EchoServer;
import io.echoladder.common.RungProvider;
import io.echoladder.common.ServerConfig;
import io.echoladder.common.Setting;
import io.echoladder.common.linux.EPoll;
import io.echoladder.common.linux.Posix;
import io.echoladder.common.linux.UnixSockets;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.Map;

/**
 * Epoll: one thread, one epoll instance, non-blocking sockets, every call a real syscall through
 * {@code java.lang.foreign}; the loop reads like the C it mirrors. It fixes the cost of a thread per
 * client: one thread serves thousands, each costing only its socket and a few dozen bytes of state. It
 * costs explicit state: a connection's unsent bytes must be kept, and nothing here may block, or every
 * client waits.
 *
 * <p>Level-triggered by default: epoll reports a socket as long as it is readable, so one read per event
 * is enough and clients take turns fairly. {@code --edge-triggered} is reported only when new bytes
 * arrive, so each event must be drained with reads until EAGAIN, or the rest would wait for the next edge.
 */
public final class EpollEchoServer implements EchoServer {

    private static final int MAX_EVENTS = 512;
    private static final int READ_SIZE = 64 * 1024;

    private final EpollListener listener;
    private final int listenFd;
    private final int epfd;
    private final int wakeFd;
    private final boolean edgeTriggered;
    private final boolean fed;
    private final int maxConnections;
    private final long idleNanos;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment events;
    private final MemorySegment buffer;
    private final MemorySegment ctl;
    private Connection[] connections = new Connection[1024];
    private int live;
    private long served;
    private long failed;

    /** What the loop knows about one client. */
    private static final class Connection {
        final int fd;
        final PendingOutput pending = new PendingOutput();
        int interest;
        boolean eof;
        long lastActive;

        Connection(int fd, int interest, long now) {
            this.fd = fd;
            this.interest = interest;
            this.lastActive = now;
        }
    }

    private EpollEchoServer(ServerConfig config, boolean edgeTriggered) throws IOException {
        this(config, edgeTriggered, -1);
    }

    /** {@code fedBy >= 0}: no listener; clients arrive as descriptors passed over that Unix socket. */
    private EpollEchoServer(ServerConfig config, boolean edgeTriggered, int fedBy) throws IOException {
        this.edgeTriggered = edgeTriggered;
        this.maxConnections = config.maxConnections();
        this.idleNanos = config.idleTimeout().toNanos();
        this.fed = fedBy >= 0;
        this.events = EPoll.allocateEvents(arena, MAX_EVENTS);
        this.buffer = arena.allocate(READ_SIZE);
        this.ctl = EPoll.allocateEvents(arena, 1);
        try {
            this.listener = fed ? new EpollListener(fedBy) : new EpollListener(config, EPOLLIN);
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
        this.listenFd = listener.listenFd;
        this.epfd = listener.epfd;
        this.wakeFd = listener.wakeFd;
    }

    /**
     * This loop without a listener, for a worker process (the prefork-epoll rung): its parent accepts
     * and passes each client's descriptor over {@code unixSocket} with SCM_RIGHTS; the loop takes one per
     * readable event and serves it like an accepted one. EOF on the socket (the parent is gone) stops it.
     */
    public static EchoServer fedBy(int unixSocket) throws IOException {
        return new EpollEchoServer(ServerConfig.defaults(), false, unixSocket);
    }

    @Override
    public void serve() throws IOException {
        try {
            while (true) {
                // The one blocking call: sleeps until a socket is ready, the idle check is due, or
                // close() writes the eventfd.
                int n = EPoll.epoll_wait(epfd, events, MAX_EVENTS, idleNanos > 0 ? idleTickMillis() : -1);
                long now = idleNanos > 0 ? System.nanoTime() : 0;
                for (int i = 0; i < n; i++) {
                    int fd = EPoll.fd(events, i);
                    if (fd == listenFd && fed) {
                        int client = UnixSockets.receiveFd(listenFd);
                        if (client < 0) {
                            return; // the parent closed its end: it is gone, and so are we
                        }
                        adopt(client, now);
                    } else if (fd == listenFd) {
                        acceptAll(now);
                    } else if (fd == wakeFd) {
                        return;
                    } else if (fd < connections.length && connections[fd] != null) {
                        handle(connections[fd], EPoll.events(events, i), now);
                    }
                }
                if (idleNanos > 0) {
                    closeIdle(System.nanoTime());
                }
            }
        } finally {
            release();
        }
    }

    /** Accepts until the backlog is empty (EAGAIN): one event may stand for many waiting clients. */
    private void acceptAll(long now) throws IOException {
        while (true) {
            int fd = Posix.accept4(listenFd, Posix.SOCK_NONBLOCK | Posix.SOCK_CLOEXEC);
            if (fd < 0) {
                if (fd == -EAGAIN) {
                    return;
                }
                if (fd == -ECONNABORTED || fd == -EINTR) {
                    continue; // that client left before we took it; the next may be waiting
                }
                // EMFILE and friends: no descriptor to accept into. The client stays in the backlog,
                // and the level-triggered listener reports it again on the next turn.
                failed++;
                return;
            }
            if (maxConnections > 0 && live >= maxConnections) {
                Posix.close(fd); // past the cap: the client reads EOF at once
                continue;
            }
            adopt(fd, now);
        }
    }

    /** Registers a new non-blocking client socket with epoll and starts serving it. */
    private void adopt(int fd, long now) throws IOException {
        Posix.setsockopt(fd, Posix.IPPROTO_TCP, Posix.TCP_NODELAY, 1);
        int interest = EPOLLIN | EPOLLRDHUP | (edgeTriggered ? EPOLLET : 0);
        if (EPoll.epoll_ctl(epfd, EPOLL_CTL_ADD, fd, interest, ctl) < 0) {
            Posix.close(fd);
            failed++;
            return;
        }
        if (fd >= connections.length) {
            connections = Arrays.copyOf(connections, Math.max(fd + 1, 2 * connections.length));
        }
        connections[fd] = new Connection(fd, interest, now);
        live++;
        served++;
    }

    private void handle(Connection c, int ready, long now) {
        c.lastActive = now;
        if ((ready & EPOLLOUT) != 0 && !flush(c)) {
            return;
        }
        if ((ready & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0 && !c.eof) {
            readAndEcho(c);
        }
    }

    /**
     * Reads and writes straight back. Level-triggered: one read, the other clients get their turn. Edge-
     * triggered: until EAGAIN (or the cap), since no further event comes for bytes already there.
     */
    private void readAndEcho(Connection c) {
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
            if (!c.pending.isEmpty()) {
                c.pending.append(buffer, 0, (int) n); // behind what is already waiting: order matters
                continue;
            }
            long written = Posix.write(c.fd, buffer, n);
            if (written < 0 && written != -EAGAIN) {
                fail(c);
                return;
            }
            written = Math.max(0, written);
            if (written < n) {
                // The client's receive window is full: keep the rest and ask for EPOLLOUT.
                c.pending.append(buffer, written, (int) (n - written));
            }
        } while (edgeTriggered && !c.pending.overCap());
        update(c);
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
     * Asks epoll for what the connection needs now: EPOLLIN while it may read, EPOLLOUT only while output
     * is pending, and no EPOLLIN past the cap (back-pressure). Closes a drained connection after EOF.
     */
    private boolean update(Connection c) {
        if (c.eof && c.pending.isEmpty()) {
            close(c);
            return false;
        }
        int want = c.eof || c.pending.overCap() ? EPOLLOUT
                : c.pending.isEmpty() ? EPOLLIN | EPOLLRDHUP : EPOLLIN | EPOLLRDHUP | EPOLLOUT;
        if (edgeTriggered) {
            want |= EPOLLET;
        }
        if (want != c.interest) {
            // EPOLL_CTL_MOD also re-checks readiness, so bytes that arrived while we were not reading
            // (back-pressure, edge-triggered) are reported now rather than lost with the edge.
            if (EPoll.epoll_ctl(epfd, EPOLL_CTL_MOD, c.fd, want, ctl) < 0) {
                fail(c);
                return false;
            }
            c.interest = want;
        }
        return true;
    }

    private void closeIdle(long now) {
        for (Connection c : connections) {
            if (c != null && now - c.lastActive > idleNanos) {
                close(c);
            }
        }
    }

    private int idleTickMillis() {
        return (int) Math.clamp(idleNanos / 4_000_000, 10, 1000);
    }

    private void fail(Connection c) {
        failed++; // a reset or a broken pipe ends this client only
        close(c);
    }

    private void close(Connection c) {
        // close(2) also removes the fd from every epoll set: no EPOLL_CTL_DEL needed.
        connections[c.fd] = null;
        Posix.close(c.fd);
        live--;
    }

    private void release() {
        for (Connection c : connections) {
            if (c != null) {
                close(c);
            }
        }
        listener.close();
        arena.close();
    }

    @Override
    public InetSocketAddress localAddress() {
        return listener.localAddress();
    }

    @Override
    public void close() {
        listener.wake(); // from the signal handler's thread: epoll_wait returns with wakeFd
    }

    @Override
    public Map<String, Long> servedPerWorker() {
        return Map.of("loop", served);
    }

    /** Level-triggered by default; {@code --edge-triggered} switches to EPOLLET. */
    public static final class Provider extends RungProvider {
        public Provider() {
            super("epoll", 60, "epoll",
                    "one thread, one epoll fd, level-triggered (--edge-triggered), raw syscalls through java.lang.foreign",
                    EnumSet.of(Setting.MAX_CONNECTIONS, Setting.IDLE_TIMEOUT, Setting.STATS, Setting.EDGE_TRIGGERED),
                    config -> new EpollEchoServer(config, config.edgeTriggered()));
        }
    }
}
