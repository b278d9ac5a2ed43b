package io.echoladder.forked;

import io.echoladder.common.AcceptPolicy;
import io.echoladder.common.EchoServer;
import io.echoladder.common.Listeners;
import io.echoladder.common.RungProvider;
import io.echoladder.common.ServerConfig;
import io.echoladder.common.Setting;
import io.echoladder.common.Stats;
import io.echoladder.common.linux.EPoll;
import io.echoladder.common.linux.Native;
import io.echoladder.common.linux.Posix;
import io.echoladder.common.linux.UnixSockets;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * A process per connection: the parent accepts, starts a child JVM for that client, passes it the
 * accepted socket over a Unix socket (SCM_RIGHTS), and closes its own copy; the child echoes until the
 * client leaves, and exits. Java cannot fork(2) a running JVM, so "fork" is ProcessBuilder plus fd
 * passing. It buys isolation: a crash takes down one client, never the server. It costs a process start
 * per client: hundreds of milliseconds before the first byte is echoed, and a JVM's memory per client.
 */
public final class ProcessPerConnectionEchoServer implements EchoServer {

    /**
     * Each client costs a JVM (tens of MB, a quarter-second of CPU to start): without a cap, a burst of a
     * thousand connects would try to start a thousand JVMs and exhaust the machine. Past the cap a client
     * is closed at once; {@code --max-connections} moves it.
     */
    static final int DEFAULT_MAX_CONNECTIONS = 64;

    private final int listenFd;
    private final InetSocketAddress address;
    private final int maxConnections;
    private final Children children;
    private final AtomicInteger live = new AtomicInteger();
    private final Stats stats = new Stats("parent", 1);
    private final LongAdder failed = stats.counter(Stats.FAILED);
    private final AcceptPolicy accepts;
    private final MemorySegment peek = Arena.ofAuto().allocate(1);
    private final int resetWatch;
    private final Map<Long, Handover> starting = new ConcurrentHashMap<>();
    private final AtomicLong tokens = new AtomicLong();
    private volatile boolean closing;

    private ProcessPerConnectionEchoServer(ServerConfig config) throws IOException {
        this.listenFd = blockingListener(config);
        this.address = Posix.getsockname(listenFd);
        this.maxConnections = config.maxConnections() > 0 ? config.maxConnections() : DEFAULT_MAX_CONNECTIONS;
        this.children = new Children(config);
        AcceptPolicy policy = null;
        int watcher = -1;
        try {
            policy = new AcceptPolicy(stats);
            watcher = EPoll.epoll_create1();
        } catch (IOException | RuntimeException e) {
            if (policy != null) {
                policy.close();
            }
            Posix.close(listenFd);
            throw e;
        }
        this.accepts = policy;
        this.resetWatch = watcher;
        Thread.ofPlatform().daemon().name("reset-watch").start(this::watchResets);
    }

    /** A blocking listener through our bindings (its fd is what gets passed to children). */
    static int blockingListener(ServerConfig config) throws IOException {
        try {
            return Posix.listener(Listeners.address(config), ServerConfig.BACKLOG, false, false);
        } catch (Native.NativeException e) {
            if (e.errno() == Native.EADDRINUSE) {
                throw Listeners.portTaken(config, e);
            }
            throw e;
        }
    }

    @Override
    public void serve() throws IOException {
        try {
            while (true) {
                // Blocks in accept(2) until a client arrives, or close() stops the server.
                int client = children.accept(listenFd, 0, () -> closing, accepts);
                if (client < 0) {
                    return;
                }
                if (maxConnections > 0 && live.get() >= maxConnections) {
                    Posix.close(client); // past the cap: closed at once, no process started
                    continue;
                }
                if (alreadyGone(client)) {
                    Posix.close(client); // it connected and left before we got to it: no JVM for nobody
                    continue;
                }
                Handover handover = new Handover(client, tokens.incrementAndGet());
                if (!watch(handover)) {
                    failed.increment(); // no way to hear of its reset while a JVM starts: not taken
                    Posix.close(client);
                    continue;
                }
                live.incrementAndGet();
                stats.served().served(0);
                // Starting a JVM takes a few hundred ms: a thread per hand-over keeps accept going meanwhile.
                Thread.ofPlatform().daemon().name("fork-" + client).start(() -> handOver(handover));
            }
        } finally {
            children.stopAll();
            Posix.close(listenFd);
            accepts.close();
        }
    }

    /**
     * Whether the client left before we got to it, checked without waiting. A peek reading 0 means it sent
     * FIN with nothing to echo. A reset shows in SO_ERROR (ECONNRESET), not in the peek: bytes it sent
     * before resetting are still readable, and a reset storm's clients send some.
     */
    private boolean alreadyGone(int client) {
        long n = Posix.recv(client, peek, 1, Posix.MSG_PEEK | Posix.MSG_DONTWAIT);
        return n == 0 || n < 0 && n != -Native.EAGAIN || Posix.getsockopt(client, Posix.SOL_SOCKET, Posix.SO_ERROR) != 0;
    }

    /**
     * One client on its way to a child, and the slot it holds under the cap. The slot is given back once:
     * when the child exits, or as soon as the client is found reset while its child is still starting
     * (the child is then killed: it would only have found a dead socket).
     */
    private final class Handover {
        final int client;
        final long token;
        private final AtomicBoolean released = new AtomicBoolean();
        private volatile boolean gone;
        private volatile Process child;

        Handover(int client, long token) {
            this.client = client;
            this.token = token;
        }

        void releaseSlot() {
            if (released.compareAndSet(false, true)) {
                live.decrementAndGet();
            }
        }

        /** From the reset watcher. Both this and {@link #started} write, then read: one of them kills the child. */
        void clientGone() {
            gone = true;
            releaseSlot();
            Process p = child;
            if (p != null) {
                p.destroyForcibly();
            }
        }

        void started(Process p) {
            child = p;
            if (gone) {
                p.destroyForcibly();
            }
        }
    }

    private void handOver(Handover h) {
        try {
            if (h.gone) {
                return; // reset before this thread got going: no JVM at all
            }
            // A child whose client could not be passed is ended and reaped inside start, before its slot
            // is given back below: the cap bounds the JVMs alive.
            Children.Child child = children.start("connection", List.of(), h::started,
                    started -> UnixSockets.sendFd(started.control(), h.client, (byte) 'c'));
            // The child's end of the Unix socket reads EOF when we close ours: that is how it learns the
            // parent died. So ours stays open for as long as the child lives, and its slot with it.
            child.process().onExit().thenRun(() -> {
                Posix.close(child.control());
                h.releaseSlot();
            });
        } catch (IOException e) {
            if (!h.gone) {
                failed.increment(); // a child killed because its client reset is no failure
            }
            h.releaseSlot();
        } finally {
            unwatch(h);
            Posix.close(h.client); // the child holds its own descriptor for the connection now
        }
    }

    /**
     * Watches a client while its child starts. Registered with no events: EPOLLHUP and EPOLLERR are
     * reported anyway, and on a TCP socket they mean the client reset (or both directions are shut);
     * a half-close alone (EPOLLRDHUP) still deserves its echo. The token, not the fd, names it: once the
     * hand-over closes its fd, the number may belong to the next client before a late event is read.
     */
    private boolean watch(Handover h) {
        starting.put(h.token, h);
        synchronized (h) {
            if (EPoll.epoll_ctl(resetWatch, EPoll.EPOLL_CTL_ADD, h.client, 0, h.token, oneEvent()) < 0) {
                starting.remove(h.token, h);
                return false;
            }
            return true;
        }
    }

    /** Stops watching before the hand-over closes the fd (closing would not: the child shares the socket). */
    private void unwatch(Handover h) {
        synchronized (h) {
            if (starting.remove(h.token, h)) {
                EPoll.epoll_ctl(resetWatch, EPoll.EPOLL_CTL_DEL, h.client, 0, h.token, oneEvent());
            }
        }
    }

    private static MemorySegment oneEvent() {
        return EPoll.allocateEvents(Arena.ofAuto(), 1);
    }

    /** The reset watcher: one thread, blocked in epoll_wait until a client that is being handed over resets. */
    private void watchResets() {
        MemorySegment events = EPoll.allocateEvents(Arena.global(), 64);
        try {
            while (!closing) {
                int n = EPoll.epoll_wait(resetWatch, events, 64, -1);
                for (int i = 0; i < n; i++) {
                    Handover h = starting.get(EPoll.data(events, i));
                    if (h != null) {
                        unwatch(h); // level-triggered: it would be reported again and again
                        h.clientGone();
                    }
                }
            }
        } catch (IOException e) {
            System.err.println("process-per-connection: reset watcher stopped: " + e.getMessage());
        }
    }

    @Override
    public InetSocketAddress localAddress() {
        return address;
    }

    @Override
    public void close() {
        closing = true;
        Posix.shutdown(listenFd, Posix.SHUT_RDWR); // wakes the blocked accept
    }

    @Override
    public Stats stats() {
        return stats;
    }

    public static final class Provider extends RungProvider {
        public Provider() {
            super("process-per-connection", 100, "forked",
                    "a child JVM per client (at most 64 by default); the accepted socket is passed over SCM_RIGHTS",
                    EnumSet.of(Setting.MAX_CONNECTIONS, Setting.STATS, Setting.NO_STARTUP_IMAGE, Setting.WORK),
                    ProcessPerConnectionEchoServer::new);
        }
    }
}
