package io.echoladder.common;

import static io.echoladder.common.linux.Native.EAGAIN;
import static io.echoladder.common.linux.Native.ECONNABORTED;
import static io.echoladder.common.linux.Native.EHOSTDOWN;
import static io.echoladder.common.linux.Native.EHOSTUNREACH;
import static io.echoladder.common.linux.Native.EINTR;
import static io.echoladder.common.linux.Native.EMFILE;
import static io.echoladder.common.linux.Native.ENETDOWN;
import static io.echoladder.common.linux.Native.ENETUNREACH;
import static io.echoladder.common.linux.Native.ENFILE;
import static io.echoladder.common.linux.Native.ENOBUFS;
import static io.echoladder.common.linux.Native.ENOMEM;
import static io.echoladder.common.linux.Native.ENONET;
import static io.echoladder.common.linux.Native.ENOPROTOOPT;
import static io.echoladder.common.linux.Native.EOPNOTSUPP;
import static io.echoladder.common.linux.Native.EPERM;
import static io.echoladder.common.linux.Native.EPROTO;
import static io.echoladder.common.linux.Native.ETIMEDOUT;

import io.echoladder.common.linux.Native;
import io.echoladder.common.linux.Poll;
import io.echoladder.common.linux.Posix;
import io.echoladder.common.linux.Syscall;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.LongAdder;

/**
 * What every rung does when accept(2) fails: one policy, in one place, whoever calls accept (a thread, an
 * event loop, a forked worker, a ring).
 *
 * <p>The errno says which of four things happened ({@link #classify}): nothing is waiting (EAGAIN on a
 * non-blocking listener: wait for it to be ready again); that one client is gone or the call was
 * interrupted (accept again); the process is out of descriptors or memory; or the listener itself is
 * broken, which is fatal, in one line.
 *
 * <p>Running out is the oldest C10K fault, and the one that turns a server into a spinning core: the
 * client stays in the backlog, so a level-triggered listener is reported ready again at once, accept fails
 * again, and so on, while the client waits for an answer that never comes. The answer here is the
 * <em>reserve descriptor</em> (nginx and libev keep one): a spare descriptor ({@code /dev/null}) is held
 * from the start; when accept fails for lack of descriptors, the spare is closed, which frees exactly one,
 * the waiting client is accepted into it and closed at once, so it reads EOF instead of hanging in the
 * backlog, and the spare is opened again. Each client turned away is counted ({@link Stats#TURNED_AWAY}).
 * The clients already connected are never touched. The other classic answer, pausing accept until a
 * connection closes, leaves the new clients hanging with no word; it is kept only as the fallback for when
 * the spare itself cannot be had back (another thread took the freed number): then the caller stops
 * accepting for {@link #pauseMillis()}, a back-off from 10 ms doubling to 1 s, or until a connection of
 * its own closes.
 *
 * <p>At the limit, nothing on this path may need a descriptor it does not have, and a JVM loads classes
 * and links native calls lazily (loading a class from a directory opens its file): the constructor opens
 * the spare, which links the one downcall the path uses, and loads the classes it uses.
 */
public final class AcceptPolicy implements AutoCloseable {

    /** What a failed accept's errno means. */
    public enum Kind {
        /** EAGAIN: the backlog is empty (non-blocking listener). */
        AGAIN,
        /**
         * The client left before it was taken (ECONNABORTED), a signal interrupted the call (EINTR), or one of
         * the network errors Linux passes on from the new socket, which accept(2) says to treat like EAGAIN
         * by retrying (EPROTO, ENETDOWN, ENOPROTOOPT, EHOSTDOWN, ENONET, EHOSTUNREACH, EOPNOTSUPP,
         * ENETUNREACH, ETIMEDOUT, and EPERM from a firewall rule).
         */
        RETRY,
        /** EMFILE, ENFILE: no descriptor to accept into; ENOBUFS, ENOMEM: no memory for the socket. */
        OUT_OF_RESOURCES,
        /** Anything else (EBADF, EINVAL, ENOTSOCK, ...): the listener is broken. */
        FATAL
    }

    /** What the caller does after a failed accept. */
    public enum Next {
        /** Accept again now (a client may have been turned away; more may be waiting). */
        ACCEPT,
        /** Nothing is waiting (EAGAIN on a non-blocking listener): wait until the listener is ready again. */
        WAIT,
        /**
         * Out of descriptors, and no client could be turned away (nobody was waiting, or the spare is lost):
         * stop accepting for {@link #pauseMillis()}, or until a connection of our own closes.
         */
        PAUSE
    }

    /** Accepts one waiting client and closes it at once. */
    @FunctionalInterface
    public interface AcceptAndClose {
        /** 0 if a client was accepted and closed, else {@code -errno} ({@code -EAGAIN}: nobody was waiting). */
        int run();
    }

    static final long MIN_PAUSE_MILLIS = 10;
    static final long MAX_PAUSE_MILLIS = 1000;

    private static final int O_RDONLY = 0;
    private static final int O_CLOEXEC = 0x80000;
    private static final int AT_FDCWD = -100;

    private final LongAdder turnedAway;
    private final MemorySegment devNull;
    private int spare;
    private long pauseMillis;

    /** Holds the spare descriptor from now on; counts clients turned away in {@code stats}. */
    public AcceptPolicy(Stats stats) throws IOException {
        this.turnedAway = stats.counter(Stats.TURNED_AWAY);
        this.devNull = Arena.ofAuto().allocateFrom("/dev/null");
        this.spare = openSpare();
        if (spare < 0) {
            throw Native.exception("open(/dev/null)", -spare);
        }
        // Loaded now, while a descriptor to read a class file with is still to be had.
        Kind.values();
        Next.values();
        turnedAway.add(0);
    }

    /**
     * For a server that accepts through {@code java.net} or {@code java.nio}: the JDK reports a failed accept
     * as an {@link IOException} worded as {@code strerror(3)} words the errno, and keeps the number to itself;
     * {@link #errno(IOException)} reads it back. Its table is built now, with the rest.
     */
    public static AcceptPolicy forJdkSockets(Stats stats) throws IOException {
        AcceptPolicy policy = new AcceptPolicy(stats);
        JdkMessages.ERRNO.size();
        return policy;
    }

    /**
     * The errno behind an accept failure the JDK reported, matched by its message; EBADF (fatal) for one it
     * does not know. Use after {@link #forJdkSockets}, which loads the table while descriptors last.
     */
    public static int errno(IOException e) {
        if (e instanceof Native.NativeException n) {
            return n.errno();
        }
        return JdkMessages.ERRNO.getOrDefault(String.valueOf(e.getMessage()), Native.EBADF);
    }

    /** strerror's words for the errnos the policy tells apart (loaded only by the JDK-socket rungs). */
    private static final class JdkMessages {
        static final java.util.Map<String, Integer> ERRNO = byMessage(EMFILE, ENFILE, ENOBUFS, ENOMEM, EINTR,
                ECONNABORTED, EPROTO, EAGAIN, ENETDOWN, ENETUNREACH, EHOSTDOWN, EHOSTUNREACH, ETIMEDOUT, EPERM,
                ENONET, ENOPROTOOPT, EOPNOTSUPP);

        private static java.util.Map<String, Integer> byMessage(int... errnos) {
            java.util.Map<String, Integer> byMessage = new java.util.HashMap<>();
            for (int errno : errnos) {
                byMessage.put(Native.strerror(errno), errno);
            }
            return java.util.Map.copyOf(byMessage);
        }
    }

    /** What a failed accept's errno means. */
    public static Kind classify(int errno) {
        return switch (errno) {
            case EAGAIN -> Kind.AGAIN;
            case EINTR, ECONNABORTED, EPROTO, ENETDOWN, ENOPROTOOPT, EHOSTDOWN, ENONET, EHOSTUNREACH, EOPNOTSUPP,
                 ENETUNREACH, ETIMEDOUT, EPERM -> Kind.RETRY;
            case EMFILE, ENFILE, ENOBUFS, ENOMEM -> Kind.OUT_OF_RESOURCES;
            default -> Kind.FATAL;
        };
    }

    /**
     * Decides what to do after accept failed with {@code errno}; out of descriptors, turns the oldest
     * waiting client away through {@code acceptAndClose} first.
     *
     * @throws IOException naming accept and the errno, if the listener is broken
     */
    public Next failed(int errno, AcceptAndClose acceptAndClose) throws IOException {
        return switch (classify(errno)) {
            case AGAIN -> Next.WAIT;
            case RETRY -> Next.ACCEPT;
            case OUT_OF_RESOURCES -> turnAway(acceptAndClose);
            case FATAL -> throw Native.exception("accept", errno);
        };
    }

    /**
     * The reserve descriptor at work: close the spare, accept into the number it frees and close that
     * client at once, open the spare again. One thread at a time: there is one spare.
     */
    private synchronized Next turnAway(AcceptAndClose acceptAndClose) throws IOException {
        if (spare < 0 && (spare = openSpare()) < 0) {
            return pause(); // the last turn-away lost the spare's number to another thread: none to give
        }
        Syscall.call(Syscall.SYS_close, spare, 0, 0);
        spare = -1;
        int rc = acceptAndClose.run();
        spare = openSpare(); // -errno if another thread took the number meanwhile: the next shortage pauses
        if (rc == 0) {
            turnedAway.increment();
            pauseMillis = 0;
            return Next.ACCEPT;
        }
        return switch (classify(-rc)) {
            // Nobody was waiting. At the limit accept fails at once whether anyone waits or not (the kernel
            // takes the new descriptor's number before it looks for a client), so a thread that accepted
            // again now would spin: stop accepting for a while instead.
            case AGAIN -> pause();
            case RETRY -> Next.ACCEPT;
            case OUT_OF_RESOURCES -> pause();
            case FATAL -> throw Native.exception("accept", -rc);
        };
    }

    private Next pause() {
        pauseMillis = Math.clamp(pauseMillis * 2, MIN_PAUSE_MILLIS, MAX_PAUSE_MILLIS);
        return Next.PAUSE;
    }

    /** How long to stop accepting after {@link Next#PAUSE}: 10 ms, doubling with each pause in a row, at most 1 s. */
    public synchronized long pauseMillis() {
        return Math.max(pauseMillis, MIN_PAUSE_MILLIS);
    }

    /**
     * {@link Next#PAUSE} for a thread that blocks in accept: it sleeps {@link #pauseMillis()}. Here, not in
     * a caller's class, so that nothing new is loaded at the limit.
     */
    public void sleepPause() throws java.io.InterruptedIOException {
        try {
            Thread.sleep(pauseMillis());
        } catch (InterruptedException e) {
            throw new java.io.InterruptedIOException("accept paused");
        }
    }

    /** Whether the spare is held now (false only between a lost turn-away and the next one). */
    public synchronized boolean holdsSpare() {
        return spare >= 0;
    }

    /** The clients turned away so far. */
    public long turnedAway() {
        return turnedAway.sum();
    }

    /**
     * {@link AcceptAndClose} for a listener through our own bindings: {@code accept4}, then {@code close},
     * through {@link Syscall} (the one downcall a forked worker links). For a blocking listener it blocks
     * until a client is there: call it only when one is (the client that made accept fail is, unless it
     * left in between).
     */
    public static AcceptAndClose closingAccept(int listenFd) {
        return () -> {
            long fd = Syscall.call(Syscall.SYS_accept4, listenFd, 0, 0, Posix.SOCK_CLOEXEC);
            if (fd < 0) {
                return (int) fd;
            }
            Syscall.call(Syscall.SYS_close, fd, 0, 0);
            return 0;
        };
    }

    /**
     * {@link #closingAccept} that first asks {@code poll(2)}, without waiting, whether a client is there:
     * for a listener that may be blocking (io_uring's, Netty's), which must never block the loop that
     * turns a client away. Links poll now, while descriptors last.
     */
    public static AcceptAndClose closingAcceptIfWaiting(int listenFd) throws IOException {
        MemorySegment pollfd = Poll.allocate(Arena.ofAuto(), 1);
        Poll.set(pollfd, 0, listenFd, Poll.POLLIN);
        Poll.poll(pollfd, 1, 0);
        AcceptAndClose accept = closingAccept(listenFd);
        return () -> {
            try {
                return Poll.poll(pollfd, 1, 0) > 0 ? accept.run() : -EAGAIN;
            } catch (IOException e) {
                return -Native.EBADF;
            }
        };
    }

    private int openSpare() {
        return (int) Syscall.call(Syscall.SYS_openat, AT_FDCWD, devNull.address(), O_RDONLY | O_CLOEXEC);
    }

    /** Closes the spare. */
    @Override
    public synchronized void close() {
        if (spare >= 0) {
            Syscall.call(Syscall.SYS_close, spare, 0, 0);
            spare = -1;
        }
    }
}
