package io.echoladder.forked;

import io.echoladder.common.EchoServer;
import io.echoladder.common.Listeners;
import io.echoladder.common.RungProvider;
import io.echoladder.common.ServerConfig;
import io.echoladder.common.Setting;
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
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

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
    private final AtomicLong served = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private final MemorySegment peek = Arena.ofAuto().allocate(1);
    private volatile boolean closing;

    private ProcessPerConnectionEchoServer(ServerConfig config) throws IOException {
        this.listenFd = blockingListener(config);
        this.address = Posix.getsockname(listenFd);
        this.maxConnections = config.maxConnections() > 0 ? config.maxConnections() : DEFAULT_MAX_CONNECTIONS;
        this.children = new Children(config.startupImage());
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
                int client = Children.accept(listenFd, 0, () -> closing);
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
                live.incrementAndGet();
                served.incrementAndGet();
                // Starting a JVM takes a few hundred ms: a thread per hand-over keeps accept going meanwhile.
                Thread.ofPlatform().daemon().name("fork-" + client).start(() -> handOver(client));
            }
        } finally {
            children.stopAll(1200);
            Posix.close(listenFd);
        }
    }

    /** A peek that does not wait: 0 means the client already sent FIN (or reset), with nothing to echo. */
    private boolean alreadyGone(int client) {
        long n = Posix.recv(client, peek, 1, Posix.MSG_PEEK | Posix.MSG_DONTWAIT);
        return n == 0 || n < 0 && n != -Native.EAGAIN;
    }

    private void handOver(int client) {
        try {
            Children.Child child = children.start("connection", List.of());
            UnixSockets.sendFd(child.control(), client, (byte) 'c');
            // The child's end of the Unix socket reads EOF when we close ours: that is how it learns the
            // parent died. So ours stays open for as long as the child lives.
            child.process().onExit().thenRun(() -> {
                Posix.close(child.control());
                live.decrementAndGet();
            });
        } catch (IOException e) {
            failed.incrementAndGet();
            live.decrementAndGet();
        } finally {
            Posix.close(client); // the child holds its own descriptor for the connection now
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
    public Map<String, Long> servedPerWorker() {
        return Map.of("parent", served.get());
    }

    public static final class Provider extends RungProvider {
        public Provider() {
            super("process-per-connection", 100, "forked",
                    "a child JVM per client (at most 64 by default); the accepted socket is passed over SCM_RIGHTS",
                    EnumSet.of(Setting.MAX_CONNECTIONS, Setting.STATS, Setting.NO_STARTUP_IMAGE),
                    ProcessPerConnectionEchoServer::new);
        }
    }
}
