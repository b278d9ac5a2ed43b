package io.echoladder.forked;

import io.echoladder.common.WorkerCounts;
import io.echoladder.common.linux.Posix;
import io.echoladder.common.linux.UnixSockets;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * N long-lived worker processes, each watched by a parent thread that counts its accepts (one byte per
 * accept on the worker's Unix socket) and, when the socket reads EOF because the worker died, says so
 * in one line and starts a replacement in the same slot. The other workers keep serving meanwhile: a
 * crash costs only the dead worker's connections.
 */
final class WorkerPool {

    /** Starts worker {@code index} and hands it what it needs; returns it connected. */
    @FunctionalInterface
    interface Starter {
        Children.Child start(int index) throws IOException;
    }

    private final String rung;
    private final Children children;
    private final Starter starter;
    private final WorkerCounts accepted;
    private final AtomicReferenceArray<Children.Child> slots;
    private volatile boolean stopping;
    private final java.util.concurrent.CountDownLatch stopRequested = new java.util.concurrent.CountDownLatch(1);

    WorkerPool(String rung, int workers, Children children, Starter starter) {
        this.rung = rung;
        this.children = children;
        this.starter = starter;
        this.accepted = new WorkerCounts("worker-", workers);
        this.slots = new AtomicReferenceArray<>(workers);
    }

    void start() throws IOException {
        for (int i = 0; i < slots.length(); i++) {
            spawn(i);
        }
    }

    private void spawn(int index) throws IOException {
        Children.Child child = starter.start(index);
        slots.set(index, child);
        Thread.ofPlatform().daemon().name("watch-worker-" + index).start(() -> watch(index, child));
    }

    private void watch(int index, Children.Child child) {
        MemorySegment one = Arena.ofAuto().allocate(1);
        while (UnixSockets.readByte(child.control(), one) == Worker.ACCEPTED) {
            accepted.served(index);
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
            spawn(index);
        } catch (IOException e) {
            System.err.println(rung + ": could not replace worker-" + index + ": " + e.getMessage());
        }
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

    WorkerCounts accepted() {
        return accepted;
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
