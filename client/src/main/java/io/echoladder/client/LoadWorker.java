package io.echoladder.client;

import io.echoladder.client.Errors.Kind;
import java.io.IOException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;

/**
 * One event-loop thread of the load client: a selector and its share of the connections (slots
 * {@code index, index + threads, ...}). Non-blocking throughout, so a few threads drive thousands of
 * connections; nothing is allocated per message.
 *
 * <p>A slot is one connection at a time: long-lived in persistent and hold mode, a fresh one per exchange
 * in churn mode. Closed loop: a slot starts its next message when a reply completes (up to
 * {@code pipeline} in flight). Open loop: message {@code m} of a slot is due at a fixed time, and its
 * latency is measured from that time, not from when it could actually be sent (coordinated omission).
 */
final class LoadWorker implements Runnable {

    private static final long HIGHEST_LATENCY = TimeUnit.HOURS.toNanos(1);
    private static final double GOLDEN = 0.6180339887498949;
    private static final long MILLISECOND = TimeUnit.MILLISECONDS.toNanos(1);

    private final LoadSpec spec;
    private final Payloads payloads;
    private final Errors errors;
    private final long runStart;
    private final long windowStart;
    private final long windowEnd;
    private final long timeoutNanos;
    private final long periodNanos;
    private final Selector selector;
    private final Ticker ticker;
    private final ByteBuffer readBuffer = ByteBuffer.allocateDirect(64 * 1024);
    private final ByteBuffer expected;
    private final PriorityQueue<Slot> wakeups = new PriorityQueue<>((a, b) -> Long.compare(a.wakeAt, b.wakeAt));
    private final List<Slot> slots = new ArrayList<>();
    private final List<Slot> open = new ArrayList<>();

    final Histogram latency = new Histogram(HIGHEST_LATENCY, 3);
    final Histogram connectLatency = new Histogram(HIGHEST_LATENCY, 3);
    /** Replies completed so far, warm-up included: read by the progress line. */
    final AtomicLong completed = new AtomicLong();
    long windowMessages;
    long connected;
    long finishedAt;
    /** Messages (churn: exchanges) this thread may still start; {@link Long#MAX_VALUE} without --messages. */
    private long quota;
    /** Messages started and not yet answered, over all slots. */
    private long inFlight;

    LoadWorker(LoadSpec spec, int index, Payloads payloads, Errors errors, long runStart, long quota) throws IOException {
        this.spec = spec;
        this.payloads = payloads;
        this.errors = errors;
        this.runStart = runStart;
        this.windowStart = runStart + spec.windowStart().toNanos();
        this.windowEnd = windowStart + spec.duration().toNanos();
        this.timeoutNanos = spec.timeout().toNanos();
        this.periodNanos = spec.openLoop() ? (long) (spec.connections() / spec.offeredRate() * 1e9) : 0;
        this.quota = quota;
        this.selector = Selector.open();
        this.ticker = periodNanos > 0 ? new Ticker(selector) : null;
        this.expected = payloads.view();
        for (int s = index; s < spec.connections(); s += spec.threads()) {
            Slot slot = new Slot(s, spec.pipeline(), payloads.view());
            long connectAt = spec.connectRate() > 0 ? (long) (s / spec.connectRate() * 1e9) : 0;
            slot.wakeAt = runStart + connectAt;
            slot.firstDue = slot.wakeAt + (long) ((s * GOLDEN) % 1.0 * periodNanos);
            slots.add(slot);
            wakeups.add(slot);
        }
    }

    /** One connection slot and the state of the connection it holds now. */
    private static final class Slot {
        final int number;
        final long[] sentAt;
        final ByteBuffer out;
        SocketChannel channel;
        SelectionKey key;
        int openIndex = -1;
        long connection;
        /** When this exchange was meant to start (churn, open loop) or did start. */
        long connectStart;
        /** When connect was actually called: connect latency and the connect timeout count from here. */
        long connectCalledAt;
        boolean connected;
        /** A long-lived connection that failed, or a refused connect: the slot is done for this run. */
        boolean finished;
        /** Exchanges (connections) this slot has started: churn mode. */
        long exchanges;
        /** Index of the next message to start writing; {@code writing} if it is under way. */
        long next;
        boolean writing;
        int writeOffset;
        long received;
        int readOffset;
        long bytesSent;
        long bytesReceived;
        /** Messages (churn: exchanges) that have come due in open loop. */
        long due;
        long firstDue;
        long wakeAt;

        Slot(int number, int pipeline, ByteBuffer out) {
            this.number = number;
            this.sentAt = new long[pipeline];
            this.out = out;
        }
    }

    /** A bug or a broken selector that ended this thread early; the run reports it. */
    volatile Exception failure;

    @Override
    public void run() {
        try {
            loop();
        } catch (IOException | RuntimeException e) {
            failure = e;
        } finally {
            finishedAt = System.nanoTime();
            if (ticker != null) {
                ticker.stop();
            }
            for (Slot slot : List.copyOf(open)) {
                close(slot);
            }
            try {
                selector.close();
            } catch (IOException e) {
                // nothing left to release
            }
        }
    }

    private void loop() throws IOException {
        long nextScan = System.nanoTime();
        while (true) {
            long now = System.nanoTime();
            if (now >= windowEnd) {
                return;
            }
            while (!wakeups.isEmpty() && wakeups.peek().wakeAt <= now) {
                wake(wakeups.poll(), now);
            }
            if (now >= nextScan) {
                expireTimeouts(now);
                nextScan = now + Math.min(timeoutNanos / 4, TimeUnit.MILLISECONDS.toNanos(50));
            }
            if (open.isEmpty() && wakeups.isEmpty() || quota <= 0 && inFlight == 0) {
                return; // every slot has finished, or --messages are all answered
            }
            long until = Math.min(windowEnd, nextScan);
            if (!wakeups.isEmpty()) {
                until = Math.min(until, wakeups.peek().wakeAt);
            }
            long wait = until - now;
            if (wait <= 0) {
                selector.selectNow(this::handle);
            } else if (wait >= 2 * MILLISECOND || ticker == null) {
                // Blocks in epoll_wait until a socket is ready or the next scheduled event is due.
                selector.select(this::handle, Math.max(1, TimeUnit.NANOSECONDS.toMillis(wait)));
            } else {
                // select() counts whole milliseconds, too coarse for an open-loop send due in less than
                // two: the ticker thread wakes the selector at the due time, to within tens of us.
                ticker.arm(until);
                selector.select(this::handle, TimeUnit.NANOSECONDS.toMillis(wait) + 1);
            }
        }
    }

    /**
     * When message (churn: exchange) {@code index} of a slot is due in open loop: on the slot's own
     * schedule, rounded up to the next millisecond tick of the run, so that the messages due in one tick
     * go out on one wake-up (as wrk2 does). Latency counts from this time.
     */
    private long dueAt(Slot slot, long index) {
        long sinceStart = slot.firstDue + index * periodNanos - runStart;
        return runStart + Math.ceilDiv(sinceStart, MILLISECOND) * MILLISECOND;
    }

    /** A slot's scheduled time has come: its connect (ramp-up) or, in open loop, its next message. */
    private void wake(Slot slot, long now) {
        if (slot.finished) {
            return;
        }
        if (periodNanos > 0) {
            while (dueAt(slot, slot.due) <= now) {
                slot.due++;
            }
            slot.wakeAt = dueAt(slot, slot.due);
            wakeups.add(slot);
        }
        if (slot.channel == null) {
            maybeConnect(slot, now);
        } else if (slot.connected) {
            pump(slot);
        }
    }

    private boolean churn() {
        return spec.mode() == LoadSpec.Mode.CHURN;
    }

    private void maybeConnect(Slot slot, long now) {
        if (slot.finished || quota <= 0 && churn()) {
            return;
        }
        if (churn() && periodNanos > 0 && slot.exchanges >= slot.due) {
            return; // the next exchange is not due yet
        }
        if (churn()) {
            quota--;
            inFlight++; // the exchange is under way from its connect on
        }
        slot.connection = churn() ? slot.number + slot.exchanges * (long) spec.connections() : slot.number;
        slot.exchanges++;
        slot.next = slot.received = 0;
        slot.writing = false;
        slot.readOffset = 0;
        slot.bytesSent = slot.bytesReceived = 0;
        slot.connected = false;
        slot.connectCalledAt = System.nanoTime();
        slot.connectStart = churn() && periodNanos > 0
                ? dueAt(slot, slot.exchanges - 1) : slot.connectCalledAt;
        try {
            SocketChannel channel = SocketChannel.open();
            slot.channel = channel;
            slot.openIndex = open.size();
            open.add(slot);
            channel.configureBlocking(false);
            channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
            boolean done = channel.connect(spec.address());
            slot.key = channel.register(selector, done ? SelectionKey.OP_READ : SelectionKey.OP_CONNECT, slot);
            if (done) {
                connected(slot, System.nanoTime());
            }
        } catch (IOException e) {
            fail(slot, connectKind(e), "connection " + slot.connection + ": connect to " + spec.address()
                    + " failed: " + e.getMessage());
        }
    }

    private static Kind connectKind(IOException e) {
        return e instanceof ConnectException || e instanceof NoRouteToHostException ? Kind.REFUSED : Kind.RESET;
    }

    private void connected(Slot slot, long now) {
        slot.connected = true;
        connected++;
        if (!churn() || now >= windowStart) {
            connectLatency.recordValue(Math.min(now - slot.connectCalledAt, HIGHEST_LATENCY));
        }
        pump(slot);
    }

    private void handle(SelectionKey key) {
        Slot slot = (Slot) key.attachment();
        try {
            if (key.isConnectable()) {
                if (!slot.channel.finishConnect()) {
                    return;
                }
                key.interestOps(SelectionKey.OP_READ);
                connected(slot, System.nanoTime());
                return;
            }
            if (key.isReadable()) {
                read(slot);
            }
            if (slot.channel != null && key.isValid() && key.isWritable()) {
                pump(slot);
            }
        } catch (IOException e) {
            boolean connecting = !slot.connected;
            Kind kind = connecting ? connectKind(e) : Kind.RESET;
            fail(slot, kind, "connection " + slot.connection + (connecting ? ": connect to " + spec.address()
                    + " failed: " : ": ") + e.getMessage() + " after " + slot.bytesReceived + " bytes echoed");
        }
    }

    /** Starts and writes messages while the rules allow, asking for OP_WRITE only while a write is partial. */
    private void pump(Slot slot) {
        int size = payloads.size();
        try {
            while (true) {
                if (!slot.writing) {
                    if (!mayStart(slot)) {
                        break;
                    }
                    slot.writing = true;
                    slot.writeOffset = 0;
                    slot.sentAt[(int) (slot.next % slot.sentAt.length)] = System.nanoTime();
                    if (!churn()) {
                        quota--;
                        inFlight++;
                    }
                }
                int start = payloads.offset(slot.connection, slot.next);
                slot.out.limit(start + size).position(start + slot.writeOffset);
                int n = slot.channel.write(slot.out);
                slot.writeOffset += n;
                slot.bytesSent += n;
                if (slot.writeOffset < size) {
                    // The socket's send buffer is full: wait for the kernel to say there is room.
                    interest(slot, SelectionKey.OP_READ | SelectionKey.OP_WRITE);
                    return;
                }
                slot.writing = false;
                slot.next++;
            }
            interest(slot, SelectionKey.OP_READ);
        } catch (IOException e) {
            fail(slot, Kind.RESET, "connection " + slot.connection + ": write failed: " + e.getMessage()
                    + " after " + slot.bytesSent + " bytes sent");
        }
    }

    private boolean mayStart(Slot slot) {
        if (churn()) {
            return slot.next == 0 && !slot.writing;
        }
        if (quota <= 0 || slot.next >= slot.received + slot.sentAt.length) {
            return false;
        }
        return periodNanos == 0 || slot.next < slot.due;
    }

    private static void interest(Slot slot, int ops) {
        if (slot.key.interestOps() != ops) {
            slot.key.interestOps(ops);
        }
    }

    private void read(Slot slot) throws IOException {
        readBuffer.clear();
        int n = slot.channel.read(readBuffer);
        if (n < 0) {
            boolean outstanding = slot.bytesReceived < slot.bytesSent || slot.writing || slot.received < slot.next;
            fail(slot, Kind.EOF, "connection " + slot.connection + ": server closed the connection "
                    + (outstanding ? "after echoing " + slot.bytesReceived + " of " + slot.bytesSent + " bytes sent"
                    : "with no reply outstanding"));
            return;
        }
        if (slot.bytesReceived + n > slot.bytesSent) {
            fail(slot, Kind.MISMATCH, "connection " + slot.connection + ": server sent "
                    + (slot.bytesReceived + n - slot.bytesSent) + " bytes more than it was sent");
            return;
        }
        readBuffer.flip();
        int size = payloads.size();
        long now = System.nanoTime();
        while (readBuffer.hasRemaining()) {
            int take = Math.min(readBuffer.remaining(), size - slot.readOffset);
            int from = payloads.offset(slot.connection, slot.received) + slot.readOffset;
            int at = readBuffer.position();
            expected.limit(from + take).position(from);
            readBuffer.limit(at + take);
            int mismatch = readBuffer.mismatch(expected);
            if (mismatch >= 0) {
                fail(slot, Kind.MISMATCH, String.format(
                        "connection %d, message %d, byte %d of %d (stream offset %d): sent 0x%02x, got 0x%02x",
                        slot.connection, slot.received, slot.readOffset + mismatch, size,
                        slot.bytesReceived + mismatch, payloads.byteAt(from + mismatch) & 0xff,
                        readBuffer.get(at + mismatch) & 0xff));
                return;
            }
            readBuffer.limit(n).position(at + take);
            slot.readOffset += take;
            slot.bytesReceived += take;
            if (slot.readOffset == size) {
                complete(slot, now);
                if (churn()) {
                    return; // the exchange is over and this connection closed
                }
            }
        }
        pump(slot);
    }

    private void complete(Slot slot, long now) {
        long sent;
        if (periodNanos > 0) {
            // Open loop: from when the message was due, however late it actually went out.
            long index = churn() ? slot.exchanges - 1 : slot.received;
            sent = dueAt(slot, index);
        } else {
            sent = churn() ? slot.connectStart : slot.sentAt[(int) (slot.received % slot.sentAt.length)];
        }
        if (now >= windowStart) {
            latency.recordValue(Math.max(0, Math.min(now - sent, HIGHEST_LATENCY)));
            windowMessages++;
        }
        completed.lazySet(completed.get() + 1);
        inFlight--;
        slot.received++;
        slot.readOffset = 0;
        if (churn()) {
            close(slot); // a clean close (FIN): the server must see EOF and close its side
            maybeConnect(slot, now);
        }
    }

    private void expireTimeouts(long now) {
        for (int i = open.size() - 1; i >= 0; i--) {
            Slot slot = open.get(i);
            if (!slot.connected) {
                if (now - slot.connectCalledAt > timeoutNanos) {
                    fail(slot, Kind.TIMEOUT, "connection " + slot.connection + ": connect to " + spec.address()
                            + " took longer than " + spec.timeout().toMillis() + " ms");
                }
            } else if (slot.received < slot.next || slot.writing) {
                long since = slot.sentAt[(int) (slot.received % slot.sentAt.length)];
                if (now - since > timeoutNanos) {
                    fail(slot, Kind.TIMEOUT, "connection " + slot.connection + ": no reply to message "
                            + slot.received + " for " + spec.timeout().toMillis() + " ms (" + slot.readOffset
                            + " of " + payloads.size() + " bytes back)");
                }
            }
        }
    }

    private void fail(Slot slot, Kind kind, String description) {
        errors.record(kind, description);
        close(slot);
        // A long-lived connection is not replaced; neither is a refused one (retrying a server that
        // refuses would only spin). A churn exchange that failed otherwise is followed by the next.
        if (churn() && kind != Kind.REFUSED) {
            maybeConnect(slot, System.nanoTime());
        } else {
            slot.finished = true;
        }
    }

    private void close(Slot slot) {
        if (slot.channel == null) {
            return;
        }
        if (slot.key != null) {
            slot.key.cancel();
        }
        try {
            slot.channel.close();
        } catch (IOException e) {
            // the descriptor is released either way
        }
        inFlight -= churn() ? 1 - slot.received : slot.next + (slot.writing ? 1 : 0) - slot.received;
        slot.channel = null;
        slot.key = null;
        slot.connected = false;
        int last = open.size() - 1;
        Slot moved = open.get(last);
        open.set(slot.openIndex, moved);
        moved.openIndex = slot.openIndex;
        open.remove(last);
        slot.openIndex = -1;
    }

    /** Wakes a selector at a time finer than select()'s milliseconds: open loop only. */
    private static final class Ticker implements Runnable {
        private final Selector selector;
        private final Thread thread;
        private volatile long at;
        private volatile boolean stopped;

        Ticker(Selector selector) {
            this.selector = selector;
            this.thread = Thread.ofPlatform().daemon().name("load-ticker").start(this);
        }

        void arm(long nanoTime) {
            at = nanoTime;
            LockSupport.unpark(thread);
        }

        void stop() {
            stopped = true;
            LockSupport.unpark(thread);
        }

        @Override
        public void run() {
            while (!stopped) {
                long due = at;
                if (due == 0) {
                    LockSupport.park(this);
                    continue;
                }
                long wait = due - System.nanoTime();
                if (wait > 0) {
                    LockSupport.parkNanos(this, wait);
                } else if (at == due) {
                    at = 0;
                    selector.wakeup();
                }
            }
        }
    }

}
