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
import org.HdrHistogram.IntCountsHistogram;

/**
 * One event-loop thread of the load client: a selector and its share of the connections (slots
 * {@code index, index + threads, ...}). Non-blocking throughout, so a few threads drive thousands of
 * connections; nothing is allocated per message.
 *
 * <p>A slot is one connection at a time: long-lived in persistent and hold mode, a fresh one per exchange
 * in churn mode. Closed loop: a slot starts its next message when a reply completes (up to
 * {@code pipeline} in flight). Open loop: message {@code m} of a slot is due at a fixed time, and its
 * latency is measured from that time, not from when it could actually be sent (coordinated omission).
 *
 * <p>Nothing unanswered goes unseen. When the window closes, no new message starts and the loop waits up
 * to the timeout for the replies still in flight ("the drain"); whatever is still missing then is a
 * timeout. Every message the window asked for and never got back is kept for the report: in open loop,
 * each message that came due in the window and was not answered; in closed loop, where nothing is due,
 * the time each connection spent in the window waiting on a reply that never came (or dead after its
 * connection failed), which {@link LoadClient} turns into the round trips it was denied.
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
    /** The window's end: as planned, or earlier once {@link #stop} is asked for (only this thread moves it). */
    private long windowEnd;
    /** The drain's deadline: replies still in flight when the window closes may take this long. */
    private long drainEnd;
    private final LoadClient.Stop stop;
    private final long timeoutNanos;
    private final long periodNanos;
    private final Selector selector;
    private final Ticker ticker;
    private final ByteBuffer readBuffer = ByteBuffer.allocateDirect(64 * 1024);
    private final ByteBuffer expected;
    private final PriorityQueue<Slot> wakeups = new PriorityQueue<>((a, b) -> Long.compare(a.wakeAt, b.wakeAt));
    private final List<Slot> slots = new ArrayList<>();
    private final List<Slot> open = new ArrayList<>();

    /** Latency of the answered messages of the window (see {@link #complete}). */
    final Histogram latency = new Histogram(HIGHEST_LATENCY, 3);
    final Histogram connectLatency = new Histogram(HIGHEST_LATENCY, 3);
    /**
     * Open loop: how late the client sent each message of the window, against its schedule. Its own lag
     * is in every latency it measures; where it is a large part of them, the client, not the server, set
     * the pace.
     */
    final Histogram sendLag = new Histogram(HIGHEST_LATENCY, 3);
    /**
     * Closed loop: how long each connection that went unanswered spent so in the window, one value per
     * episode (nanoseconds, 0 for an episode that began and ended at the window's edge).
     */
    final Histogram denied = new Histogram(HIGHEST_LATENCY, 3);
    /**
     * Closed loop: when each connection that failed for good began to wait (nanoTime). It waits until the
     * window's end, known only when every thread has stopped: {@link LoadClient} adds these to
     * {@link #denied} then, so that a run that ended early (every connection failed) counts only the time
     * it ran.
     */
    final List<Long> deadSince = new ArrayList<>();
    /** Replies completed in the warm-up, and inside the window: read by the progress line. */
    final AtomicLong warmupCompleted = new AtomicLong();
    final AtomicLong windowCompleted = new AtomicLong();
    /** Replies completed inside the window: the throughput. */
    long windowMessages;
    /** Messages of the window never answered: sent (closed loop) or due (open loop), then given up on. */
    long unanswered;
    /** The longest any of them had waited when the client gave up on it. */
    long oldestUnanswered;
    long connected;
    long finishedAt;
    /** True from the end of the window: nothing new starts, replies in flight are awaited. */
    private boolean draining;
    /** Messages (churn: exchanges) this thread may still start; {@link Long#MAX_VALUE} without --messages. */
    private long quota;
    /** Messages started and not yet answered, over all slots. */
    private long inFlight;

    LoadWorker(LoadSpec spec, int index, Payloads payloads, Errors errors, long runStart, long quota,
               LoadClient.Stop stop) throws IOException {
        this.spec = spec;
        this.stop = stop;
        this.payloads = payloads;
        this.errors = errors;
        this.runStart = runStart;
        this.windowStart = runStart + spec.windowStart().toNanos();
        this.windowEnd = windowStart + spec.duration().toNanos();
        this.timeoutNanos = spec.timeout().toNanos();
        this.drainEnd = windowEnd + timeoutNanos;
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
        /** Open loop: messages (churn: exchanges) due in the window that were answered. */
        long answeredInWindow;
        /** Open loop, from the drain on: how many of its messages (exchanges) were due before the window closed. */
        long windowDue;
        long firstDue;
        long wakeAt;
        /** Replies completed inside the window on this slot: its share of the throughput. */
        long windowAnswered;
        /**
         * This slot's share of {@link #latency}, for its p99 alone. The client holds up to 10,000 slots,
         * so not a histogram like the run's (3 digits over an hour of nanoseconds: 270,848 bytes each by
         * {@code getEstimatedFootprintInBytes()}, 2.7 GB for 10,000): one significant digit (a value is off
         * by 1/16 at most), int counts and nothing under a microsecond take 2,432 bytes, 24 MB for 10,000.
         * Enough to tell a connection served in 1 ms from one kept waiting 10 ms.
         */
        final IntCountsHistogram latency = new IntCountsHistogram(1_000, HIGHEST_LATENCY, 1);

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
            settle(System.nanoTime());
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
            long stopAt = stop.at();
            if (stopAt < windowEnd) {
                // Asked to stop: the window ends there (in the warm-up, before it began), and the drain
                // that follows is the usual one. Seen here within one wake-up, at most the 50 ms scan.
                windowEnd = stopAt;
                drainEnd = windowEnd + timeoutNanos;
            }
            if (now >= windowEnd) {
                if (!draining) {
                    startDrain();
                }
                if (inFlight == 0 && owed() == 0 || now >= drainEnd) {
                    return;
                }
            }
            while (!draining && !wakeups.isEmpty() && wakeups.peek().wakeAt <= now) {
                wake(wakeups.poll(), now);
            }
            if (now >= nextScan) {
                expireTimeouts(now);
                nextScan = now + Math.min(timeoutNanos / 4, TimeUnit.MILLISECONDS.toNanos(50));
            }
            if (open.isEmpty() && (draining || wakeups.isEmpty())) {
                windowEnd = Math.min(windowEnd, now); // every slot has finished: the window ends with them
                return;
            }
            if (quota <= 0 && inFlight == 0) {
                windowEnd = Math.min(windowEnd, now); // --messages are all answered: so is the window
                return;
            }
            long until = Math.min(draining ? drainEnd : windowEnd, nextScan);
            if (!draining && !wakeups.isEmpty()) {
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
     * The drain: nothing new starts, and the replies in flight get up to the timeout. In open loop the
     * client still owes the messages that came due in the window and are not sent yet (it fell behind its
     * schedule): they go out now, their latency counted from when they were due.
     */
    private void startDrain() {
        draining = true;
        if (periodNanos == 0) {
            return;
        }
        for (Slot slot : slots) {
            slot.windowDue = firstDueAtOrAfter(slot, windowEnd);
            if (slot.finished) {
                continue;
            }
            slot.due = Math.max(slot.due, slot.windowDue);
            if (churn()) {
                if (slot.channel == null) {
                    maybeConnect(slot, System.nanoTime());
                }
            } else if (slot.connected) {
                pump(slot);
            }
        }
    }

    /** Open loop, while draining: messages (exchanges) due in the window that are not under way yet. */
    private long owed() {
        if (periodNanos == 0) {
            return 0;
        }
        long owed = 0;
        for (Slot slot : slots) {
            if (!slot.finished) {
                owed += Math.max(0, slot.windowDue - (churn() ? slot.exchanges : slot.next));
            }
        }
        return owed;
    }

    /**
     * The end of the run: what is still in flight after the drain is a timeout, and in open loop every
     * message due in the window that was not answered (given up on, never sent, or still missing) is
     * counted, each having waited until now.
     */
    private void settle(long now) {
        for (Slot slot : List.copyOf(open)) {
            if (outstanding(slot) > 0) {
                fail(slot, Kind.TIMEOUT, "connection " + slot.connection + ": no reply to message " + slot.received
                        + " within " + spec.timeout().toMillis() + " ms after the window closed");
            }
        }
        if (periodNanos == 0) {
            return;
        }
        for (Slot slot : slots) {
            long first = firstDueAtOrAfter(slot, windowStart);
            long end = firstDueAtOrAfter(slot, windowEnd);
            long missing = end - first - slot.answeredInWindow;
            if (missing > 0) {
                unanswered += missing;
                // The earliest of them: messages on a connection are answered in order.
                long earliest = churn() ? Math.max(first, slot.exchanges - (slot.channel != null ? 1 : 0))
                        : Math.max(first, slot.received);
                oldestUnanswered = Math.max(oldestUnanswered, now - dueAt(slot, Math.min(earliest, end - 1)));
            }
        }
    }

    /**
     * The index of a slot's first message (churn: exchange) due at or after {@code time}, in open loop.
     * The search starts a tick and a period early: {@link #dueAt} rounds up to the next tick, so with a
     * period under a millisecond several messages share one due time, and starting at the period's
     * estimate skipped those of them due exactly at {@code time} (then each was counted unanswered, with
     * no error: 80 of them at {@code --rate 100000} on 10 connections).
     */
    static long firstDueAtOrAfter(long firstDue, long periodNanos, long runStart, long time) {
        long index = Math.max(0, (time - MILLISECOND - firstDue) / periodNanos - 1);
        while (dueAt(firstDue, periodNanos, runStart, index) < time) {
            index++;
        }
        return index;
    }

    private long firstDueAtOrAfter(Slot slot, long time) {
        return firstDueAtOrAfter(slot.firstDue, periodNanos, runStart, time);
    }

    /** Messages (churn: the exchange) started on a slot's connection and not yet answered. */
    private long outstanding(Slot slot) {
        if (slot.channel == null) {
            return 0;
        }
        return churn() ? 1 - slot.received : slot.next + (slot.writing ? 1 : 0) - slot.received;
    }

    /**
     * When message (churn: exchange) {@code index} of a slot is due in open loop: on the slot's own
     * schedule, rounded up to the next millisecond tick of the run, so that the messages due in one tick
     * go out on one wake-up (as wrk2 does). Latency counts from this time.
     */
    private long dueAt(Slot slot, long index) {
        return dueAt(slot.firstDue, periodNanos, runStart, index);
    }

    static long dueAt(long firstDue, long periodNanos, long runStart, long index) {
        long sinceStart = firstDue + index * periodNanos - runStart;
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
        if (draining && (periodNanos == 0 || slot.exchanges >= slot.windowDue)) {
            return; // after the window only what it already owed (open loop) is started
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
        if (churn() && periodNanos > 0) {
            recordLag(slot.connectStart, slot.connectCalledAt);
        }
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

    /** Open loop: how late the client itself sent a message of the window, against its schedule. */
    private void recordLag(long due, long sentAt) {
        if (due >= windowStart && due < windowEnd) {
            sendLag.recordValue(Math.max(0, Math.min(sentAt - due, HIGHEST_LATENCY)));
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
                    long sentAt = System.nanoTime();
                    slot.sentAt[(int) (slot.next % slot.sentAt.length)] = sentAt;
                    if (periodNanos > 0 && !churn()) {
                        recordLag(dueAt(slot, slot.next), sentAt);
                    }
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
        if (draining && (periodNanos == 0 && !churn())) {
            return false; // the window has closed: only the replies in flight are awaited
        }
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
                if (!complete(slot, now) || churn()) {
                    return; // the connection failed, or the exchange is over and it closed
                }
            }
        }
        pump(slot);
    }

    /**
     * A reply is complete and byte-exact. Its latency enters the window's histogram when the message
     * belongs to the window: in open loop, when it was due in the window (answered at any time before the
     * drain ends); in closed loop, when it completed after the window opened (the drain included).
     */
    private boolean complete(Slot slot, long now) {
        long sentAt = churn() ? slot.connectStart : slot.sentAt[(int) (slot.received % slot.sentAt.length)];
        if (now - (churn() ? slot.connectCalledAt : sentAt) > timeoutNanos) {
            // Later than the timeout is a timeout, however the scan was timed: every answered latency
            // stays under the ceiling that unanswered messages are counted at.
            fail(slot, Kind.TIMEOUT, "connection " + slot.connection + ": reply to message " + slot.received
                    + " took " + (now - sentAt) / 1_000_000 + " ms, more than the " + spec.timeout().toMillis()
                    + " ms timeout");
            return false;
        }
        if (periodNanos > 0) {
            // Open loop: from when the message was due, however late it actually went out.
            long index = churn() ? slot.exchanges - 1 : slot.received;
            long due = dueAt(slot, index);
            if (due >= windowStart && due < windowEnd) {
                record(slot, now - due);
                slot.answeredInWindow++;
            }
        } else if (now >= windowStart) {
            record(slot, now - sentAt);
        }
        if (now >= windowStart && now < windowEnd) {
            windowMessages++;
            slot.windowAnswered++;
            windowCompleted.lazySet(windowMessages);
        } else if (now < windowStart) {
            warmupCompleted.lazySet(warmupCompleted.get() + 1);
        }
        inFlight--;
        slot.received++;
        slot.readOffset = 0;
        if (churn()) {
            close(slot); // a clean close (FIN): the server must see EOF and close its side
            maybeConnect(slot, now);
        }
        return true;
    }

    /** A latency of the window, into the run's histogram and the slot's own. */
    private void record(Slot slot, long nanos) {
        long value = Math.max(0, Math.min(nanos, HIGHEST_LATENCY));
        latency.recordValue(value);
        slot.latency.recordValue(value);
    }

    /**
     * Each slot's replies inside the window and the p99 of its answered messages in microseconds (NaN for
     * a slot that got none), at the slot's number: read by {@link LoadClient} once this thread has ended.
     */
    void perConnection(long[] messages, double[] p99Us) {
        for (Slot slot : slots) {
            messages[slot.number] = slot.windowAnswered;
            p99Us[slot.number] = slot.latency.getTotalCount() == 0 ? Double.NaN
                    : slot.latency.getValueAtPercentile(99) / 1000.0;
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
        long now = System.nanoTime();
        // A long-lived connection is not replaced; neither is a refused one (retrying a server that
        // refuses would only spin). A churn exchange that failed otherwise is followed by the next.
        boolean replaced = churn() && kind != Kind.REFUSED && !draining;
        if (periodNanos == 0) {
            countDenied(slot, now, replaced);
        } else {
            countUnansweredBeforeWindow(slot, now);
        }
        close(slot);
        if (replaced) {
            maybeConnect(slot, now);
        } else {
            slot.finished = true;
        }
    }

    /**
     * Open loop: a slot gives up on the messages it has in flight. Those due in the window are counted
     * with the window's others when the run settles; those due before it (in the warm-up) are counted
     * here, so that the verdict sees every message that went unanswered.
     */
    private void countUnansweredBeforeWindow(Slot slot, long now) {
        long first = churn() ? slot.exchanges - 1 : slot.received;
        long last = churn() ? slot.exchanges - 1 : slot.next - (slot.writing ? 0 : 1);
        for (long index = first; index <= last && outstanding(slot) > 0; index++) {
            long due = dueAt(slot, index);
            if (due < windowStart) {
                unanswered++;
            }
            if (due < windowEnd) {
                oldestUnanswered = Math.max(oldestUnanswered, now - due);
            }
        }
    }

    /**
     * Closed loop: a slot gives up. The messages it had in flight are unanswered, and the connection went
     * unanswered from the oldest of them (or from now, if none was in flight) until it is replaced, or,
     * if it is not, until the window's end: in a closed loop a client always wants its next reply.
     */
    private void countDenied(Slot slot, long now, boolean replaced) {
        long outstanding = outstanding(slot);
        long since = now;
        if (outstanding > 0) {
            since = churn() ? slot.connectStart : slot.sentAt[(int) (slot.received % slot.sentAt.length)];
            unanswered += outstanding; // in the window or not: the verdict counts every one
            oldestUnanswered = Math.max(oldestUnanswered, now - since);
        } else if (slot.channel != null && !slot.connected) {
            since = slot.connectCalledAt; // a connect that failed or never completed
        }
        if (!replaced) {
            deadSince.add(since); // it waits until the window's end, counted when that is known
        } else if (outstanding > 0 && since < windowEnd && now >= windowStart) {
            denied.recordValue(Math.max(0, Math.min(now, windowEnd) - Math.max(since, windowStart)));
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
        inFlight -= outstanding(slot);
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
