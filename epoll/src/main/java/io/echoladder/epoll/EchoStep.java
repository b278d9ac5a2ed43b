package io.echoladder.epoll;

import static io.echoladder.common.linux.Native.EAGAIN;

import io.echoladder.common.Work;
import io.echoladder.common.linux.Posix;
import java.io.InterruptedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.atomic.LongAdder;

/**
 * The echo step: what every readiness rung does once the kernel has said a connection is ready, whoever
 * asked (select, poll or epoll's single loop, or one of the one-shot workers). It writes what the socket
 * would not take before, reads and writes straight back, keeps what write did not take, and returns what
 * the connection waits for next: {@link #READ} while it may read, {@link #WRITE} only while output is
 * pending (waiting for it with nothing to write would wake the loop for nothing), no READ past the
 * pending-output cap (back-pressure) or while its bytes are in the {@code --offload} pool, and
 * {@link #CLOSE} once it is over. How that is told to the kernel, and which thread may take which
 * connection, is each rung's own lesson.
 *
 * <p>One step per thread: it reads into that thread's buffer.
 */
final class EchoStep {

    static final int READ_SIZE = 64 * 1024;

    /** What a connection waits for: bytes to read, room to write, both, or (0) nothing for now. */
    static final int READ = 1;
    static final int WRITE = 2;
    /** The connection is over: it half-closed and has all its echo back, or it failed (counted). */
    static final int CLOSE = -1;

    /** What the step knows about one client; each rung adds what its model needs. */
    static class Connection {
        final int fd;
        final PendingOutput pending = new PendingOutput();
        /** The client shut down its side: echo what is pending, then close. */
        boolean eof;
        /** {@code --offload}: a read's work is in the pool; nothing more is read until it is back. */
        boolean busy;

        Connection(int fd) {
            this.fd = fd;
        }
    }

    private final MemorySegment buffer;
    private final boolean drain;
    private final Work work;
    /** {@code --offload N}: the pool that does {@link #work} off the loop, or null. */
    private final Offload<Connection> offload;
    private final LongAdder failed;

    /**
     * @param buffer  this thread's read buffer, {@link #READ_SIZE} bytes
     * @param drain   read each ready socket until EAGAIN (edge-triggered), not once (level-triggered)
     * @param offload the {@code --offload} pool, or null to work on this thread
     * @param failed  counts connections that end in an error
     */
    EchoStep(MemorySegment buffer, boolean drain, Work work, Offload<Connection> offload, LongAdder failed) {
        this.buffer = buffer;
        this.drain = drain;
        this.work = work;
        this.offload = offload;
        this.failed = failed;
    }

    /**
     * Serves one ready connection: writes pending output if it can write, then reads and echoes if it can
     * read. Readable includes a hang-up or an error (EPOLLHUP, POLLERR, ...): the read then says what it
     * was, EOF or the error, so a half-closed client still gets every byte back before it is closed.
     */
    int step(Connection c, boolean readable, boolean writable) throws InterruptedIOException {
        if (writable && !flush(c)) {
            return CLOSE;
        }
        if (readable && !c.eof && !c.busy && !c.pending.overCap() && !readAndEcho(c)) {
            return CLOSE;
        }
        return wants(c);
    }

    /** {@code --offload}: a job's bytes are back from the pool: echoes them and lets the connection read again. */
    int finished(Connection c, byte[] bytes) {
        c.busy = false;
        MemorySegment.copy(bytes, 0, buffer, ValueLayout.JAVA_BYTE, 0, bytes.length);
        return echo(c, bytes.length) ? wants(c) : CLOSE;
    }

    /**
     * Reads and writes straight back. Level-triggered: one read, the other clients get their turn. Edge-
     * triggered: until EAGAIN (or the cap), since no further event comes for bytes already there. False if
     * the connection failed.
     */
    private boolean readAndEcho(Connection c) throws InterruptedIOException {
        do {
            long n = Posix.read(c.fd, buffer, READ_SIZE);
            if (n == -EAGAIN) {
                break;
            }
            if (n < 0) {
                return fail();
            }
            if (n == 0) {
                c.eof = true; // the client shut down its side: echo what is pending, then close
                break;
            }
            if (offload != null) {
                c.busy = true; // the pool works, the loop goes on; see finished()
                offload.submit(c, buffer.asSlice(0, n));
                break;
            }
            work.apply(buffer.asSlice(0, n)); // --work: while this thread works, its other clients wait
            if (!echo(c, n)) {
                return false;
            }
        } while (drain && !c.pending.overCap());
        return true;
    }

    /** Writes the buffer's first {@code n} bytes back, keeping what the socket does not take; false if it failed. */
    private boolean echo(Connection c, long n) {
        if (!c.pending.isEmpty()) {
            c.pending.append(buffer, 0, (int) n); // behind what is already waiting: order matters
            return true;
        }
        long written = Posix.write(c.fd, buffer, n);
        if (written < 0 && written != -EAGAIN) {
            return fail();
        }
        written = Math.max(0, written);
        if (written < n) {
            // The client's receive window is full: keep the rest and wait until it can take more.
            c.pending.append(buffer, written, (int) (n - written));
        }
        return true;
    }

    /** Writes pending output until it is gone or the socket takes no more; false if it failed. */
    private boolean flush(Connection c) {
        while (!c.pending.isEmpty()) {
            int n = c.pending.peek(buffer, READ_SIZE);
            long written = Posix.write(c.fd, buffer, n);
            if (written == -EAGAIN) {
                break;
            }
            if (written < 0) {
                return fail();
            }
            c.pending.consume((int) written);
            if (written < n) {
                break;
            }
        }
        return true;
    }

    /** What the connection waits for now; CLOSE once it has half-closed and all its echo is out. */
    private static int wants(Connection c) {
        if (c.eof && c.pending.isEmpty()) {
            return CLOSE;
        }
        if (c.eof || c.busy || c.pending.overCap()) {
            return c.pending.isEmpty() ? 0 : WRITE;
        }
        return c.pending.isEmpty() ? READ : READ | WRITE;
    }

    /** A reset or a broken pipe: counted, and it ends this client only (the caller closes it). */
    private boolean fail() {
        failed.increment();
        return false;
    }
}
