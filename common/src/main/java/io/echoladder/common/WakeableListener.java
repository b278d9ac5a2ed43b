package io.echoladder.common;

import io.echoladder.common.linux.Native;
import io.echoladder.common.linux.Posix;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetSocketAddress;

/**
 * What every event loop (select, poll, epoll, io_uring) sets up the same way: a listening socket, and an
 * eventfd through which another thread (the signal handler) wakes the loop's wait to stop it. Each loop
 * watches both with whatever it waits on: an fd_set, a pollfd array, an epoll set, or requests in its
 * ring. Readiness loops want both non-blocking; io_uring wants them blocking (it waits for readiness
 * itself, and a non-blocking file makes its request fail with EAGAIN instead).
 */
public final class WakeableListener implements AutoCloseable {

    public final int listenFd;
    public final int wakeFd;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment one = arena.allocateFrom(ValueLayout.JAVA_LONG, 1);
    private boolean closed;

    /** A new listener on the configured address, non-blocking for a readiness loop or blocking for a ring. */
    public WakeableListener(ServerConfig config, boolean nonBlocking) throws IOException {
        this(config, Listeners.address(config), nonBlocking, false);
    }

    /**
     * A non-blocking listener of one's own on {@code port}, bound with SO_REUSEPORT beside the others on
     * that port: the loop-per-core rung's, one per loop, once {@link Listeners#portGuard} holds the port.
     */
    public WakeableListener(ServerConfig config, int port) throws IOException {
        this(config, new InetSocketAddress(Listeners.address(config).getAddress(), port), true, true);
    }

    private WakeableListener(ServerConfig config, InetSocketAddress address, boolean nonBlocking, boolean reusePort)
            throws IOException {
        try {
            listenFd = Posix.listener(address, ServerConfig.BACKLOG, nonBlocking, reusePort);
        } catch (Native.NativeException e) {
            arena.close();
            if (e.errno() == Native.EADDRINUSE) {
                throw Listeners.portTaken(config, e);
            }
            throw e;
        }
        wakeFd = eventfd(listenFd, nonBlocking);
    }

    /**
     * Around a descriptor that already exists (the Unix socket the prefork-epoll workers receive their
     * clients on) instead of a new listener; non-blocking.
     */
    public WakeableListener(int sourceFd) throws IOException {
        listenFd = sourceFd;
        wakeFd = eventfd(sourceFd, true);
    }

    private int eventfd(int opened, boolean nonBlocking) throws IOException {
        try {
            return Posix.eventfd(0, (nonBlocking ? Posix.EFD_NONBLOCK : 0) | Posix.EFD_CLOEXEC);
        } catch (IOException e) {
            Posix.close(opened);
            arena.close();
            throw e;
        }
    }

    /**
     * Makes {@link #wakeFd} readable, for good: every wait that watches it returns at once. After
     * {@link #close} it does nothing, so a late call never writes to a closed (or reused) descriptor.
     */
    public synchronized void wake() {
        if (!closed) {
            Posix.write(wakeFd, one, Long.BYTES);
        }
    }

    public InetSocketAddress localAddress() {
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
