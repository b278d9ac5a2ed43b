package io.echoladder.epoll;

import static io.echoladder.common.linux.EPoll.EPOLLERR;
import static io.echoladder.common.linux.EPoll.EPOLLET;
import static io.echoladder.common.linux.EPoll.EPOLLHUP;
import static io.echoladder.common.linux.EPoll.EPOLLONESHOT;
import static io.echoladder.common.linux.EPoll.EPOLLIN;
import static io.echoladder.common.linux.EPoll.EPOLLOUT;
import static io.echoladder.common.linux.EPoll.EPOLLRDHUP;
import static io.echoladder.common.linux.EPoll.EPOLL_CTL_ADD;
import static io.echoladder.common.linux.EPoll.EPOLL_CTL_MOD;

import io.echoladder.common.EchoServer;
import io.echoladder.common.RungProvider;
import io.echoladder.common.ServerConfig;
import io.echoladder.common.Setting;
import io.echoladder.common.Stats;
import io.echoladder.common.WakeableListener;
import io.echoladder.common.Work;
import io.echoladder.common.linux.EPoll;
import io.echoladder.common.linux.Native;
import io.echoladder.common.linux.Posix;
import io.echoladder.common.linux.UnixSockets;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.EnumSet;

/**
 * Epoll: one thread, one epoll instance, non-blocking sockets, every call a real syscall through
 * {@code java.lang.foreign}; the loop reads like the C it mirrors. It fixes what select and poll cost:
 * the set of watched sockets lives in the kernel, registered once, so a wait costs in proportion to the
 * sockets that are ready, not to all that are open; and a thread per client is not needed either. It
 * costs explicit state: a connection's unsent bytes must be kept, and nothing here may block, or every
 * client waits.
 *
 * <p>Level-triggered by default: epoll reports a socket as long as it is readable, so one read per event
 * is enough and clients take turns fairly. {@code --edge-triggered} is reported only when new bytes
 * arrive, so each event must be drained with reads until EAGAIN, or the rest would wait for the next edge.
 * What happens once a socket is ready is the same in select, poll and epoll: {@link NonBlockingEchoServer}.
 */
public final class EpollEchoServer extends NonBlockingEchoServer {

    private static final int MAX_EVENTS = 512;

    private final boolean edgeTriggered;
    private final boolean fed;
    /** The fed loop's word to its parent for each client it could not receive (null otherwise). */
    private final Runnable turnedAway;
    private final int epfd;
    private final MemorySegment events = EPoll.allocateEvents(arena, MAX_EVENTS);
    private final MemorySegment ctl = EPoll.allocateEvents(arena, 1);

    private EpollEchoServer(ServerConfig config, boolean edgeTriggered) throws IOException {
        this(config, edgeTriggered, new WakeableListener(config, true), new Stats("loop", 1), 0, null);
    }

    private EpollEchoServer(ServerConfig config, boolean edgeTriggered, WakeableListener listener, Stats stats,
                            int loop, Runnable turnedAway) throws IOException {
        super(config, listener, edgeTriggered, stats, loop);
        this.edgeTriggered = edgeTriggered;
        this.fed = turnedAway != null;
        this.turnedAway = turnedAway;
        int created = -1;
        try {
            // The interest list lives in the kernel: each socket is registered once, not passed per wait.
            created = EPoll.epoll_create1();
            Native.check("epoll_ctl", EPoll.epoll_ctl(created, EPOLL_CTL_ADD, listenFd, EPOLLIN, ctl));
            Native.check("epoll_ctl", EPoll.epoll_ctl(created, EPOLL_CTL_ADD, wakeFd, EPOLLIN, ctl));
            if (offload != null) {
                // Finished work wakes the loop like a readable socket: it still sleeps in one place.
                Native.check("epoll_ctl", EPoll.epoll_ctl(created, EPOLL_CTL_ADD, offload.fd, EPOLLIN, ctl));
            }
        } catch (IOException | RuntimeException e) {
            if (created >= 0) {
                Posix.close(created);
            }
            abandon();
            throw e;
        }
        epfd = created;
    }

    /**
     * This loop without a listener, for a worker process (the prefork-epoll rung): its parent accepts
     * and passes each client's descriptor over {@code unixSocket} with SCM_RIGHTS; the loop takes one per
     * readable event and serves it like an accepted one. EOF on the socket (the parent is gone) stops it.
     * {@code work} is the server's {@code --work}, passed on by the parent; {@code turnedAway} tells the
     * parent of a client this loop could not receive for lack of a descriptor.
     */
    public static EchoServer fedBy(int unixSocket, Work work, Runnable turnedAway) throws IOException {
        ServerConfig config = new ServerConfig("127.0.0.1", 0, 0, 0, Duration.ZERO, Duration.ZERO, false, true, work,
                Duration.ZERO, 0, null);
        return new EpollEchoServer(config, false, new WakeableListener(unixSocket), new Stats("loop", 1), 0,
                turnedAway);
    }

    /**
     * This loop on a listener of its own, for the loop-per-core rung: one of its {@code --workers} loops,
     * counting its clients as worker {@code loop} of {@code stats}, which the loops share.
     */
    static EpollEchoServer onItsOwnListener(ServerConfig config, WakeableListener listener, Stats stats, int loop)
            throws IOException {
        return new EpollEchoServer(config, config.edgeTriggered(), listener, stats, loop, null);
    }

    @Override
    public void serve() throws IOException {
        try {
            while (true) {
                // The one blocking call: sleeps until a socket is ready, the idle check is due, or
                // close() writes the eventfd. It returns only the ready sockets, however many are open.
                int n = EPoll.epoll_wait(epfd, events, MAX_EVENTS, waitMillis());
                long now = now();
                for (int i = 0; i < n; i++) {
                    int fd = EPoll.fd(events, i);
                    int ready = EPoll.events(events, i);
                    if (fd == listenFd && fed) {
                        int client = UnixSockets.receiveFd(listenFd);
                        if (client == UnixSockets.EOF) {
                            return; // the parent closed its end: it is gone, and so are we
                        }
                        if (client == UnixSockets.TRUNCATED) {
                            // No descriptor left to receive it into: the kernel dropped it, and with it
                            // the client's last reference, so that client reads EOF. Counted; we live on.
                            stats.counter(Stats.TURNED_AWAY).increment();
                            turnedAway.run();
                            continue;
                        }
                        adopt(client, now);
                    } else if (fd == listenFd) {
                        acceptAll(now);
                    } else if (fd == wakeFd) {
                        return;
                    } else if (offload != null && fd == offload.fd) {
                        finished(now);
                    } else if (connection(fd) != null) {
                        handle(connection(fd), (ready & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0,
                                (ready & EPOLLOUT) != 0, now);
                    }
                }
                afterTurn();
            }
        } finally {
            shutDown();
        }
    }

    /** Registers a new client with epoll, once: from here on the kernel watches it. */
    @Override
    boolean watch(int fd) {
        if (EPoll.epoll_ctl(epfd, EPOLL_CTL_ADD, fd, interest(READ), ctl) < 0) {
            stats.counter(Stats.FAILED).increment();
            return false;
        }
        return true;
    }

    /** EPOLL_CTL_MOD with no events while accepting is paused, EPOLLIN again after. */
    @Override
    void watchListener(boolean watch) throws IOException {
        Native.check("epoll_ctl", EPoll.epoll_ctl(epfd, EPOLL_CTL_MOD, listenFd, watch ? EPOLLIN : 0, ctl));
    }

    /**
     * EPOLLIN while the connection may read, EPOLLOUT only while output is pending. EPOLL_CTL_MOD also
     * re-checks readiness, so bytes that arrived while we were not reading (back-pressure, edge-triggered)
     * are reported now rather than lost with the edge.
     */
    @Override
    boolean want(Connection c, int wants) {
        return EPoll.epoll_ctl(epfd, EPOLL_CTL_MOD, c.fd, interest(wants), ctl) >= 0;
    }

    /** close(2) also removes the fd from every epoll set: no EPOLL_CTL_DEL needed. */
    @Override
    void forget(Connection c) {
    }

    @Override
    void release() {
        Posix.close(epfd);
    }

    /**
     * EPOLLRDHUP with EPOLLIN, so the edge-triggered loop hears a half-close. Wanting nothing (a job in
     * the {@code --offload} pool) is EPOLLONESHOT: epoll reports EPOLLHUP and EPOLLERR whatever the
     * interest, so a client that resets meanwhile would otherwise wake a level-triggered loop on every
     * turn until the job returns; one-shot reports it once, and the next EPOLL_CTL_MOD re-arms.
     */
    private int interest(int wants) {
        if (wants == 0) {
            return EPOLLONESHOT;
        }
        return ((wants & READ) != 0 ? EPOLLIN | EPOLLRDHUP : 0) | ((wants & WRITE) != 0 ? EPOLLOUT : 0)
                | (edgeTriggered ? EPOLLET : 0);
    }

    /** Level-triggered by default; {@code --edge-triggered} switches to EPOLLET. */
    public static final class Provider extends RungProvider {
        public Provider() {
            super("epoll", 60, "epoll",
                    "one thread, one epoll fd, level-triggered (--edge-triggered), raw syscalls through java.lang.foreign",
                    EnumSet.of(Setting.MAX_CONNECTIONS, Setting.IDLE_TIMEOUT, Setting.STATS, Setting.EDGE_TRIGGERED,
                            Setting.WORK, Setting.OFFLOAD),
                    config -> new EpollEchoServer(config, config.edgeTriggered()));
        }
    }
}
