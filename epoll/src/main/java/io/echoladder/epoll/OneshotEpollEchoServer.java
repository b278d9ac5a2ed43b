package io.echoladder.epoll;

import static io.echoladder.common.linux.EPoll.EPOLLERR;
import static io.echoladder.common.linux.EPoll.EPOLLHUP;
import static io.echoladder.common.linux.EPoll.EPOLLIN;
import static io.echoladder.common.linux.EPoll.EPOLLONESHOT;
import static io.echoladder.common.linux.EPoll.EPOLLOUT;
import static io.echoladder.common.linux.EPoll.EPOLLRDHUP;
import static io.echoladder.common.linux.EPoll.EPOLL_CTL_ADD;
import static io.echoladder.common.linux.EPoll.EPOLL_CTL_MOD;

import io.echoladder.common.AcceptPolicy;
import io.echoladder.common.EchoServer;
import io.echoladder.common.RungProvider;
import io.echoladder.common.ServerConfig;
import io.echoladder.common.Setting;
import io.echoladder.common.Stats;
import io.echoladder.common.Work;
import io.echoladder.common.WorkerCounts;
import io.echoladder.common.linux.EPoll;
import io.echoladder.common.linux.Posix;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.util.EnumSet;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.atomic.LongAdder;

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

    private final EpollListener listener;
    private final int listenFd;
    private final int epfd;
    private final int wakeFd;
    private final int workers;
    private final int maxConnections;
    private final long idleNanos;
    private final Work work;
    private final ConnectionTable<Connection> connections = new ConnectionTable<>();
    private final AtomicInteger live = new AtomicInteger();
    private final Stats stats;
    private final LongAdder failed;
    private final AcceptPolicy accepts;
    private final AcceptPolicy.AcceptAndClose turnAway;
    /** While accepting is paused ({@link AcceptPolicy.Next#PAUSE}): when to re-arm the listener; else 0. */
    private final AtomicLong pausedUntil = new AtomicLong();
    /** Appended by serve(), read by close() on the signal handler's thread. */
    private final List<Thread> threads = new CopyOnWriteArrayList<>();
    private volatile boolean closing;
    private volatile IOException broken;

    /**
     * Connections by fd; read by whichever worker the kernel hands an fd to, without a lock. Grown (to the
     * next power of two past the fd, as poll's slot array grows) and written under this table's lock: only
     * the worker holding the one-shot listener adds, any worker removes.
     */
    static final class ConnectionTable<C> {
        private volatile AtomicReferenceArray<C> slots = new AtomicReferenceArray<>(1024);

        C get(int fd) {
            AtomicReferenceArray<C> now = slots;
            return fd >= 0 && fd < now.length() ? now.get(fd) : null;
        }

        synchronized void put(int fd, C c) {
            AtomicReferenceArray<C> now = slots;
            if (fd >= now.length()) {
                AtomicReferenceArray<C> grown = new AtomicReferenceArray<>(Integer.highestOneBit(fd) << 1);
                for (int i = 0; i < now.length(); i++) {
                    grown.set(i, now.get(i));
                }
                slots = now = grown;
            }
            now.set(fd, c);
        }

        synchronized void remove(int fd, C c) {
            slots.compareAndSet(fd, c, null);
        }

        int length() {
            return slots.length();
        }
    }

    /** One client. Owned by the worker handling its current event; handed over through {@link #armed}. */
    private static final class Connection extends EchoStep.Connection {
        boolean closed;
        /** Set by the idle watchdog before it shuts the socket down: the owner closes it, uncounted. */
        volatile boolean idle;
        /**
         * Written just before every re-arm, read first by the next owner: a volatile write and read that
         * make the previous owner's writes visible to the next (the kernel's hand-over is invisible to
         * the Java memory model).
         */
        volatile int armed;
        volatile long lastActive;

        Connection(int fd, long now) {
            super(fd);
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
        this.stats = new Stats(new WorkerCounts("worker-", workers), new WorkerCounts("worker-", workers));
        this.failed = stats.counter(Stats.FAILED);
        // The listener is one-shot too: the worker that gets it accepts until EAGAIN and then re-arms it,
        // so two workers never race for the same client, and the listener is back in the set as soon as
        // the backlog is empty, whatever the other workers are doing. The eventfd that close() writes is
        // not one-shot: every worker's epoll_wait returns with it, so all of them stop.
        this.listener = new EpollListener(config, EPOLLIN | EPOLLONESHOT);
        this.listenFd = listener.listenFd;
        this.epfd = listener.epfd;
        this.wakeFd = listener.wakeFd;
        try {
            this.accepts = new AcceptPolicy(stats);
        } catch (IOException | RuntimeException e) {
            listener.close();
            throw e;
        }
        this.turnAway = AcceptPolicy.closingAccept(listenFd);
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

    /** One worker: its own event array, echo step (and read buffer) and epoll_ctl scratch; the epoll fd is shared. */
    private void work(int worker) {
        try (Arena own = Arena.ofConfined()) {
            MemorySegment events = EPoll.allocateEvents(own, MAX_EVENTS);
            EchoStep step = new EchoStep(own.allocate(EchoStep.READ_SIZE), false, work, null, failed);
            MemorySegment ctl = EPoll.allocateEvents(own, 1);
            while (true) {
                // Forever, unless accepting is paused: then until it is due to start again.
                long paused = pausedUntil.get();
                int timeout = paused == 0 ? -1
                        : (int) Math.clamp((paused - System.nanoTime()) / 1_000_000 + 1, 1, 1000);
                int n = EPoll.epoll_wait(epfd, events, MAX_EVENTS, timeout);
                for (int i = 0; i < n; i++) {
                    int fd = EPoll.fd(events, i);
                    if (fd == wakeFd) {
                        return;
                    }
                    stats.events().served(worker);
                    if (fd == listenFd) {
                        acceptAll(worker, ctl);
                        continue;
                    }
                    Connection c = connections.get(fd);
                    if (c != null) {
                        c.takeOver();
                        handle(c, EPoll.events(events, i), step, ctl);
                    }
                }
                long due = pausedUntil.get();
                if (due != 0 && System.nanoTime() - due >= 0) {
                    resumeAccepting(ctl);
                }
            }
        } catch (IOException e) {
            broken = e; // the shared epoll fd or the listener is broken: fatal for all workers
            close();
        } catch (RuntimeException e) {
            // A bug, not a client's fault: better the whole server stops and says so than that a worker
            // vanishes and the connections it was handling are never re-armed.
            broken = new IOException("worker-" + worker + ": " + e, e);
            close();
        }
    }

    /**
     * The worker that got the listener's one event accepts until EAGAIN, then re-arms it. Out of
     * descriptors the policy turns the waiting client away and we accept again; with no spare to do so
     * it says pause, and the listener is left disarmed until a connection closes or the pause is over.
     */
    private void acceptAll(int worker, MemorySegment ctl) throws IOException {
        while (true) {
            int fd = Posix.accept4(listenFd, Posix.SOCK_NONBLOCK | Posix.SOCK_CLOEXEC);
            if (fd < 0) {
                AcceptPolicy.Next next = accepts.failed(-fd, turnAway);
                if (next == AcceptPolicy.Next.ACCEPT) {
                    continue;
                }
                if (next == AcceptPolicy.Next.PAUSE) {
                    pausedUntil.set(Math.max(1, System.nanoTime() + accepts.pauseMillis() * 1_000_000));
                    return; // not re-armed: resumeAccepting does that
                }
                break; // EAGAIN: the backlog is empty
            }
            if (maxConnections > 0 && live.get() >= maxConnections) {
                Posix.close(fd);
                continue;
            }
            try {
                Posix.setsockopt(fd, Posix.IPPROTO_TCP, Posix.TCP_NODELAY, 1);
            } catch (IOException e) {
                failed.increment(); // the client is already gone
                Posix.close(fd);
                continue;
            }
            Connection c = new Connection(fd, System.nanoTime());
            connections.put(fd, c); // published before the ADD: whoever gets its first event finds it
            live.incrementAndGet();
            if (EPoll.epoll_ctl(epfd, EPOLL_CTL_ADD, fd, EPOLLIN | EPOLLRDHUP | EPOLLONESHOT, ctl) < 0) {
                failed.increment(); // never watched, so never served: counted as the single loops count it
                close(c);
                continue;
            }
            stats.served().served(worker);
        }
        armListener(ctl);
    }

    /** A descriptor was freed, or the pause is over: whoever sees it first re-arms the listener, once. */
    private void resumeAccepting(MemorySegment ctl) throws IOException {
        long paused = pausedUntil.get();
        if (paused != 0 && pausedUntil.compareAndSet(paused, 0)) {
            armListener(ctl);
        }
    }

    private void armListener(MemorySegment ctl) throws IOException {
        int rc = EPoll.epoll_ctl(epfd, EPOLL_CTL_MOD, listenFd, EPOLLIN | EPOLLONESHOT, ctl);
        if (rc < 0) {
            throw io.echoladder.common.linux.Native.exception("epoll_ctl (re-arming the listener)", -rc);
        }
    }

    /**
     * Handles one event with the echo step, then re-arms the socket for what it waits for next. The only
     * owner meanwhile. A connection the idle watchdog shut down is closed, not served: that is a timeout,
     * not the client's error, and the write the step would try could only fail.
     */
    private void handle(Connection c, int ready, EchoStep step, MemorySegment ctl) throws InterruptedIOException {
        if (c.idle) {
            close(c);
            return;
        }
        if (idleNanos > 0) {
            c.lastActive = System.nanoTime();
        }
        int wants = step.step(c, (ready & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0,
                (ready & EPOLLOUT) != 0);
        if (wants == EchoStep.CLOSE) {
            close(c);
            return;
        }
        // Re-arm last, after every write to this connection: from here on another worker may own it.
        int events = ((wants & EchoStep.READ) != 0 ? EPOLLIN | EPOLLRDHUP : 0)
                | ((wants & EchoStep.WRITE) != 0 ? EPOLLOUT : 0);
        c.armed = (c.armed + 1) & Integer.MAX_VALUE;
        if (EPoll.epoll_ctl(epfd, EPOLL_CTL_MOD, c.fd, events | EPOLLONESHOT, ctl) < 0) {
            fail(c);
        }
    }

    /** A reset or a broken pipe: counted, and it ends this client only. */
    private void fail(Connection c) {
        failed.increment();
        close(c);
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
            connections.remove(c.fd, c);
            Posix.close(c.fd);
        }
        live.decrementAndGet();
        // A descriptor is free again: a paused accept is due now (the worker re-arms it after its turn).
        pausedUntil.getAndUpdate(paused -> paused == 0 ? 0 : System.nanoTime());
    }

    /**
     * The idle timeout, from outside the workers: it cannot close a socket a worker may be using, so it
     * marks it idle and shuts it down; the hang-up that raises is reported to one worker (at once, or at
     * the owner's re-arm), which closes it.
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
                            c.idle = true;
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
        accepts.close();
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

    /**
     * Connections each worker accepted (whoever gets the listener's event accepts), and events each worker
     * handled: how the kernel spread the work, whoever accepted the connection.
     */
    @Override
    public Stats stats() {
        return stats;
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
