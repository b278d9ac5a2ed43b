package io.echoladder.threaded;

import io.echoladder.blocking.IterativeEchoServer;
import io.echoladder.common.Connections;
import io.echoladder.common.EchoServer;
import io.echoladder.common.Listeners;
import io.echoladder.common.RungProvider;
import io.echoladder.common.ServerConfig;
import io.echoladder.common.Setting;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.EnumSet;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A virtual thread per connection: the thread-per-connection rung with {@code Thread.ofVirtual()} in
 * place of {@code Thread.ofPlatform()}, and nothing else changed. The same blocking read now parks a
 * continuation (a few hundred bytes of heap) instead of a kernel thread; the JDK's poller, which
 * registers the socket with epoll and unparks the thread when it is readable, does underneath what the
 * epoll rungs do by hand. It costs a heap-allocated stack per client and the JDK's scheduling between.
 */
public final class VirtualThreadEchoServer implements EchoServer {

    private static final int BUFFER_SIZE = 8 * 1024;

    private final ServerSocket listener;
    private final Connections connections;
    private final int maxConnections;
    private final AtomicLong served = new AtomicLong();
    private volatile boolean closing;

    private VirtualThreadEchoServer(ServerSocket listener, ServerConfig config) {
        this.listener = listener;
        this.connections = new Connections(config.idleTimeout());
        this.maxConnections = config.maxConnections();
    }

    @Override
    public void serve() throws IOException {
        while (!closing) {
            Socket client;
            try {
                client = listener.accept();
            } catch (IOException e) {
                if (closing) {
                    return;
                }
                throw e;
            }
            if (maxConnections > 0 && connections.size() >= maxConnections) {
                Listeners.closeQuietly(client); // at the cap: the client reads EOF at once
                continue;
            }
            served.incrementAndGet();
            Connections.Tracked tracked = connections.track(client);
            // The only line that differs from thread-per-connection: a virtual thread per client.
            Thread.ofVirtual().name("echo-" + client.getPort())
                    .start(() -> IterativeEchoServer.handle(client, tracked, connections, new byte[BUFFER_SIZE]));
        }
    }

    @Override
    public InetSocketAddress localAddress() {
        return (InetSocketAddress) listener.getLocalSocketAddress();
    }

    @Override
    public void close() {
        closing = true;
        Listeners.closeQuietly(listener);
        connections.close();
    }

    @Override
    public Map<String, Long> servedPerWorker() {
        return Map.of("acceptor", served.get());
    }

    /** The ladder entry for this rung. */
    public static final class Provider extends RungProvider {
        public Provider() {
            super("virtual-threads", 50, "threaded",
                    "a virtual thread per client: blocking code, parked continuations, the JDK's epoll poller",
                    EnumSet.of(Setting.MAX_CONNECTIONS, Setting.IDLE_TIMEOUT, Setting.STATS),
                    config -> new VirtualThreadEchoServer(Listeners.serverSocket(config), config));
        }
    }
}
