package io.echoladder.epoll;

import io.echoladder.common.EchoServer;
import io.echoladder.common.Listeners;
import io.echoladder.common.RungProvider;
import io.echoladder.common.ServerConfig;
import io.echoladder.common.Setting;
import io.echoladder.common.Stats;
import io.echoladder.common.WakeableListener;
import io.echoladder.common.linux.Posix;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Loop per core: {@code --workers N} threads (default: cores), each running the epoll rung's loop, unchanged,
 * on a listening socket of its own; all N sockets are bound to the one port with SO_REUSEPORT, and the kernel
 * spreads new connections over them by a hash of the client's address and port. It fixes the single loop's
 * one-core ceiling with nothing shared between the loops but the port: no lock, no hand-off, no shared epoll
 * ({@code epoll-oneshot} shares one, and pays an epoll_ctl per event to re-arm it). It costs the spreading's
 * blindness: a connection stays on the loop the hash chose, however busy that loop is, and the hash keeps
 * handing a stalled loop its share of the new ones.
 *
 * <p>The loops share one {@link Stats}, each counting its clients as its own worker ({@code loop-0},
 * {@code loop-1}, ...): {@code served per worker} is how the hash spread them. {@code --max-connections} is
 * refused: a cap needs a count the loops would share, and they share nothing.
 */
public final class LoopPerCoreEchoServer implements EchoServer {

    private final InetSocketAddress address;
    private final Stats stats;
    private final List<EpollEchoServer> loops = new ArrayList<>();

    private LoopPerCoreEchoServer(ServerConfig config) throws IOException {
        int workers = config.workersOr(Runtime.getRuntime().availableProcessors());
        stats = new Stats("loop-", workers);
        // Binds the port without listening, so that a second server on it fails here, in one line,
        // instead of silently joining our loops' group (see there how).
        int guard = Listeners.portGuard(config);
        try {
            address = Posix.getsockname(guard);
            for (int i = 0; i < workers; i++) {
                // A listener per loop, each with its own accept queue: the kernel picks the queue when the
                // client's SYN arrives, so no two loops ever race for the same client.
                loops.add(EpollEchoServer.onItsOwnListener(config, new WakeableListener(config, address.getPort()),
                        stats, i));
            }
        } catch (IOException | RuntimeException e) {
            loops.forEach(EpollEchoServer::shutDown);
            throw e;
        } finally {
            Posix.close(guard); // our loops hold the port now; the guard never listened, so no client saw it
        }
    }

    /**
     * Runs each loop on a thread of its own and waits for them all. A loop ends only when it is woken
     * ({@link #close}) or its listener or epoll fd breaks; either way it wakes the others, so the server
     * stops whole, and a broken loop's error is the server's.
     */
    @Override
    public void serve() throws Exception {
        AtomicReference<Exception> broken = new AtomicReference<>();
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < loops.size(); i++) {
            EpollEchoServer loop = loops.get(i);
            threads.add(Thread.ofPlatform().name("loop-" + i).start(() -> {
                try {
                    loop.serve();
                } catch (Exception e) {
                    broken.compareAndSet(null, e);
                } finally {
                    close();
                }
            }));
        }
        for (Thread thread : threads) {
            thread.join();
        }
        if (broken.get() != null) {
            throw broken.get();
        }
    }

    @Override
    public InetSocketAddress localAddress() {
        return address;
    }

    /** From any thread, more than once: writes each loop's eventfd, and each loop's wait returns. */
    @Override
    public void close() {
        loops.forEach(EpollEchoServer::close);
    }

    /** Clients each loop accepted (the hash's spread), connections that failed, clients turned away. */
    @Override
    public Stats stats() {
        return stats;
    }

    public static final class Provider extends RungProvider {
        public Provider() {
            super("loop-per-core", 75, "epoll",
                    "--workers N threads (default: cores), each an epoll loop on its own SO_REUSEPORT listener; the kernel spreads clients",
                    EnumSet.of(Setting.WORKERS, Setting.IDLE_TIMEOUT, Setting.STATS, Setting.EDGE_TRIGGERED,
                            Setting.WORK),
                    LoopPerCoreEchoServer::new);
        }
    }
}
