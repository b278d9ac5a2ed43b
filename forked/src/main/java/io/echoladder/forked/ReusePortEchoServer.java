package io.echoladder.forked;

import io.echoladder.common.EchoServer;
import io.echoladder.common.Listeners;
import io.echoladder.common.RungProvider;
import io.echoladder.common.ServerConfig;
import io.echoladder.common.Setting;
import io.echoladder.common.Stats;
import io.echoladder.common.linux.Native;
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
        int guard = portGuard(config);
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

    /**
     * SO_REUSEPORT lets any socket of the same user join a port's group, so a second server started on
     * the port by mistake would silently take half of the clients. The guard refuses that. It binds the
     * port with SO_REUSEADDR but <em>without</em> SO_REUSEPORT: that fails (EADDRINUSE, one line naming
     * the port) if anyone listens there, a reuseport group included, and tolerates only TIME_WAIT
     * leftovers, as every rung's listener does. Then it swaps the two options: without SO_REUSEADDR,
     * another server's guard conflicts with it, and with SO_REUSEPORT our own workers may bind beside it.
     * Once the workers listen, another guard conflicts with them. The only opening is the two syscalls
     * between our bind and the swap. The guard never listens, so no client is routed to it, and it finds
     * the port for {@code --port 0}.
     */
    private static int portGuard(ServerConfig config) throws IOException {
        InetSocketAddress wanted = Listeners.address(config);
        int fd = Posix.socket(Posix.family(wanted.getAddress()), Posix.SOCK_STREAM | Posix.SOCK_CLOEXEC, 0);
        try {
            Posix.setsockopt(fd, Posix.SOL_SOCKET, Posix.SO_REUSEADDR, 1);
            Posix.bind(fd, wanted);
            Posix.setsockopt(fd, Posix.SOL_SOCKET, Posix.SO_REUSEADDR, 0);
            Posix.setsockopt(fd, Posix.SOL_SOCKET, Posix.SO_REUSEPORT, 1);
            return fd;
        } catch (IOException e) {
            Posix.close(fd);
            if (e instanceof Native.NativeException n && n.errno() == Native.EADDRINUSE) {
                throw Listeners.portTaken(config, e);
            }
            throw e;
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
