package io.echoladder.epoll;

import io.echoladder.common.Work;
import io.echoladder.common.linux.Posix;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;

/**
 * {@code --offload N}: the offload pattern. The loop must never block, so the slow part of a handler (its
 * {@link Work}) runs on a pool of N threads; each finished job goes on a queue, and the pool writes an
 * eventfd that sits in the loop's own epoll set, so the loop still sleeps in one place and wakes for
 * finished work exactly as it wakes for a readable socket. A connection has at most one job in flight and
 * is not read while it has one: that keeps each client's bytes in order, and it is back-pressure too.
 *
 * <p>The price is two thread hand-offs per message (loop to pool, pool to loop), each a wake-up of a
 * sleeping thread, and a copy of the bytes out of the loop's buffer.
 *
 * @param <C> the loop's connection type, handed back with the bytes
 */
final class Offload<C> implements AutoCloseable {

    /** A finished job: the bytes, unchanged, to be echoed on the loop. */
    record Done<C>(C connection, byte[] bytes) {
    }

    /** The eventfd the loop watches: readable while finished jobs wait on the queue. */
    final int fd;
    private final Work work;
    private final ExecutorService pool;
    private final Queue<Done<C>> done = new ConcurrentLinkedQueue<>();
    /** Guarded by this: once set, {@link #fd} is closed (its number may be someone else's) and nobody writes it. */
    private boolean closed;
    // Freed by the collector, not by close(): a pool thread may still be on its way out.
    private final MemorySegment one = Arena.ofAuto().allocate(ValueLayout.JAVA_LONG);
    private final MemorySegment counter = Arena.ofAuto().allocate(ValueLayout.JAVA_LONG);

    Offload(int threads, Work work) throws IOException {
        this.fd = Posix.eventfd(0, Posix.EFD_NONBLOCK | Posix.EFD_CLOEXEC);
        this.work = work;
        this.one.set(ValueLayout.JAVA_LONG, 0, 1); // only ever read: every pool thread may write it
        AtomicInteger n = new AtomicInteger();
        this.pool = Executors.newFixedThreadPool(threads,
                r -> Thread.ofPlatform().daemon().name("offload-" + n.getAndIncrement()).unstarted(r));
    }

    /** On the loop: hands one read's bytes (copied: the loop's buffer is reused at once) to the pool. */
    void submit(C connection, MemorySegment read) {
        byte[] bytes = read.toArray(ValueLayout.JAVA_BYTE);
        pool.execute(() -> {
            try {
                work.apply(bytes, 0, bytes.length);
            } catch (InterruptedIOException e) {
                return; // the server is closing
            }
            done.add(new Done<>(connection, bytes));
            synchronized (this) {
                if (!closed) {
                    Posix.write(fd, one, Long.BYTES); // adds 1 to the counter: the loop's epoll_wait returns
                }
            }
        });
    }

    /**
     * On the loop, when {@link #fd} is readable: resets the counter first, then takes the whole queue, so a
     * job that finishes in between is either taken now or wakes the loop again.
     */
    void finished(BiConsumer<C, byte[]> echo) {
        Posix.read(fd, counter, Long.BYTES);
        for (Done<C> job = done.poll(); job != null; job = done.poll()) {
            echo.accept(job.connection(), job.bytes());
        }
    }

    /**
     * Stops the pool (interrupting the work in progress), waits a moment for its threads to finish, then
     * closes the eventfd. A job still finishing after that finds it closed and writes nothing: a write
     * after close(2) could land in whatever the number was reused for.
     */
    @Override
    public void close() {
        pool.shutdownNow();
        try {
            pool.awaitTermination(500, java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        synchronized (this) {
            closed = true;
            Posix.close(fd);
        }
    }
}
