package io.echoladder.epoll;

import static io.echoladder.common.linux.EPoll.EPOLLERR;
import static io.echoladder.common.linux.EPoll.EPOLLHUP;
import static io.echoladder.common.linux.EPoll.EPOLLIN;
import static io.echoladder.common.linux.EPoll.EPOLLONESHOT;
import static io.echoladder.common.linux.EPoll.EPOLLOUT;
import static io.echoladder.common.linux.EPoll.EPOLLRDHUP;
import static io.echoladder.common.linux.EPoll.EPOLL_CTL_ADD;
import static io.echoladder.common.linux.EPoll.EPOLL_CTL_MOD;
import static io.echoladder.common.linux.Native.EAGAIN;
import static io.echoladder.common.linux.Native.ECONNABORTED;
import static io.echoladder.common.linux.Native.EINTR;

import io.echoladder.common.EchoServer;
import io.echoladder.common.RungProvider;
import io.echoladder.common.ServerConfig;
import io.echoladder.common.Setting;
import io.echoladder.common.Work;
import io.echoladder.common.WorkerCounts;
import io.echoladder.common.linux.EPoll;
import io.echoladder.common.linux.Posix;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * EPOLLONESHOT workers: {@code --workers N} threads block in epoll_wait on <em>one</em> shared epoll fd,
 * and every socket is registered with EPOLLONESHOT, so each readiness event goes to exactly one thread and
 * the socket is disarmed until that thread re-arms it with EPOLL_CTL_MOD. It fixes the single loop's
 * one-core ceiling without splitting the clients between loops: any idle thread takes the next ready
 * socket, wherever it came from. It costs an epoll_ctl per event (the re-arm) and shared state that
 * must be handed over between threads safely.
 *
 * <p>No lock guards epoll_wait: one-shot delivery is the lock. While a thread handles a socket, the
 * kernel reports it to nobody else, so its bytes are read and written by one thread at a time and in
 * order. Re-arming before the handler is done would break that: a second thread could read the next
 * bytes and write them back before the first has written the earlier ones.
 */
public final class OneshotEpollEchoServer implements EchoServer {

    private static final int MAX_EVENTS = 64;
    private static final int READ_SIZE = 64 * 1024;

    private final EpollListener listener;
    private final int listenFd;
    private final int epfd;
    private final int wakeFd;
    private final int workers;
    private final int maxConnections;
    private final long idleNanos;
    private final Work work;
    /** Connections by fd; read and written by whichever worker the kernel hands the fd to. */
    private final AtomicReferenceArray<Connection> connections = new AtomicReferenceArray<>(1 << 16);
    private final AtomicInteger live = new AtomicInteger();
    private final WorkerCounts accepted;
    private final WorkerCounts handled;
    private final List<Thread> threads = new ArrayList<>();
    private volatile boolean closing;
    private volatile IOException broken;

    /** One client. Owned by the worker handling its current event; handed over through {@link #armed}. */
    private static final class Connection {
        final int fd;
        final PendingOutput pending = new PendingOutput();
        boolean eof;
        boolean closed;
        /**
         * Written just before every re-arm, read first by the next owner: a volatile write and read that
         * make the previous owner's writes visible to the next (the kernel's hand-over is invisible to
         * the Java memory model).
         */
        volatile int armed;
        volatile long lastActive;

        Connection(int fd, long now) {
            this.fd = fd;
            this.lastActive = now;
        }

        /** The volatile read that pairs with the previous owner's write of {@link #armed}. */
        void takeOver() {
            if (armed < 0) {
                throw new IllegalStateException("connection re-armed 2^31 times");
            }
        }
    }

    private OneshotEpollEchoServer(ServerConfig config) throws IOException {
        this.workers = config.workersOr(Runtime.getRuntime().availableProcessors());
        this.maxConnections = config.maxConnections();
        this.idleNanos = config.idleTimeout().toNanos();
        this.work = config.work();
        this.accepted = new WorkerCounts("worker-", workers);
        this.handled = new WorkerCounts("worker-", workers);
        // The listener is one-shot too: the worker that gets it accepts until EAGAIN and then re-arms it,
        // so two workers never race for the same client, and the listener is back in the set as soon as
        // the backlog is empty, whatever the other workers are doing. The eventfd that close() writes is
        // not one-shot: every worker's epoll_wait returns with it, so all of them stop.
        this.listener = new EpollListener(config, EPOLLIN | EPOLLONESHOT);
        this.listenFd = listener.listenFd;
        this.epfd = listener.epfd;
        this.wakeFd = listener.wakeFd;
    }

    @Override
    public void serve() throws IOException, InterruptedException {
        for (int i = 0; i < workers; i++) {
            int worker = i;
            threads.add(Thread.ofPlatform().name("worker-" + i).start(() -> work(worker)));
        }
        if (idleNanos > 0) {
            threads.add(Thread.ofPlatform().daemon().name("idle-watchdog").start(this::watchIdle));
        }
        for (Thread thread : threads) {
            thread.join();
        }
        release();
        if (broken != null && !closing) {
            throw broken;
        }
    }

    /** One worker: its own event array, read buffer and epoll_ctl scratch; the epoll fd is shared. */
    private void work(int worker) {
        try (Arena own = Arena.ofConfined()) {
            MemorySegment events = EPoll.allocateEvents(own, MAX_EVENTS);
            MemorySegment buffer = own.allocate(READ_SIZE);
            MemorySegment ctl = EPoll.allocateEvents(own, 1);
            while (true) {
                int n = EPoll.epoll_wait(epfd, events, MAX_EVENTS, -1);
                for (int i = 0; i < n; i++) {
                    int fd = EPoll.fd(events, i);
                    if (fd == wakeFd) {
                        return;
                    }
                    handled.served(worker);
                    if (fd == listenFd) {
                        acceptAll(worker, ctl);
                        continue;
                    }
                    Connection c = connections.get(fd);
                    if (c != null) {
                        c.takeOver();
                        handle(c, EPoll.events(events, i), buffer, ctl);
                    }
                }
            }
        } catch (IOException e) {
            broken = e; // the shared epoll fd is broken: fatal for all workers
            close();
        }
    }

    private void acceptAll(int worker, MemorySegment ctl) {
        while (true) {
            int fd = Posix.accept4(listenFd, Posix.SOCK_NONBLOCK | Posix.SOCK_CLOEXEC);
            if (fd < 0) {
                if (fd == -ECONNABORTED || fd == -EINTR) {
                    continue;
                }
                break; // EAGAIN: the backlog is empty (or no fd to accept into: it waits for the re-arm)
            }
            if (maxConnections > 0 && live.get() >= maxConnections) {
                Posix.close(fd);
                continue;
            }
            try {
                Posix.setsockopt(fd, Posix.IPPROTO_TCP, Posix.TCP_NODELAY, 1);
            } catch (IOException e) {
                Posix.close(fd);
                continue;
            }
            Connection c = new Connection(fd, System.nanoTime());
            connections.set(fd, c); // published before the ADD: whoever gets its first event finds it
            live.incrementAndGet();
            accepted.served(worker);
            if (EPoll.epoll_ctl(epfd, EPOLL_CTL_ADD, fd, EPOLLIN | EPOLLRDHUP | EPOLLONESHOT, ctl) < 0) {
                close(c);
            }
        }
        if (EPoll.epoll_ctl(epfd, EPOLL_CTL_MOD, listenFd, EPOLLIN | EPOLLONESHOT, ctl) < 0) {
            broken = new IOException("epoll_ctl: cannot re-arm the listener");
            close();
        }
    }

    /** Handles one event, then re-arms the socket for what it needs next. The only owner meanwhile. */
    private void handle(Connection c, int ready, MemorySegment buffer, MemorySegment ctl) throws InterruptedIOException {
        if (idleNanos > 0) {
            c.lastActive = System.nanoTime();
        }
        if ((ready & (EPOLLERR | EPOLLHUP)) != 0) {
            close(c); // an error, or both directions shut (a reset): nothing more can be written
            return;
        }
        if ((ready & EPOLLOUT) != 0 && !flush(c, buffer)) {
            return;
        }
        if ((ready & ~EPOLLOUT) != 0 && !c.eof && !c.pending.overCap()) {
            long n = Posix.read(c.fd, buffer, READ_SIZE);
            if (n == 0) {
                c.eof = true;
            } else if (n > 0) {
                work.apply(buffer.asSlice(0, n)); // --work: this worker works, the others keep serving
                long written = c.pending.isEmpty() ? Posix.write(c.fd, buffer, n) : 0;
                if (written < 0 && written != -EAGAIN) {
                    close(c);
                    return;
                }
                written = Math.max(0, written);
                if (written < n) {
                    c.pending.append(buffer, written, (int) (n - written));
                }
            } else if (n != -EAGAIN) {
                close(c);
                return;
            }
        }
        if (c.eof && c.pending.isEmpty()) {
            close(c);
            return;
        }
        // Re-arm last, after every write to this connection: from here on another worker may own it.
        int want = c.eof || c.pending.overCap() ? EPOLLOUT
                : c.pending.isEmpty() ? EPOLLIN | EPOLLRDHUP : EPOLLIN | EPOLLRDHUP | EPOLLOUT;
        c.armed = (c.armed + 1) & Integer.MAX_VALUE;
        if (EPoll.epoll_ctl(epfd, EPOLL_CTL_MOD, c.fd, want | EPOLLONESHOT, ctl) < 0) {
            close(c);
        }
    }

    private boolean flush(Connection c, MemorySegment buffer) {
        while (!c.pending.isEmpty()) {
            int n = c.pending.peek(buffer, READ_SIZE);
            long written = Posix.write(c.fd, buffer, n);
            if (written == -EAGAIN) {
                return true;
            }
            if (written < 0) {
                close(c);
                return false;
            }
            c.pending.consume((int) written);
            if (written < n) {
                return true;
            }
        }
        return true;
    }

    /**
     * Closes a connection. The slot is cleared before close(2), or a worker accepting a new client could
     * get the same fd number and have its connection wiped. The lock only orders this against the idle
     * watchdog's shutdown(2), which must never hit a reused fd.
     */
    private void close(Connection c) {
        synchronized (c) {
            if (c.closed) {
                return;
            }
            c.closed = true;
            connections.compareAndSet(c.fd, c, null);
            Posix.close(c.fd);
        }
        live.decrementAndGet();
    }

    /**
     * The idle timeout, from outside the workers: it cannot close a socket a worker may be using, so it
     * shuts it down; the owner's next read sees EOF or an error and closes it.
     */
    private void watchIdle() {
        long tick = Math.clamp(idleNanos / 4_000_000, 10, 1000);
        while (!closing) {
            try {
                Thread.sleep(tick);
            } catch (InterruptedException e) {
                return;
            }
            long now = System.nanoTime();
            for (int fd = 0; fd < connections.length(); fd++) {
                Connection c = connections.get(fd);
                if (c != null && now - c.lastActive > idleNanos) {
                    synchronized (c) {
                        if (!c.closed) {
                            Posix.shutdown(c.fd, Posix.SHUT_RDWR);
                        }
                    }
                }
            }
        }
    }

    private void release() {
        closing = true;
        for (int fd = 0; fd < connections.length(); fd++) {
            Connection c = connections.get(fd);
            if (c != null) {
                close(c);
            }
        }
        listener.close();
    }

    @Override
    public InetSocketAddress localAddress() {
        return listener.localAddress();
    }

    @Override
    public void close() {
        closing = true;
        listener.wake(); // every worker's epoll_wait returns with wakeFd
        threads.stream().filter(t -> t.getName().equals("idle-watchdog")).forEach(Thread::interrupt);
    }

    /** Connections each worker accepted (whoever gets the listener's event accepts). */
    @Override
    public Map<String, Long> servedPerWorker() {
        return accepted.toMap();
    }

    /** Events each worker handled: how the kernel spread the work, whoever accepted the connection. */
    @Override
    public Map<String, Long> eventsPerWorker() {
        return handled.toMap();
    }

    public static final class Provider extends RungProvider {
        public Provider() {
            super("epoll-oneshot", 70, "epoll",
                    "--workers N threads (default: cores) share one epoll fd; EPOLLONESHOT gives each event to one thread",
                    EnumSet.of(Setting.WORKERS, Setting.MAX_CONNECTIONS, Setting.IDLE_TIMEOUT, Setting.STATS,
                            Setting.WORK),
                    OneshotEpollEchoServer::new);
        }
    }
}
