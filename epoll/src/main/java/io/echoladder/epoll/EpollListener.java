package io.echoladder.epoll;

import static io.echoladder.common.linux.EPoll.EPOLLIN;
import static io.echoladder.common.linux.EPoll.EPOLL_CTL_ADD;

import io.echoladder.common.Listeners;
import io.echoladder.common.ServerConfig;
import io.echoladder.common.linux.EPoll;
import io.echoladder.common.linux.Native;
import io.echoladder.common.linux.Posix;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetSocketAddress;

/**
 * What both raw epoll rungs set up the same way: a non-blocking listening socket, an epoll instance
 * watching it, and an eventfd in the same set through which another thread (the signal handler) wakes
 * {@code epoll_wait} to stop the loop.
 */
final class EpollListener implements AutoCloseable {

    final int listenFd;
    final int epfd;
    final int wakeFd;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment one = arena.allocateFrom(ValueLayout.JAVA_LONG, 1);
    private boolean closed;

    /**
     * @param listenerEvents how the listener is registered (EPOLLIN, or EPOLLIN | EPOLLONESHOT)
     */
    EpollListener(ServerConfig config, int listenerEvents) throws IOException {
        try {
            listenFd = Posix.listener(Listeners.address(config), ServerConfig.BACKLOG, true, false);
        } catch (Native.NativeException e) {
            arena.close();
            if (e.errno() == Native.EADDRINUSE) {
                throw Listeners.portTaken(config, e);
            }
            throw e;
        }
        epfd = EPoll.epoll_create1();
        wakeFd = Posix.eventfd(0, Posix.EFD_NONBLOCK | Posix.EFD_CLOEXEC);
        MemorySegment ctl = EPoll.allocateEvents(arena, 1);
        check(EPoll.epoll_ctl(epfd, EPOLL_CTL_ADD, listenFd, listenerEvents, ctl));
        // Level-triggered and never one-shot: once written, every epoll_wait on this set returns it.
        check(EPoll.epoll_ctl(epfd, EPOLL_CTL_ADD, wakeFd, EPOLLIN, ctl));
    }

    /**
     * An epoll set around a descriptor that already exists (a Unix socket descriptors arrive on, in the
     * prefork-epoll workers) instead of a new listener.
     */
    EpollListener(int sourceFd) throws IOException {
        listenFd = sourceFd;
        epfd = EPoll.epoll_create1();
        wakeFd = Posix.eventfd(0, Posix.EFD_NONBLOCK | Posix.EFD_CLOEXEC);
        MemorySegment ctl = EPoll.allocateEvents(arena, 1);
        check(EPoll.epoll_ctl(epfd, EPOLL_CTL_ADD, listenFd, EPOLLIN, ctl));
        check(EPoll.epoll_ctl(epfd, EPOLL_CTL_ADD, wakeFd, EPOLLIN, ctl));
    }

    /** Wakes every thread blocked in epoll_wait on this set; they see {@link #wakeFd} and stop. */
    synchronized void wake() {
        if (!closed) {
            Posix.write(wakeFd, one, Long.BYTES);
        }
    }

    InetSocketAddress localAddress() {
        try {
            return Posix.getsockname(listenFd);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static void check(int rc) throws IOException {
        if (rc < 0) {
            throw Native.exception("epoll_ctl", -rc);
        }
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            Posix.close(listenFd);
            Posix.close(wakeFd);
            Posix.close(epfd);
            arena.close();
        }
    }
}
