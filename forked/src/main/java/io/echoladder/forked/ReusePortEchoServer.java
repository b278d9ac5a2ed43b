package io.echoladder.forked;

import io.echoladder.common.EchoServer;
import io.echoladder.common.Listeners;
import io.echoladder.common.RungProvider;
import io.echoladder.common.ServerConfig;
import io.echoladder.common.Setting;
import io.echoladder.common.Stats;
import io.echoladder.common.linux.Posix;
import io.echoladder.common.linux.UnixSockets;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.net.InetSocketAddress;
import java.util.EnumSet;
import java.util.List;

/**
 * SO_REUSEPORT workers: {@code --workers N} child JVMs each bind a listener of their own on the same port,
 * and the kernel spreads incoming connections over them by a hash of the client's address and port. No
 * descriptor is shared, so no accept is contended; the price is that the spreading is blind: a busy
 * worker keeps getting its share, where prefork's idle workers would take the next client.
 */
public final class ReusePortEchoServer implements EchoServer {

    private final InetSocketAddress address;
    private final WorkerPool pool;

    private ReusePortEchoServer(ServerConfig config) throws IOException {
        // Binds the port without listening, so that a second server on it fails here, in one line,
        // instead of silently joining our workers' group (see there how).
        int guard = Listeners.portGuard(config);
        try {
            this.address = Posix.getsockname(guard);
            Children children = new Children(config);
            List<String> where = List.of(config.host(), Integer.toString(address.getPort()));
            this.pool = new WorkerPool("reuseport", config.workersOr(Runtime.getRuntime().availableProcessors()),
                    children, "reuseport", where, child -> {
                        if (UnixSockets.readByte(child.control(), Arena.ofAuto().allocate(1)) != Worker.READY) {
                            throw new IOException("reuseport worker (pid " + child.process().pid() + ") did not bind");
                        }
                    });
            pool.start();
        } finally {
            Posix.close(guard); // our workers hold the port now; the guard never listened, so no client saw it
        }
    }

    @Override
    public void serve() throws InterruptedException {
        try {
            pool.awaitStopRequest();
        } finally {
            pool.stop();
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
            super("reuseport", 130, "forked",
                    "--workers N child JVMs (default: cores) each bind the port with SO_REUSEPORT; the kernel spreads clients",
                    EnumSet.of(Setting.WORKERS, Setting.STATS, Setting.NO_STARTUP_IMAGE, Setting.WORK),
                    ReusePortEchoServer::new);
        }
    }
}
