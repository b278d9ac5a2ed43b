package io.echoladder.threaded;

import io.echoladder.blocking.IterativeEchoServer;
import io.echoladder.common.Connections;
import io.echoladder.common.SocketEchoServer;
import io.echoladder.common.Listeners;
import io.echoladder.common.RungProvider;
import io.echoladder.common.ServerConfig;
import io.echoladder.common.Setting;
import io.echoladder.common.Stats;
import java.io.IOException;
import java.net.Socket;
import java.util.EnumSet;

/**
 * Thread per connection: the accept loop starts a platform thread for each client, and that thread runs
 * the blocking rung's echo loop unchanged. It fixes the iterative server's one-at-a-time service: a slow
 * or idle client now holds up only its own thread. It costs a kernel thread per client (a stack, a
 * scheduler entry, a thread creation per connect), so memory and context switches grow with clients.
 */
public final class ThreadPerConnectionEchoServer extends SocketEchoServer {

    /** Per connection, so kept small: 10,000 clients hold 10,000 of these. */
    private static final int BUFFER_SIZE = 8 * 1024;

    private final int maxConnections;
    private final Thread.Builder threads;

    ThreadPerConnectionEchoServer(ServerConfig config, Thread.Builder threads) throws IOException {
        super(config, new Stats("acceptor", 1));
        this.maxConnections = config.maxConnections();
        this.threads = threads;
    }

    @Override
    public void serve() throws IOException {
        while (!closing) {
            // Blocks until a client completes the handshake: the only thing this thread does.
            Socket client = accept();
            if (client == null) {
                return;
            }
            if (maxConnections > 0 && connections.size() >= maxConnections) {
                // At the cap: close at once (the client reads EOF) rather than start one more thread.
                Listeners.closeQuietly(client);
                continue;
            }
            stats.served().served(0);
            // Tracked here, before the thread starts, so the cap above counts it without a race.
            Connections.Tracked tracked = connections.track(client);
            threads.start(() -> IterativeEchoServer.handle(client, tracked, connections, new byte[BUFFER_SIZE]));
        }
    }

    /** The ladder entry for this rung. */
    public static final class Provider extends RungProvider {
        public Provider() {
            super("thread-per-connection", 20, "threaded",
                    "a platform thread per client, started by the accept loop",
                    EnumSet.of(Setting.MAX_CONNECTIONS, Setting.IDLE_TIMEOUT, Setting.STATS, Setting.WORK,
                            Setting.WORK_TIMEOUT),
                    config -> new ThreadPerConnectionEchoServer(config,
                            Thread.ofPlatform().daemon().name("echo-", 0)));
        }
    }
}
