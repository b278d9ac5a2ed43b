package io.echoladder.epoll;

import io.echoladder.common.AcceptPolicy;
import io.echoladder.common.EchoServer;
import io.echoladder.common.Listeners;
import io.echoladder.common.RungProvider;
import io.echoladder.common.ServerConfig;
import io.echoladder.common.Setting;
import io.echoladder.common.Stats;
import io.echoladder.common.Work;
import java.io.IOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.EnumSet;

/**
 * The epoll rung written the idiomatic Java way: one thread, a {@link Selector}, non-blocking channels.
 * On Linux the Selector is epoll underneath, level-triggered (sun.nio.ch.EPollSelectorImpl), so this
 * loop and {@link EpollEchoServer} make the same syscalls; set them side by side to see what
 * java.nio wraps (the key set, interest ops applied at the next select, ByteBuffers) and what it costs.
 */
public final class SelectorEchoServer implements EchoServer {

    private static final int READ_SIZE = 64 * 1024;

    private final ServerSocketChannel listener;
    private final Selector selector;
    private final int maxConnections;
    private final long idleNanos;
    private final Work work;
    private final ByteBuffer buffer = ByteBuffer.allocateDirect(READ_SIZE);
    private final Stats stats = new Stats("loop", 1);
    private final AcceptPolicy accepts;
    private final AcceptPolicy.AcceptAndClose turnAway = this::acceptAndClose;
    private SelectionKey listenerKey;
    /** While accepting is paused ({@link AcceptPolicy.Next#PAUSE}): when to watch the listener again; else 0. */
    private long pausedUntil;
    private int live;
    private volatile boolean closing;

    /** What the loop knows about one client: its key's attachment. */
    private static final class Connection {
        final PendingOutput pending = new PendingOutput();
        boolean eof;
        long lastActive;

        Connection(long now) {
            this.lastActive = now;
        }
    }

    private SelectorEchoServer(ServerConfig config) throws IOException {
        this.maxConnections = config.maxConnections();
        this.idleNanos = config.idleTimeout().toNanos();
        this.work = config.work();
        this.listener = ServerSocketChannel.open();
        Selector opened = null;
        try {
            listener.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            listener.bind(Listeners.address(config), ServerConfig.BACKLOG);
            listener.configureBlocking(false);
            opened = Selector.open();
            listenerKey = listener.register(opened, SelectionKey.OP_ACCEPT);
            this.accepts = AcceptPolicy.forJdkSockets(stats);
        } catch (IOException | RuntimeException | Error e) {
            // Whatever failed, nothing opened here may outlive the constructor: a listener left open would
            // keep the port taken by a server that never serves.
            if (opened != null) {
                Listeners.closeQuietly(opened);
            }
            listener.close();
            if (e instanceof BindException bind) {
                throw Listeners.portTaken(config, bind);
            }
            throw e;
        }
        this.selector = opened;
    }

    @Override
    public void serve() throws IOException {
        try {
            while (!closing) {
                // epoll_wait underneath: sleeps until a channel is ready, the idle check is due, or
                // close() calls selector.wakeup().
                selector.select(this::handle, waitMillis());
                if (pausedUntil != 0 && System.nanoTime() - pausedUntil >= 0) {
                    resumeAccepting();
                }
                if (idleNanos > 0) {
                    closeIdle(System.nanoTime());
                }
            }
        } finally {
            for (SelectionKey key : selector.keys()) {
                Listeners.closeQuietly(key.channel());
            }
            selector.close();
            accepts.close();
        }
    }

    /** 0 (forever), unless idle connections must be looked for or a paused accept must start again. */
    private long waitMillis() {
        long millis = idleNanos > 0 ? Math.clamp(idleNanos / 4_000_000, 10, 1000) : 0;
        if (pausedUntil != 0) {
            long left = Math.clamp((pausedUntil - System.nanoTime()) / 1_000_000 + 1, 1, 1000);
            millis = millis == 0 ? left : Math.min(millis, left);
        }
        return millis;
    }

    private void handle(SelectionKey key) {
        if (key.isAcceptable()) {
            try {
                acceptAll();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e); // the listener is broken: fatal
            }
            return;
        }
        Connection c = (Connection) key.attachment();
        if (idleNanos > 0) {
            c.lastActive = System.nanoTime();
        }
        try {
            if (key.isWritable() && !flush(key, c)) {
                return;
            }
            if (key.isReadable() && !c.eof) {
                readAndEcho(key, c);
            }
        } catch (IOException e) {
            stats.counter(Stats.FAILED).increment();
            close(key); // a reset or a broken pipe ends this client only
        }
    }

    private void acceptAll() throws IOException {
        while (true) {
            SocketChannel client;
            try {
                client = listener.accept(); // null once the backlog is empty (EAGAIN)
            } catch (IOException e) {
                // Out of descriptors: the policy turns the waiting client away, and we accept again.
                // Compared, not switched on: a switch on another class's enum loads a class of its own
                // the first time it runs, and here that is at the descriptor limit.
                AcceptPolicy.Next next = accepts.failed(AcceptPolicy.errno(e), turnAway);
                if (next == AcceptPolicy.Next.ACCEPT) {
                    continue;
                }
                if (next == AcceptPolicy.Next.PAUSE) {
                    pauseAccepting();
                }
                return;
            }
            if (client == null) {
                return;
            }
            if (maxConnections > 0 && live >= maxConnections) {
                Listeners.closeQuietly(client);
                continue;
            }
            try {
                client.configureBlocking(false);
                client.setOption(StandardSocketOptions.TCP_NODELAY, true);
                client.register(selector, SelectionKey.OP_READ, new Connection(System.nanoTime()));
                live++;
                stats.served().served(0);
            } catch (IOException e) {
                stats.counter(Stats.FAILED).increment();
                Listeners.closeQuietly(client);
            }
        }
    }

    /** The turn-away: the waiting client is accepted into the spare's number and closed at once. */
    private int acceptAndClose() {
        try (SocketChannel turnedAway = listener.accept()) {
            return turnedAway == null ? -io.echoladder.common.linux.Native.EAGAIN : 0;
        } catch (IOException e) {
            return -AcceptPolicy.errno(e);
        }
    }

    /** No spare descriptor to turn clients away with: the listener asks for nothing for a while. */
    private void pauseAccepting() {
        listenerKey.interestOps(0);
        pausedUntil = System.nanoTime() + accepts.pauseMillis() * 1_000_000;
        if (pausedUntil == 0) {
            pausedUntil = 1;
        }
    }

    /** A descriptor was freed, or the pause is over: accept again. */
    private void resumeAccepting() {
        if (pausedUntil != 0) {
            pausedUntil = 0;
            listenerKey.interestOps(SelectionKey.OP_ACCEPT);
        }
    }

    private void readAndEcho(SelectionKey key, Connection c) throws IOException {
        SocketChannel channel = (SocketChannel) key.channel();
        buffer.clear();
        int n = channel.read(buffer); // one read per event: level-triggered, the others get their turn
        if (n < 0) {
            c.eof = true; // half-close: echo what is pending, then close
        } else if (n > 0) {
            buffer.flip();
            work.apply(buffer); // --work: while the loop works, every other client waits
            if (c.pending.isEmpty()) {
                channel.write(buffer);
            }
            if (buffer.hasRemaining()) {
                c.pending.append(buffer); // the client's window is full: keep the rest, in order
            }
        }
        update(key, c);
    }

    private boolean flush(SelectionKey key, Connection c) throws IOException {
        ByteBuffer pending = c.pending.asBuffer();
        int written = ((SocketChannel) key.channel()).write(pending);
        c.pending.consume(written);
        return update(key, c);
    }

    /** OP_READ while it may read, OP_WRITE only while output is pending, no OP_READ past the cap. */
    private boolean update(SelectionKey key, Connection c) {
        if (c.eof && c.pending.isEmpty()) {
            close(key);
            return false;
        }
        int want = c.eof || c.pending.overCap() ? SelectionKey.OP_WRITE
                : c.pending.isEmpty() ? SelectionKey.OP_READ : SelectionKey.OP_READ | SelectionKey.OP_WRITE;
        if (key.interestOps() != want) {
            key.interestOps(want); // applied with epoll_ctl at the next select
        }
        return true;
    }

    private void closeIdle(long now) {
        for (SelectionKey key : selector.keys()) {
            if (key.attachment() instanceof Connection c && now - c.lastActive > idleNanos) {
                close(key);
            }
        }
    }

    private void close(SelectionKey key) {
        key.cancel();
        Listeners.closeQuietly(key.channel());
        live--;
        resumeAccepting(); // its descriptor is free again
    }

    @Override
    public InetSocketAddress localAddress() {
        try {
            return (InetSocketAddress) listener.getLocalAddress();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        closing = true;
        selector.wakeup();
    }

    @Override
    public Stats stats() {
        return stats;
    }

    public static final class Provider extends RungProvider {
        public Provider() {
            super("nio-selector", 80, "epoll",
                    "the epoll loop with java.nio: one thread, a Selector (epoll, level-triggered, underneath)",
                    EnumSet.of(Setting.MAX_CONNECTIONS, Setting.IDLE_TIMEOUT, Setting.STATS, Setting.WORK),
                    SelectorEchoServer::new);
        }
    }
}
