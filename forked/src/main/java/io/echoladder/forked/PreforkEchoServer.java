package io.echoladder.forked;

import io.echoladder.common.EchoServer;
import io.echoladder.common.RungProvider;
import io.echoladder.common.ServerConfig;
import io.echoladder.common.Setting;
import io.echoladder.common.Stats;
import io.echoladder.common.linux.Posix;
import io.echoladder.common.linux.UnixSockets;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.EnumSet;
import java.util.List;

/**
 * The pre-forked server: {@code --workers N} worker processes are started up front, the parent passes
 * each of them <em>the listening socket</em> (SCM_RIGHTS), and every worker blocks in accept on it and
 * echoes the client it got. It is the thread-pool rung with processes: no process is started per
 * client, and a worker that crashes takes only its own client with it (the parent starts a new one).
 * It costs a JVM per worker in memory, and client N+1 waits in the backlog.
 */
public final class PreforkEchoServer implements EchoServer {

    private final int listenFd;
    private final InetSocketAddress address;
    private final WorkerPool pool;

    private PreforkEchoServer(ServerConfig config) throws IOException {
        this.listenFd = ProcessPerConnectionEchoServer.blockingListener(config);
        this.address = Posix.getsockname(listenFd);
        Children children = new Children(config);
        this.pool = new WorkerPool("prefork", config.workersOr(Runtime.getRuntime().availableProcessors()), children,
                "prefork", List.of(), child -> UnixSockets.sendFd(child.control(), listenFd, (byte) 'l'));
        try {
            pool.start(); // before serve's "listening on", which is followed by the workers' PIDs
        } catch (IOException | RuntimeException e) {
            pool.stop();
            Posix.close(listenFd);
            throw e;
        }
    }

    @Override
    public void serve() throws IOException, InterruptedException {
        try {
            pool.awaitStopRequest(); // the workers accept; this process only watches them
        } finally {
            pool.stop();
            Posix.close(listenFd);
        }
    }

    @Override
    public InetSocketAddress localAddress() {
        return address;
    }

    @Override
    public void close() {
        pool.requestStop();
    }

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
            super("prefork", 110, "forked",
                    "--workers N child JVMs (default: cores) share the listening socket (SCM_RIGHTS) and block in accept",
                    EnumSet.of(Setting.WORKERS, Setting.STATS, Setting.NO_STARTUP_IMAGE, Setting.WORK),
                    PreforkEchoServer::new);
        }
    }
}
