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

import io.echoladder.common.EchoServer;
import io.echoladder.common.LadderException;
import io.echoladder.common.RungProvider;
import io.echoladder.common.ServerConfig;
import io.echoladder.common.Setting;
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
import java.util.Map;

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
    private final Ring.Completion onCompletion = this::complete;
    private final ArrayDeque<Connection> starved = new ArrayDeque<>();
    private Connection[] connections = new Connection[1024];
    private boolean running = true;
    private int live;
    private long now;          // System.nanoTime() once per turn of the loop, not per completion
    private volatile long served;
    private long failed;

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
        } finally {
            release();
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

    private void accepted(int fd, int flags) {
        try {
            if ((flags & IORING_CQE_F_MORE) == 0 && running) {
                acceptMany();
            }
            if (fd < 0) {
                failed++; // EMFILE and friends: that client stays in the backlog for the next accept
                return;
            }
            if (maxConnections > 0 && live >= maxConnections) {
                Posix.close(fd); // past the cap: the client reads EOF at once
                return;
            }
            Posix.setsockopt(fd, Posix.IPPROTO_TCP, Posix.TCP_NODELAY, 1);
            if (fd >= connections.length) {
                connections = Arrays.copyOf(connections, Math.max(fd + 1, 2 * connections.length));
            }
            byte fixed = 0;
            if (fd < files) {
                ring.setFile(fd, fd); // one system call per client, saved on each of its receives and sends
                fixed = IOSQE_FIXED_FILE;
            }
            Connection c = new Connection(fd, fixed, now);
            connections[fd] = c;
            live++;
            served++;
            receive(c);
        } catch (IOException e) {
            throw new IllegalStateException(e); // the ring itself failed: fatal, as a broken epoll fd is
        }
    }

    /**
     * A multishot receive: one request that completes each time bytes arrive (with IORING_CQE_F_MORE
     * while it stays armed), the kernel picking a provided buffer for each. It ends on EOF, an error, no
     * free buffer (ENOBUFS) or a cancel, with a completion without IORING_CQE_F_MORE. A single-shot
     * receive would be submitted again for every message, and since it usually finds no data yet, the
     * kernel would arm and disarm a poll on the socket each time.
     */
    private void receive(Connection c) throws IOException {
        ring.prepareRecv(c.fd, ProvidedBuffers.GROUP, (byte) (IOSQE_BUFFER_SELECT | c.fixed), IORING_RECV_MULTISHOT,
                data(c.fd, RECV));
        c.receiving = true;
        c.inflight++;
    }

    /** Back-pressure: asks the kernel to end the connection's armed receive (IORING_OP_ASYNC_CANCEL). */
    private void pause(Connection c) throws IOException {
        if (c.receiving && !c.cancelling) {
            // Finds the request by its user_data. Never another client's: this connection's fd cannot be
            // reused before its receive has ended, and the cancel is ahead of any later request in the SQ.
            ring.prepare(IORING_OP_ASYNC_CANCEL, (byte) 0, (short) 0, -1, 0, data(c.fd, RECV), 0, 0,
                    data(c.fd, CANCEL));
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
        try {
            if (c.closing) {
                finishIfIdle(c);
            } else if (n > 0) {
                c.lastActive = now;
                work.apply(buffers.bytes(flags >>> IORING_CQE_BUFFER_SHIFT, n)); // --work: the ring waits too
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
                starved.add(c); // every buffer is queued for sending: receive again when one returns
            } else if (n == -ECANCELED) {
                receiveIfRoom(c); // paused for back-pressure; if the queue drained meanwhile, read again
            } else {
                fail(c); // a reset ends this client only
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Sends the head of the queue: at most one send per connection, so the bytes stay in order. */
    private void send(Connection c) throws IOException {
        long address = buffers.address(c.out.headBuffer()) + c.out.headOffset();
        ring.prepare(IORING_OP_SEND, c.fixed, (short) 0, c.fd, 0, address, c.out.headLength(), IoUring.sendFlags(),
                data(c.fd, SEND));
        c.out.sending = true;
        c.inflight++;
    }

    private void sent(Connection c, int n) {
        c.inflight--;
        c.out.sending = false;
        try {
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
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private void receiveIfRoom(Connection c) throws IOException {
        if (!c.closing && !c.eof && !c.receiving && !c.out.overCap() && !starved.contains(c)) {
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
            throw new IllegalStateException(e);
        }
    }

    private void fail(Connection c) {
        failed++;
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
            starved.remove(c);
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
                throw new IllegalStateException(e);
            }
        }
        Posix.close(c.fd);
        live--;
    }

    /**
     * Returns a buffer to the kernel and lets one connection that found none receive again. Every path
     * that frees a buffer goes through here: a connection left waiting for one has no request in flight,
     * so nothing else would ever wake it, not even its client's reset.
     */
    private void giveBack(int bid) {
        buffers.release(bid);
        Connection waiting = starved.poll();
        if (waiting != null && !waiting.closing && running) {
            try {
                receive(waiting);
            } catch (IOException e) {
                throw new IllegalStateException(e);
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
    public Map<String, Long> servedPerWorker() {
        return Map.of("ring", served);
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
