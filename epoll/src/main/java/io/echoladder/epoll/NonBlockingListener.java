package io.echoladder.epoll;

import io.echoladder.common.Listeners;
import io.echoladder.common.ServerConfig;
import io.echoladder.common.linux.Native;
import io.echoladder.common.linux.Posix;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetSocketAddress;

/**
 * What every readiness loop (select, poll, epoll) sets up the same way: a non-blocking listening socket,
 * and an eventfd through which another thread (the signal handler) wakes the loop's wait to stop it.
 * Each loop watches both with whatever it waits on: an fd_set, a pollfd array, an epoll set.
 */
final class NonBlockingListener implements AutoCloseable {

    final int listenFd;
    final int wakeFd;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment one = arena.allocateFrom(ValueLayout.JAVA_LONG, 1);
    private boolean closed;

    NonBlockingListener(ServerConfig config) throws IOException {
        try {
            listenFd = Posix.listener(Listeners.address(config), ServerConfig.BACKLOG, true, false);
        } catch (Native.NativeException e) {
            arena.close();
            if (e.errno() == Native.EADDRINUSE) {
                throw Listeners.portTaken(config, e);
            }
            throw e;
        }
        wakeFd = eventfd(listenFd);
    }

    /**
     * Around a descriptor that already exists (the Unix socket the prefork-epoll workers receive their
     * clients on) instead of a new listener.
     */
    NonBlockingListener(int sourceFd) throws IOException {
        listenFd = sourceFd;
        wakeFd = eventfd(sourceFd);
    }

    private int eventfd(int opened) throws IOException {
        try {
            return Posix.eventfd(0, Posix.EFD_NONBLOCK | Posix.EFD_CLOEXEC);
        } catch (IOException e) {
            Posix.close(opened);
            arena.close();
            throw e;
        }
    }

    /** Makes {@link #wakeFd} readable, for good: every wait that watches it returns at once. */
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

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            Posix.close(listenFd);
            Posix.close(wakeFd);
            arena.close();
        }
    }
}
