package io.echoladder.forked;

import io.echoladder.common.Stats;
import io.echoladder.common.linux.Posix;
import io.echoladder.common.linux.UnixSockets;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * N long-lived worker processes, each watched by a parent thread that counts what it tells (one byte per
 * accept, or per client turned away at its descriptor limit, on the worker's Unix socket) and, when the
 * socket reads EOF because the worker died, says so in one line and starts a replacement in the same
 * slot. The other workers keep serving meanwhile: a crash costs only the dead worker's connections.
 */
final class WorkerPool {

    private final String rung;
    private final Children children;
    private final String mode;
    private final List<String> args;
    private final Children.SetUp setUp;
    private final Stats stats;
    private final AtomicReferenceArray<Children.Child> slots;
    private volatile boolean stopping;
    private final java.util.concurrent.CountDownLatch stopRequested = new java.util.concurrent.CountDownLatch(1);

    /** {@code workers} children started as {@code Worker MODE ... ARGS}, each then given {@code setUp}. */
    WorkerPool(String rung, int workers, Children children, String mode, List<String> args, Children.SetUp setUp) {
        this.rung = rung;
        this.children = children;
        this.mode = mode;
        this.args = args;
        this.setUp = setUp;
        this.stats = new Stats("worker-", workers);
        this.slots = new AtomicReferenceArray<>(workers);
    }

    void start() throws IOException {
        for (int i = 0; i < slots.length(); i++) {
            spawn(i);
        }
    }

    private Children.Child spawn(int index) throws IOException {
        Children.Child child = children.start(mode, args, process -> { }, setUp);
        slots.set(index, child);
        Thread.ofPlatform().daemon().name("watch-worker-" + index).start(() -> watch(index, child));
        return child;
    }

    private void watch(int index, Children.Child child) {
        MemorySegment one = Arena.ofAuto().allocate(1);
        for (int told; (told = UnixSockets.readByte(child.control(), one)) >= 0; ) {
            if (told == Worker.ACCEPTED) {
                stats.served().served(index);
            } else if (told == Worker.TURNED_AWAY) {
                stats.counter(Stats.TURNED_AWAY).increment();
            }
        }
        // EOF: the worker is gone (killed, crashed, or stopped by us). Its slot is emptied before its
        // socket is closed, under the child's lock, so a sender never writes to a reused fd number.
        synchronized (child) {
            slots.compareAndSet(index, child, null);
            Posix.close(child.control());
        }
        child.process().onExit().join();
        if (stopping) {
            return;
        }
        System.err.println(rung + ": worker-" + index + " (pid " + child.process().pid() + ") exited with status "
                + child.process().exitValue() + "; starting a replacement");
        try {
            long pid = spawn(index).process().pid();
            System.err.println(rung + ": worker-" + index + " replaced (pid " + pid + ")"); // serve's workers line named the first
        } catch (IOException e) {
            System.err.println(rung + ": could not replace worker-" + index + ": " + e.getMessage());
        }
    }

    /** The workers' process IDs, in slot order (a slot being refilled after a crash is left out). */
    List<Long> pids() {
        List<Long> pids = new java.util.ArrayList<>();
        for (int i = 0; i < slots.length(); i++) {
            Children.Child child = slots.get(i);
            if (child != null) {
                pids.add(child.process().pid());
            }
        }
        return List.copyOf(pids);
    }

    int size() {
        return slots.length();
    }

    /** Passes {@code fd} to worker {@code index}; false if that worker is gone (or going). */
    boolean sendFd(int index, int fd) {
        Children.Child child = slots.get(index);
        if (child == null) {
            return false;
        }
        synchronized (child) {
            if (slots.get(index) != child) {
                return false;
            }
            try {
                UnixSockets.sendFd(child.control(), fd, (byte) 'c');
                return true;
            } catch (IOException e) {
                return false;
            }
        }
    }

    /** What the workers told: accepts per worker, clients turned away at a worker's descriptor limit. */
    Stats stats() {
        return stats;
    }

    /** Blocks until {@link #requestStop()}: the workers do the serving, the parent only watches them. */
    void awaitStopRequest() throws InterruptedException {
        stopRequested.await();
    }

    /** From the signal handler: lets {@link #awaitStopRequest()} return. */
    void requestStop() {
        stopRequested.countDown();
    }

    /** Stops replacing workers and ends them all. */
    void stop() {
        stopping = true;
        children.stopAll();
    }
}
