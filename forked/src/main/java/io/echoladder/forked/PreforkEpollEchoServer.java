package io.echoladder.forked;

import io.echoladder.common.AcceptPolicy;
import io.echoladder.common.EchoServer;
import io.echoladder.common.RungProvider;
import io.echoladder.common.ServerConfig;
import io.echoladder.common.Setting;
import io.echoladder.common.Stats;
import io.echoladder.common.linux.Posix;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.EnumSet;
import java.util.List;

/**
 * Pre-forked epoll workers: {@code --workers N} child JVMs each run the epoll rung's event loop; the
 * parent accepts and passes each connection's descriptor to a worker over its Unix socket (SCM_RIGHTS),
 * round-robin. Each worker serves thousands of clients, as the epoll rung does, and a crash costs only
 * that worker's clients (the parent starts a replacement). Round-robin, not least-loaded: it needs no
 * report from the workers and is even when connections are alike; with long connections of very
 * different weight, a least-loaded pick (workers reporting their live count) would spread better.
 */
public final class PreforkEpollEchoServer implements EchoServer {

    private final int listenFd;
    private final InetSocketAddress address;
    private final Children children;
    private final WorkerPool pool;
    private final AcceptPolicy accepts;
    private volatile boolean closing;

    private PreforkEpollEchoServer(ServerConfig config) throws IOException {
        this.listenFd = ProcessPerConnectionEchoServer.blockingListener(config);
        this.address = Posix.getsockname(listenFd);
        this.children = new Children(config);
        int workers = config.workersOr(Runtime.getRuntime().availableProcessors());
        this.pool = new WorkerPool("prefork-epoll", workers, children, "prefork-epoll", List.of(), child -> { });
        try {
            pool.start(); // before serve's "listening on", which is followed by the workers' PIDs
            this.accepts = new AcceptPolicy(pool.stats());
        } catch (IOException | RuntimeException e) {
            pool.stop();
            Posix.close(listenFd);
            throw e;
        }
    }

    @Override
    public void serve() throws IOException {
        try {
            for (int next = 0; ; next = (next + 1) % pool.size()) {
                // Blocks in accept(2). Accepted non-blocking: the flag lives on the open socket, which
                // the worker's epoll loop needs that way.
                int client = children.accept(listenFd, Posix.SOCK_NONBLOCK, () -> closing, accepts);
                if (client < 0) {
                    return;
                }
                // Round-robin; a worker being replaced is skipped, so a crash delays nobody.
                for (int tries = 0; tries < pool.size(); tries++, next = (next + 1) % pool.size()) {
                    if (pool.sendFd(next, client)) {
                        pool.stats().served().served(next);
                        break;
                    }
                }
                Posix.close(client); // the worker has its own descriptor now (or nobody could take it)
            }
        } finally {
            pool.stop();
            Posix.close(listenFd);
            accepts.close();
        }
    }

    @Override
    public InetSocketAddress localAddress() {
        return address;
    }

    @Override
    public void close() {
        closing = true;
        Posix.shutdown(listenFd, Posix.SHUT_RDWR);
    }

    /** Clients handed to each worker, and those turned away: by the parent at accept, or by a worker at its limit. */
    @Override
    public Stats stats() {
        return pool.stats();
    }

    @Override
    public List<Long> workerPids() {
        return pool.pids();
    }

    public static final class Provider extends RungProvider {
        public Provider() {
            super("prefork-epoll", 120, "forked",
                    "--workers N child JVMs (default: cores) each run an epoll loop; the parent accepts and passes fds round-robin",
                    EnumSet.of(Setting.WORKERS, Setting.STATS, Setting.NO_STARTUP_IMAGE, Setting.WORK),
                    PreforkEpollEchoServer::new);
        }
    }
}
