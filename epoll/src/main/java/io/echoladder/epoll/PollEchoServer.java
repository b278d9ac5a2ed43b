package io.echoladder.epoll;

import static io.echoladder.common.linux.Poll.POLLERR;
import static io.echoladder.common.linux.Poll.POLLHUP;
import static io.echoladder.common.linux.Poll.POLLIN;
import static io.echoladder.common.linux.Poll.POLLNVAL;
import static io.echoladder.common.linux.Poll.POLLOUT;

import io.echoladder.common.RungProvider;
import io.echoladder.common.ServerConfig;
import io.echoladder.common.Setting;
import io.echoladder.common.Stats;
import io.echoladder.common.WakeableListener;
import io.echoladder.common.linux.Poll;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.EnumSet;

/**
 * Poll: one thread, one array of {@code struct pollfd}, one entry per open socket, handed whole to
 * {@code poll(2)} on every turn. It fixes select's fixed-size bitmap: a descriptor of any number can be
 * watched, and the array says per socket what to wait for. It costs what select costs: the whole array
 * crosses into the kernel and is checked entry by entry on every call, and the loop then walks it again
 * to find the few entries with {@code revents} set, so a turn costs in proportion to the sockets open,
 * idle ones included, not to the ones ready.
 *
 * <p>Closing a connection marks its entry with fd -1 (poll skips negative fds); after the turn the array
 * is compacted, so it is never longer than the sockets open. What happens once a socket is ready is the
 * same in select, poll and epoll: {@link NonBlockingEchoServer}.
 */
public final class PollEchoServer extends NonBlockingEchoServer {

    private MemorySegment pollfds = Poll.allocate(arena, 1024);
    private int capacity = 1024;
    private int count;
    /** Where each fd's entry is in {@link #pollfds}. */
    private int[] slot = new int[1024];
    private boolean gaps;

    private PollEchoServer(ServerConfig config) throws IOException {
        super(config, new WakeableListener(config, true), false, new Stats("loop", 1));
        add(listenFd);
        add(wakeFd);
    }

    @Override
    public void serve() throws IOException {
        try {
            while (true) {
                // The one blocking call: sleeps until a socket is ready, the idle check is due, or
                // close() writes the eventfd. The kernel checks every entry, and so must the loop.
                int n = Poll.poll(pollfds, count, waitMillis());
                long now = now();
                for (int i = 0; i < count && n > 0; i++) {
                    int ready = Poll.revents(pollfds, i);
                    if (ready == 0) {
                        continue;
                    }
                    n--;
                    int fd = Poll.fd(pollfds, i);
                    if (fd == listenFd) {
                        acceptAll(now);
                    } else if (fd == wakeFd) {
                        return;
                    } else if (connection(fd) != null) {
                        handle(connection(fd), (ready & (POLLIN | POLLHUP | POLLERR | POLLNVAL)) != 0,
                                (ready & POLLOUT) != 0, now);
                    }
                }
                compact();
                afterTurn();
            }
        } finally {
            shutDown();
        }
    }

    /** Appends an entry for a new client: from the next turn on, poll checks it. */
    @Override
    boolean watch(int fd) {
        add(fd);
        return true;
    }

    /**
     * POLLIN while the connection may read, POLLOUT only while output is pending: written into its entry,
     * which the kernel reads at the next call. (POLLERR and POLLHUP are reported whether asked or not.)
     */
    @Override
    boolean want(Connection c, int wants) {
        Poll.setEvents(pollfds, slot[c.fd], ((wants & READ) != 0 ? POLLIN : 0) | ((wants & WRITE) != 0 ? POLLOUT : 0));
        return true;
    }

    /** fd -1: poll skips the entry until {@link #compact} removes it at the end of the turn. */
    @Override
    void forget(Connection c) {
        Poll.set(pollfds, slot[c.fd], -1, 0);
        gaps = true;
    }

    @Override
    void release() {
    }

    /** The listener's entry asks for nothing while accepting is paused (its fd stays: poll just checks it). */
    @Override
    void watchListener(boolean watch) {
        Poll.setEvents(pollfds, slot[listenFd], watch ? POLLIN : 0);
    }

    private void add(int fd) {
        if (count == capacity) {
            // From the same arena: the old arrays stay until the server closes, together less than this one.
            MemorySegment bigger = Poll.allocate(arena, 2 * capacity);
            MemorySegment.copy(pollfds, 0, bigger, 0, count * Poll.POLLFD_SIZE);
            pollfds = bigger;
            capacity *= 2;
        }
        if (fd >= slot.length) {
            slot = Arrays.copyOf(slot, Math.max(fd + 1, 2 * slot.length));
        }
        Poll.set(pollfds, count, fd, POLLIN);
        slot[fd] = count++;
    }

    /** Moves the open entries down over the closed ones, in order, so the array has no holes. */
    private void compact() {
        if (!gaps) {
            return;
        }
        int to = 0;
        for (int from = 0; from < count; from++) {
            int fd = Poll.fd(pollfds, from);
            if (fd >= 0) {
                if (to != from) {
                    Poll.set(pollfds, to, fd, Poll.events(pollfds, from));
                    slot[fd] = to;
                }
                to++;
            }
        }
        count = to;
        gaps = false;
    }

    public static final class Provider extends RungProvider {
        public Provider() {
            super("poll", 58, "epoll",
                    "one thread, poll(2) on a pollfd array of every open socket, which kernel and loop scan on every call",
                    EnumSet.of(Setting.MAX_CONNECTIONS, Setting.IDLE_TIMEOUT, Setting.STATS, Setting.WORK),
                    PollEchoServer::new);
        }
    }
}
