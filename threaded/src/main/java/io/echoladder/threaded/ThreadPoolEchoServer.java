package io.echoladder.threaded;

import io.echoladder.blocking.IterativeEchoServer;
import io.echoladder.common.SocketEchoServer;
import io.echoladder.common.RungProvider;
import io.echoladder.common.ServerConfig;
import io.echoladder.common.Setting;
import io.echoladder.common.Stats;
import java.io.IOException;
import java.net.Socket;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;

/**
 * The pre-threaded server: {@code --workers N} threads are started up front and each one blocks in
 * accept on the shared listener, then echoes the client it got until it leaves. It fixes the cost of a
 * thread per connect (the threads exist before the clients) and caps the threads at N. It costs
 * queueing: client N+1 connects, but waits in the listen backlog until a worker is free.
 */
public final class ThreadPoolEchoServer extends SocketEchoServer {

    static final int DEFAULT_WORKERS = 8;
    private static final int BUFFER_SIZE = 8 * 1024;

    private final int workers;
    private volatile IOException broken;

    private ThreadPoolEchoServer(ServerConfig config) throws IOException {
        super(config, new Stats("worker-", config.workersOr(DEFAULT_WORKERS)));
        this.workers = config.workersOr(DEFAULT_WORKERS);
    }

    @Override
    public void serve() throws IOException, InterruptedException {
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < workers; i++) {
            int worker = i;
            threads.add(Thread.ofPlatform().daemon().name("worker-" + i).start(() -> work(worker)));
        }
        for (Thread thread : threads) {
            thread.join();
        }
        // Set only by a worker whose accept failed while nobody was stopping the server (accept returns
        // null once closing): the close() it called to stop the others must not hide it.
        if (broken != null) {
            throw broken;
        }
    }

    private void work(int worker) {
        byte[] buffer = new byte[BUFFER_SIZE];
        while (!closing) {
            Socket client;
            try {
                // Every idle worker waits here on the same listener. The kernel hands each connection
                // to one waiter (Linux queues accept waiters as exclusive, so there is no thundering
                // herd); the JDK goes further and lets only one thread at a time into accept(2),
                // queueing the rest on the listener's lock. Either way: one connection, one worker.
                client = accept();
            } catch (IOException e) {
                broken = e; // a broken listener is fatal: stop every worker
                close();
                return;
            }
            if (client == null) {
                return;
            }
            stats.served().served(worker);
            IterativeEchoServer.handle(client, connections, buffer);
        }
    }

    /** The ladder entry for this rung. */
    public static final class Provider extends RungProvider {
        public Provider() {
            super("thread-pool", 30, "threaded",
                    "pre-threaded: --workers N threads (default " + DEFAULT_WORKERS + ") all block in accept on one listener",
                    EnumSet.of(Setting.WORKERS, Setting.IDLE_TIMEOUT, Setting.STATS, Setting.WORK,
                            Setting.WORK_TIMEOUT),
                    ThreadPoolEchoServer::new);
        }
    }
}
