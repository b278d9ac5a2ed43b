package io.echoladder.epoll;

import static io.echoladder.common.linux.Select.FD_SETSIZE;

import io.echoladder.common.RungProvider;
import io.echoladder.common.ServerConfig;
import io.echoladder.common.Setting;
import io.echoladder.common.Stats;
import io.echoladder.common.WakeableListener;
import io.echoladder.common.linux.Select;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.EnumSet;
import java.util.concurrent.atomic.LongAdder;

/**
 * Select: one thread, two {@code fd_set} bitmaps (sockets to read, sockets to write), built from every
 * open connection and handed to {@code select(2)} on every turn. It fixes the thread per client: one
 * thread waits for all of them at once, the oldest way to do so (4.2BSD, 1983). It costs a scan: select
 * overwrites the sets with the ready descriptors, so they are rebuilt before every call, the kernel checks
 * every descriptor below {@code nfds}, and the loop tests every bit again to find the ready ones, so a
 * turn costs in proportion to the sockets open, idle ones included.
 *
 * <p>And a ceiling: an {@code fd_set} has FD_SETSIZE (1024) bits, so a descriptor numbered 1024 or more
 * cannot be watched at all. In C, {@code FD_SET} with one writes past the bitmap, silently. This rung
 * closes such a client at once, counts it ({@code --stats}) and says so, once. What happens once a socket
 * is ready is the same in select, poll and epoll: {@link NonBlockingEchoServer}.
 */
public final class SelectEchoServer extends NonBlockingEchoServer {

    /** Besides failures and turned-away clients: those closed because their descriptor was past FD_SETSIZE. */
    private static final String PAST_FD_SETSIZE = "past-FD_SETSIZE";

    private static final int ACCEPTS_PER_TURN = 64;

    private final MemorySegment readfds = Select.allocateFdSet(arena);
    private final MemorySegment writefds = Select.allocateFdSet(arena);
    private final MemorySegment timeval = Select.allocateTimeval(arena);
    private final LongAdder pastFdSetSize = stats.counter(PAST_FD_SETSIZE);
    private boolean listening = true;

    private SelectEchoServer(ServerConfig config) throws IOException {
        super(config, new WakeableListener(config, true), false, new Stats("loop", 1, PAST_FD_SETSIZE));
        if (Math.max(listenFd, wakeFd) >= FD_SETSIZE) {
            abandon();
            throw new IOException("select: the listener's own descriptors are past FD_SETSIZE (" + FD_SETSIZE + ")");
        }
    }

    @Override
    public void serve() throws IOException {
        try {
            while (true) {
                // The one blocking call: sleeps until a socket is ready, the idle check is due, or
                // close() writes the eventfd. The kernel checks every descriptor below nfds, and so must
                // the loop; the sets come back holding only the ready ones.
                int nfds = fillSets();
                int n = Select.select(nfds, readfds, writefds, waitMillis(), timeval);
                long now = now();
                for (int fd = 0; fd < nfds && n > 0; fd++) {
                    boolean readable = Select.FD_ISSET(fd, readfds);
                    boolean writable = Select.FD_ISSET(fd, writefds);
                    if (!readable && !writable) {
                        continue;
                    }
                    n -= (readable ? 1 : 0) + (writable ? 1 : 0); // select counts bits, not descriptors
                    if (fd == listenFd) {
                        // A few clients per turn, not until EAGAIN: clients that already left (a reset
                        // storm) then free their descriptors before more are taken, so the numbers stay
                        // below FD_SETSIZE and a client behind them is not closed for lack of one.
                        acceptUpTo(ACCEPTS_PER_TURN, now);
                    } else if (fd == wakeFd) {
                        return;
                    } else if (connection(fd) != null) {
                        handle(connection(fd), readable, writable, now);
                    }
                }
                afterTurn();
            }
        } finally {
            shutDown();
        }
    }

    /**
     * FD_ZERO both sets, then FD_SET the listener, the eventfd, and each connection in the read set while
     * it may read and in the write set only while output is pending. Returns nfds: the highest
     * descriptor plus one, how far the kernel scans.
     */
    private int fillSets() {
        Select.FD_ZERO(readfds);
        Select.FD_ZERO(writefds);
        if (listening) {
            Select.FD_SET(listenFd, readfds);
        }
        Select.FD_SET(wakeFd, readfds);
        int highest = Math.max(listenFd, wakeFd);
        for (int fd = 0; fd < FD_SETSIZE; fd++) {
            Connection c = connection(fd);
            if (c != null) {
                if ((c.wants & READ) != 0) {
                    Select.FD_SET(fd, readfds);
                }
                if ((c.wants & WRITE) != 0) {
                    Select.FD_SET(fd, writefds);
                }
                highest = Math.max(highest, fd);
            }
        }
        return highest + 1;
    }

    /**
     * A new client fits if its descriptor has a bit in an fd_set; its bit is set at the next
     * {@link #fillSets}. One numbered FD_SETSIZE or more does not: it is closed at once. Its number is
     * freed by that close, so every client accepted until an older one leaves gets the same fate.
     */
    @Override
    boolean watch(int fd) {
        if (fd < FD_SETSIZE) {
            return true;
        }
        pastFdSetSize.increment();
        if (pastFdSetSize.sum() == 1) {
            System.out.println("select: fd " + fd + " is past FD_SETSIZE (" + FD_SETSIZE
                    + "); closing new clients until descriptors free up");
            System.out.flush();
        }
        return false;
    }

    /** Nothing to tell the kernel now: the sets are built from {@code c.wants} before the next call. */
    @Override
    boolean want(Connection c, int wants) {
        return true;
    }

    /** Nothing to undo: a closed connection is simply not in the next sets. */
    @Override
    void forget(Connection c) {
    }

    @Override
    void release() {
    }

    /** While accepting is paused, the listener is left out of the read set. */
    @Override
    void watchListener(boolean watch) {
        listening = watch;
    }

    public static final class Provider extends RungProvider {
        public Provider() {
            super("select", 56, "epoll",
                    "one thread, select(2) on fd_set bitmaps rebuilt every call; fds past 1023 cannot be watched",
                    EnumSet.of(Setting.MAX_CONNECTIONS, Setting.IDLE_TIMEOUT, Setting.STATS, Setting.WORK),
                    SelectEchoServer::new);
        }
    }
}
