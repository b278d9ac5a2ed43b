package io.echoladder.epoll;

import static io.echoladder.common.linux.EPoll.EPOLLIN;
import static io.echoladder.common.linux.EPoll.EPOLL_CTL_ADD;

import io.echoladder.common.ServerConfig;
import io.echoladder.common.WakeableListener;
import io.echoladder.common.linux.EPoll;
import io.echoladder.common.linux.Native;
import io.echoladder.common.linux.Posix;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;

/**
 * The epoll-oneshot rung's set-up: a {@link WakeableListener} (listening socket and wake-up eventfd)
 * and one epoll instance watching both, which all its workers share.
 */
final class EpollListener implements AutoCloseable {

    final int listenFd;
    final int epfd;
    final int wakeFd;
    private final WakeableListener sockets;
    private boolean closed;

    /**
     * @param listenerEvents how the listener is registered (EPOLLIN, or EPOLLIN | EPOLLONESHOT)
     */
    EpollListener(ServerConfig config, int listenerEvents) throws IOException {
        sockets = new WakeableListener(config, true);
        listenFd = sockets.listenFd;
        wakeFd = sockets.wakeFd;
        int created = -1;
        try (Arena arena = Arena.ofConfined()) {
            created = EPoll.epoll_create1();
            MemorySegment ctl = EPoll.allocateEvents(arena, 1);
            Native.check("epoll_ctl", EPoll.epoll_ctl(created, EPOLL_CTL_ADD, listenFd, listenerEvents, ctl));
            // Level-triggered and never one-shot: once written, every epoll_wait on this set returns it.
            Native.check("epoll_ctl", EPoll.epoll_ctl(created, EPOLL_CTL_ADD, wakeFd, EPOLLIN, ctl));
        } catch (IOException | RuntimeException e) {
            if (created >= 0) {
                Posix.close(created);
            }
            sockets.close();
            throw e;
        }
        epfd = created;
    }

    /** Wakes every thread blocked in epoll_wait on this set; they see {@link #wakeFd} and stop. */
    void wake() {
        sockets.wake();
    }

    InetSocketAddress localAddress() {
        return sockets.localAddress();
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            sockets.close();
            Posix.close(epfd);
        }
    }
}
