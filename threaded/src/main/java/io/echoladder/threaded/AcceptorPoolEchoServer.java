package io.echoladder.threaded;

import io.echoladder.blocking.IterativeEchoServer;
import io.echoladder.common.SocketEchoServer;
import io.echoladder.common.Listeners;
import io.echoladder.common.RungProvider;
import io.echoladder.common.ServerConfig;
import io.echoladder.common.Setting;
import io.echoladder.common.Stats;
import java.io.IOException;
import java.net.Socket;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

/**
 * An acceptor and a pool: one thread accepts and hands each connection through a bounded queue to
 * {@code --workers N} threads that echo. Compared with the pre-threaded rung, one thread owns the
 * listener (the shape of most Java servers' "boss" and "worker" threads), and the hand-off is a place
 * to decide what happens under overload. Here a full queue blocks the acceptor: the waiting moves back
 * into the kernel's listen backlog, where it costs no memory and keeps arrival order, and no client is
 * ever accepted only to be dropped. It costs one more thread and a queue hop per connection.
 */
public final class AcceptorPoolEchoServer extends SocketEchoServer {

    private static final int BUFFER_SIZE = 8 * 1024;

    private final int workers;
    /** As many waiting connections as workers: enough to keep every worker busy, no more. */
    private final BlockingQueue<Socket> handoff;
    private final List<Thread> threads = new CopyOnWriteArrayList<>();

    private AcceptorPoolEchoServer(ServerConfig config) throws IOException {
        super(config, new Stats("worker-", config.workersOr(ThreadPoolEchoServer.DEFAULT_WORKERS)));
        this.workers = config.workersOr(ThreadPoolEchoServer.DEFAULT_WORKERS);
        this.handoff = new ArrayBlockingQueue<>(workers);
    }

    @Override
    public void serve() throws IOException, InterruptedException {
        for (int i = 0; i < workers; i++) {
            int worker = i;
            threads.add(Thread.ofPlatform().daemon().name("worker-" + i).start(() -> work(worker)));
        }
        threads.add(Thread.currentThread());
        try {
            for (Socket client; (client = accept()) != null; ) {
                // Blocks while every worker is busy and the queue is full: accept stops, and new
                // clients wait in the backlog instead.
                handoff.put(client);
            }
        } catch (InterruptedException e) {
            if (!closing) {
                throw e;
            }
        } finally {
            for (Socket waiting; (waiting = handoff.poll()) != null; ) {
                Listeners.closeQuietly(waiting);
            }
        }
    }

    private void work(int worker) {
        byte[] buffer = new byte[BUFFER_SIZE];
        try {
            while (!closing) {
                Socket client = handoff.take(); // blocks until the acceptor hands over a connection
                stats.served().served(worker);
                IterativeEchoServer.handle(client, connections, buffer);
            }
        } catch (InterruptedException e) {
            // close() interrupts idle workers
        }
    }

    @Override
    public void close() {
        super.close();
        threads.forEach(Thread::interrupt); // the acceptor may wait on a full queue, workers on an empty one
    }

    /** The ladder entry for this rung. */
    public static final class Provider extends RungProvider {
        public Provider() {
            super("thread-pool-handoff", 40, "threaded",
                    "one acceptor hands connections through a bounded queue to --workers N threads; full queue blocks it",
                    EnumSet.of(Setting.WORKERS, Setting.IDLE_TIMEOUT, Setting.STATS, Setting.WORK,
                            Setting.WORK_TIMEOUT),
                    AcceptorPoolEchoServer::new);
        }
    }
}
