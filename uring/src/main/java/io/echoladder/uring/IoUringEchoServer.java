package io.echoladder.uring;

import static io.echoladder.common.linux.IoUring.EALREADY;
import static io.echoladder.common.linux.IoUring.ECANCELED;
import static io.echoladder.common.linux.IoUring.ENOBUFS;
import static io.echoladder.common.linux.IoUring.IORING_ACCEPT_MULTISHOT;
import static io.echoladder.common.linux.IoUring.IORING_CQE_BUFFER_SHIFT;
import static io.echoladder.common.linux.IoUring.IORING_CQE_F_BUFFER;
import static io.echoladder.common.linux.IoUring.IORING_CQE_F_MORE;
import static io.echoladder.common.linux.IoUring.IORING_OP_ACCEPT;
import static io.echoladder.common.linux.IoUring.IORING_OP_ASYNC_CANCEL;
import static io.echoladder.common.linux.IoUring.IORING_OP_READ;
import static io.echoladder.common.linux.IoUring.IORING_OP_SEND;
import static io.echoladder.common.linux.IoUring.IORING_OP_TIMEOUT;
import static io.echoladder.common.linux.IoUring.IORING_RECV_MULTISHOT;
import static io.echoladder.common.linux.IoUring.IOSQE_BUFFER_SELECT;
import static io.echoladder.common.linux.IoUring.IOSQE_FIXED_FILE;

import io.echoladder.common.AcceptPolicy;
import io.echoladder.common.EchoServer;
import io.echoladder.common.LadderException;
import io.echoladder.common.RungProvider;
import io.echoladder.common.ServerConfig;
import io.echoladder.common.Setting;
import io.echoladder.common.Stats;
import io.echoladder.common.WakeableListener;
import io.echoladder.common.Work;
import io.echoladder.common.linux.IoUring;
import io.echoladder.common.linux.Native;
import io.echoladder.common.linux.Posix;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.concurrent.atomic.LongAdder;

/**
 * io_uring: one thread, one ring; instead of asking the kernel which sockets are ready and then reading
 * and writing each one (epoll: a system call per read and per write), the loop hands the kernel the
 * receives and sends themselves and collects their results from a shared ring, many per system call.
 * It fixes epoll's cost per message: under load one {@code io_uring_enter} submits every new request
 * and waits for the next completions. It costs memory shared with the kernel (rings, buffers it may
 * write at any time), a protocol of heads and tails that needs explicit memory ordering ({@link Ring}),
 * and requests in flight that outlive the decision to close a connection.
 *
 * <p>Requests per connection: one multishot receive, armed once and completing for every arrival, or
 * none (cancelled while its output is over the cap: back-pressure; ended by EOF), and at most one send
 * ({@link SendQueue}). Each arrival takes a buffer from {@link ProvidedBuffers}, and the echo sends from
 * that same buffer. Its socket is registered with the ring, so no request looks the fd up. A
 * connection's fd is closed only when none of its requests is in flight, so a completion can never name
 * a reused fd: {@code user_data} is the fd and the operation.
 */
public final class IoUringEchoServer implements EchoServer {

    private static final int ENTRIES = 4096;
    private static final int BUFFERS = 1024;
    private static final int BUFFER_SIZE = 16 * 1024;
    private static final int MAX_FILES = 1 << 16; // registered file slots at most (8 bytes of kernel memory each)

    // The operation in the low byte of user_data, the fd above it.
    private static final int ACCEPT = 1;
    private static final int RECV = 2;
    private static final int SEND = 3;
    private static final int WAKE = 4;
    private static final int TICK = 5;
    private static final int CANCEL = 6;
    private static final int RESUME = 7;

    private final Ring ring;
    private final ProvidedBuffers buffers;
    private final WakeableListener listener;
    private final int listenFd;
    private final int files;   // fds below this are also registered files, in the slot of the same number
    private final int maxConnections;
    private final long idleNanos;
    private final Work work;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment wakeBuffer = arena.allocate(ValueLayout.JAVA_LONG);
    private final MemorySegment tick = arena.allocate(IoUring.KERNEL_TIMESPEC);
    private final MemorySegment pauseTime = arena.allocate(IoUring.KERNEL_TIMESPEC);
    private final Ring.Completion onCompletion = this::complete;
    /** Connections whose receive found no free buffer (ENOBUFS), in the order they asked. */
    private final ArrayDeque<Connection> starved = new ArrayDeque<>();
    private final Stats stats = new Stats("ring", 1);
    private final LongAdder failed = stats.counter(Stats.FAILED);
    private final AcceptPolicy accepts;
    private final AcceptPolicy.AcceptAndClose turnAway;
    private Connection[] connections = new Connection[1024];
    private boolean running = true;
    private boolean acceptPaused;
    private int live;
    private long now;          // System.nanoTime() once per turn of the loop, not per completion

    /** What the loop knows about one client. */
    private static final class Connection {
        final int fd;
        final byte fixed;   // IOSQE_FIXED_FILE if the fd is in the ring's file table (slot fd), else 0
        final SendQueue out = new SendQueue();
        int inflight;       // requests the kernel holds for this fd: it is closed only at zero
        boolean receiving;  // its multishot receive is armed
        boolean cancelling; // ... and asked to stop (back-pressure)
        boolean eof;
        boolean closing;
        boolean starved;    // in the starved queue: waits for a free buffer to receive again
        long lastActive;

        Connection(int fd, byte fixed, long now) {
            this.fd = fd;
            this.fixed = fixed;
            this.lastActive = now;
        }
    }

    private IoUringEchoServer(ServerConfig config) throws IOException {
        this.maxConnections = config.maxConnections();
        this.idleNanos = config.idleTimeout().toNanos();
        this.work = config.work();
        try {
            this.ring = new Ring(ENTRIES);
        } catch (Native.NativeException e) {
            arena.close();
            // EPERM, ENOSYS, ENOMEM: the machine refuses io_uring. One line, exit 1, and why.
            throw LadderException.failure("io-uring: " + IoUring.refusal().orElse(e.getMessage()));
        }
        // io_uring is there; are the parts of it this loop is built on? (A 5.19 kernel has buffer rings
        // but no multishot receive: the rung would start and then fail every client's first receive.)
        java.util.Optional<String> missing = KernelFeatures.check();
        if (missing.isPresent()) {
            ring.close();
            arena.close();
            throw LadderException.failure("io-uring: " + missing.get());
        }
        try {
            this.buffers = new ProvidedBuffers(ring, arena, BUFFERS, BUFFER_SIZE);
            // Every fd we can open is below the open-files limit, so a table that big has a slot for each.
            this.files = (int) Math.min(Posix.openFilesLimit(), MAX_FILES);
            ring.registerFiles(files);
            // A blocking listener and blocking sockets: io_uring waits for readiness itself (an internal
            // poll) and never blocks the loop; an O_NONBLOCK file would have it return EAGAIN instead.
            // Its eventfd is how another thread wakes the ring: a read of it is always in flight.
            this.listener = new WakeableListener(config, false);
        } catch (IOException | RuntimeException e) {
            ring.close();
            arena.close();
            throw e;
        }
        this.listenFd = listener.listenFd;
        AcceptPolicy policy = null;
        try {
            policy = new AcceptPolicy(stats);
            // The listener is blocking (see above): the turn-away accepts only when poll says a client waits.
            this.turnAway = AcceptPolicy.closingAcceptIfWaiting(listenFd);
        } catch (IOException | RuntimeException e) {
            if (policy != null) {
                policy.close();
            }
            listener.close();
            ring.close();
            arena.close();
            throw e;
        }
        this.accepts = policy;
        long tickNanos = Math.clamp(idleNanos / 4, 10_000_000L, 1_000_000_000L);
        tick.set(ValueLayout.JAVA_LONG, 0, tickNanos / 1_000_000_000L);
        tick.set(ValueLayout.JAVA_LONG, 8, tickNanos % 1_000_000_000L);
    }

    @Override
    public void serve() throws IOException {
        try {
            ring.enable(); // this thread is now the only one that submits
            acceptMany();
            ring.prepare(IORING_OP_READ, (byte) 0, (short) 0, listener.wakeFd, 0, wakeBuffer.address(), 8, 0,
                    data(listener.wakeFd, WAKE));
            if (idleNanos > 0) {
                armTick();
            }
            while (running) {
                buffers.publish(); // buffers given back since the last turn
                // The one blocking call: submits every request queued since the last turn and sleeps
                // until at least one completes (a client sent bytes, a send finished, a client
                // connected, the idle tick fired, or close() wrote the eventfd).
                ring.submit(1);
                now = System.nanoTime();
                ring.drain(onCompletion);
            }
        } catch (RingFailure e) {
            throw e.getCause(); // the ring itself failed (a submit, say): fatal, as a broken epoll fd is
        } finally {
            release();
        }
    }

    /** An I/O error of the ring itself, out of a completion handler: ends {@link #serve()} with its cause. */
    private static final class RingFailure extends RuntimeException {
        RingFailure(IOException cause) {
            super(cause);
        }

        @Override
        public synchronized IOException getCause() {
            return (IOException) super.getCause();
        }
    }

    private void complete(long userData, int res, int flags) {
        int fd = (int) (userData >>> 8);
        switch ((int) (userData & 0xff)) {
            case ACCEPT -> accepted(res, flags);
            case RECV -> received(connections[fd], res, flags);
            case SEND -> sent(connections[fd], res);
            case CANCEL -> cancelled(connections[fd], res);
            case TICK -> closeIdle();
            case RESUME -> resumeAccepting();
            case WAKE -> running = false;
            default -> throw new IllegalStateException("user_data " + Long.toHexString(userData));
        }
    }

    /**
     * Multishot accept: one request, a completion per client, until the kernel drops it (no
     * IORING_CQE_F_MORE) and it is submitted again.
     */
    private void acceptMany() throws IOException {
        ring.prepare(IORING_OP_ACCEPT, (byte) 0, IORING_ACCEPT_MULTISHOT, listenFd, 0, 0, 0, Posix.SOCK_CLOEXEC,
                data(listenFd, ACCEPT));
    }

    /**
     * One multishot accept completion: a client, or an error. An error ends the multishot request (no
     * IORING_CQE_F_MORE); out of descriptors, the policy turns the waiting client away first, and the
     * request is armed again, which also takes the open-files limit afresh (the kernel reads it when the
     * request is prepared, not at each accept). With no spare to turn a client away with, accepting
     * pauses until a connection closes or the pause is over.
     */
    private void accepted(int fd, int flags) {
        try {
            if (fd < 0 && running && accepts.failed(-fd, turnAway) == AcceptPolicy.Next.PAUSE) {
                pauseAccepting();
                return;
            }
            if ((flags & IORING_CQE_F_MORE) == 0 && running && !acceptPaused) {
                acceptMany();
            }
        } catch (IOException e) {
            throw new RingFailure(e); // the listener is broken: fatal
        }
        if (fd < 0) {
            return;
        }
        if (maxConnections > 0 && live >= maxConnections) {
            Posix.close(fd); // past the cap: the client reads EOF at once
            return;
        }
        byte fixed = 0;
        try {
            Posix.setsockopt(fd, Posix.IPPROTO_TCP, Posix.TCP_NODELAY, 1);
            if (fd < files) {
                ring.setFile(fd, fd); // one system call per client, saved on each of its receives and sends
                fixed = IOSQE_FIXED_FILE;
            }
        } catch (IOException e) {
            // That client only (it is already gone, or the kernel would not take it into the table).
            failed.increment();
            Posix.close(fd);
            return;
        }
        if (fd >= connections.length) {
            connections = Arrays.copyOf(connections, Math.max(fd + 1, 2 * connections.length));
        }
        Connection c = new Connection(fd, fixed, now);
        connections[fd] = c;
        live++;
        stats.served().served(0);
        receive(c);
    }

    /** No spare descriptor to turn clients away with: the accept stays unarmed until a timer or a close. */
    private void pauseAccepting() throws IOException {
        if (!acceptPaused) {
            acceptPaused = true;
            long nanos = accepts.pauseMillis() * 1_000_000;
            pauseTime.set(ValueLayout.JAVA_LONG, 0, nanos / 1_000_000_000L);
            pauseTime.set(ValueLayout.JAVA_LONG, 8, nanos % 1_000_000_000L);
            ring.prepare(IORING_OP_TIMEOUT, (byte) 0, (short) 0, -1, 0, pauseTime.address(), 1, 0, data(0, RESUME));
        }
    }

    /** A connection closed (a descriptor is free), or the pause is over: accept again. */
    private void resumeAccepting() {
        if (acceptPaused && running) {
            acceptPaused = false;
            try {
                acceptMany();
            } catch (IOException e) {
                throw new RingFailure(e);
            }
        }
    }

    /**
     * A multishot receive: one request that completes each time bytes arrive (with IORING_CQE_F_MORE
     * while it stays armed), the kernel picking a provided buffer for each. It ends on EOF, an error, no
     * free buffer (ENOBUFS) or a cancel, with a completion without IORING_CQE_F_MORE. A single-shot
     * receive would be submitted again for every message, and since it usually finds no data yet, the
     * kernel would arm and disarm a poll on the socket each time.
     */
    private void receive(Connection c) {
        try {
            ring.prepareRecv(c.fd, ProvidedBuffers.GROUP, (byte) (IOSQE_BUFFER_SELECT | c.fixed),
                    IORING_RECV_MULTISHOT, data(c.fd, RECV));
        } catch (IOException e) {
            throw new RingFailure(e);
        }
        c.receiving = true;
        c.inflight++;
    }

    /** Back-pressure: asks the kernel to end the connection's armed receive (IORING_OP_ASYNC_CANCEL). */
    private void pause(Connection c) {
        if (c.receiving && !c.cancelling) {
            // Finds the request by its user_data. Never another client's: this connection's fd cannot be
            // reused before its receive has ended, and the cancel is ahead of any later request in the SQ.
            try {
                ring.prepare(IORING_OP_ASYNC_CANCEL, (byte) 0, (short) 0, -1, 0, data(c.fd, RECV), 0, 0,
                        data(c.fd, CANCEL));
            } catch (IOException e) {
                throw new RingFailure(e);
            }
            c.cancelling = true;
        }
    }

    private void cancelled(Connection c, int res) {
        if (c != null && res == -EALREADY) {
            c.cancelling = false; // the receive was running and goes on: the next completion asks again
        }
    }

    private void received(Connection c, int n, int flags) {
        if ((flags & IORING_CQE_F_MORE) == 0) { // the receive's last completion
            c.inflight--;
            c.receiving = false;
            c.cancelling = false;
        }
        if ((flags & IORING_CQE_F_BUFFER) != 0) {
            c.out.add(flags >>> IORING_CQE_BUFFER_SHIFT, n); // ours until sent, then given back
        }
        if (c.closing) {
            finishIfIdle(c);
        } else if (n > 0) {
            c.lastActive = now;
            try {
                work.apply(buffers.bytes(flags >>> IORING_CQE_BUFFER_SHIFT, n)); // --work: the ring waits too
            } catch (java.io.InterruptedIOException e) {
                close(c); // the server is closing
                return;
            }
            if (!c.out.sending) {
                send(c);
            }
            if (c.out.overCap()) {
                pause(c);
            } else {
                receiveIfRoom(c); // if the multishot receive ended with these bytes, arm it again
            }
        } else if (n == 0) {
            c.eof = true; // the client shut down its side: echo what is queued, then close
            if (c.out.isEmpty()) {
                close(c);
            }
        } else if (n == -ENOBUFS) {
            c.starved = true; // every buffer is queued for sending: receive again when one returns
            starved.add(c);
        } else if (n == -ECANCELED) {
            receiveIfRoom(c); // paused for back-pressure; if the queue drained meanwhile, read again
        } else {
            fail(c); // a reset ends this client only
        }
    }

    /** Sends the head of the queue: at most one send per connection, so the bytes stay in order. */
    private void send(Connection c) {
        long address = buffers.address(c.out.headBuffer()) + c.out.headOffset();
        try {
            ring.prepare(IORING_OP_SEND, c.fixed, (short) 0, c.fd, 0, address, c.out.headLength(),
                    IoUring.sendFlags(), data(c.fd, SEND));
        } catch (IOException e) {
            throw new RingFailure(e);
        }
        c.out.sending = true;
        c.inflight++;
    }

    private void sent(Connection c, int n) {
        c.inflight--;
        c.out.sending = false;
        if (n < 0) {
            fail(c);
            return;
        }
        c.lastActive = now;
        int done = c.out.sent(n); // a short send leaves the rest at the head, sent next
        if (done >= 0) {
            giveBack(done);
        }
        if (c.closing) {
            finishIfIdle(c);
        } else if (!c.out.isEmpty()) {
            send(c);
        } else if (c.eof) {
            close(c);
        }
        receiveIfRoom(c); // back under the cap: read again
    }

    private void receiveIfRoom(Connection c) {
        if (!c.closing && !c.eof && !c.receiving && !c.out.overCap() && !c.starved) {
            receive(c);
        }
    }

    private void armTick() throws IOException {
        // IORING_OP_TIMEOUT with count 0: a pure timer that completes with -ETIME after the timespec.
        ring.prepare(IORING_OP_TIMEOUT, (byte) 0, (short) 0, -1, 0, tick.address(), 1, 0, data(0, TICK));
    }

    private void closeIdle() {
        for (Connection c : connections) {
            if (c != null && !c.closing && now - c.lastActive > idleNanos) {
                close(c);
            }
        }
        try {
            if (running) {
                armTick();
            }
        } catch (IOException e) {
            throw new RingFailure(e);
        }
    }

    private void fail(Connection c) {
        failed.increment();
        close(c);
    }

    /**
     * Closes a connection. Its requests in flight still hold the socket, so the fd cannot simply be
     * closed: shutdown(2) makes a pending receive complete (with 0) and a pending send fail, and the fd
     * is closed when the last of them is back.
     */
    private void close(Connection c) {
        if (!c.closing) {
            c.closing = true;
            c.starved = false; // left in the queue; giveBack skips it
            if (c.inflight > 0) {
                Posix.shutdown(c.fd, Posix.SHUT_RDWR);
            }
        }
        finishIfIdle(c);
    }

    private void finishIfIdle(Connection c) {
        if (c.inflight > 0) {
            return;
        }
        for (int bid : c.out.drain()) {
            giveBack(bid);
        }
        connections[c.fd] = null;
        if (c.fixed != 0) {
            try {
                ring.setFile(c.fd, -1); // the table's reference: without this, close(2) would not close it
            } catch (IOException e) {
                // The slot keeps the socket open past close(2): shut it down, so the client sees its end.
                failed.increment();
                Posix.shutdown(c.fd, Posix.SHUT_RDWR);
            }
        }
        Posix.close(c.fd);
        live--;
        resumeAccepting(); // a descriptor is free again
    }

    /**
     * Returns a buffer to the kernel and lets one connection that found none receive again. Every path
     * that frees a buffer goes through here: a connection left waiting for one has no request in flight,
     * so nothing else would ever wake it, not even its client's reset.
     */
    private void giveBack(int bid) {
        buffers.release(bid);
        // The first waiter that can take it. One over its own cap (it stopped reading its echo) is not
        // it: its receive is armed again when its queue drains. Handing the buffer to it anyway, as this
        // did, gave every returned buffer to the clients that never give one back, and a well-behaved
        // client behind them in the queue never received again.
        for (Connection waiting = starved.poll(); waiting != null && running; waiting = starved.poll()) {
            if (!waiting.starved) {
                continue; // closed while it waited
            }
            waiting.starved = false;
            receiveIfRoom(waiting);
            if (waiting.receiving) {
                return;
            }
        }
    }

    private static long data(int fd, int op) {
        return ((long) fd << 8) | op;
    }

    private void release() {
        // Closing the ring cancels every request in flight; then no completion can name an fd we close.
        ring.close();
        for (Connection c : connections) {
            if (c != null) {
                Posix.close(c.fd);
            }
        }
        listener.close(); // after it, a late close() writes nothing
        accepts.close();
        arena.close();
    }

    @Override
    public InetSocketAddress localAddress() {
        return listener.localAddress();
    }

    @Override
    public void close() {
        // From the signal handler's thread: the loop's pending eventfd read completes, and it stops.
        listener.wake();
    }

    @Override
    public Stats stats() {
        return stats;
    }

    public static final class Provider extends RungProvider {
        public Provider() {
            super("io-uring", 140, "uring",
                    "one thread, one io_uring: multishot accept, recv into provided buffers, send, raw syscalls through java.lang.foreign",
                    EnumSet.of(Setting.MAX_CONNECTIONS, Setting.IDLE_TIMEOUT, Setting.STATS, Setting.WORK),
                    IoUringEchoServer::new);
        }
    }
}
