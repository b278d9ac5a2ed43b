package io.echoladder.forked;

import io.echoladder.common.AcceptPolicy;
import io.echoladder.common.ServerConfig;
import io.echoladder.common.Stats;
import io.echoladder.common.Work;
import io.echoladder.common.linux.Posix;
import io.echoladder.common.linux.Syscall;
import io.echoladder.common.linux.UnixSockets;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;

/**
 * The child process of the process rungs: a JVM started by the parent with {@code ProcessBuilder}. It
 connects back to the parent over a Unix socket (NAME), does the server's {@code --work} (WORK, as
 * {@link Work#parse} reads it, or {@code none}) on every read, and then, by mode:
 * <ul>
 *   <li>{@code connection NAME WORK}: receives one client socket (SCM_RIGHTS), echoes it, exits;
 *   <li>{@code prefork NAME WORK}: receives the listening socket and loops: accept, echo, accept...;
 *   <li>{@code prefork-epoll NAME WORK}: runs the epoll rung's loop on client descriptors the parent
 *       passes over the Unix socket (that loop does the --work too);
 *   <li>{@code reuseport NAME WORK HOST PORT}: binds its own listener on the shared port with SO_REUSEPORT,
 *       says it is ready, and loops like prefork.
 * </ul>
 * It tells the parent of every accept with one byte, and exits when the parent is gone (its end of the
 * Unix socket reads EOF), so no worker outlives its server.
 */
public final class Worker {

    static final byte READY = 'r';
    static final byte ACCEPTED = 'a';
    /** Told the parent for each client turned away at this worker's descriptor limit. */
    static final byte TURNED_AWAY = 't';
    private static final int BUFFER_SIZE = 64 * 1024;

    private Worker() {
    }

    public static void main(String[] args) {
        try {
            run(args);
            System.exit(0);
        } catch (Exception e) {
            System.err.println("worker: " + e.getMessage());
            System.exit(1);
        }
    }

    private static void run(String[] args) throws Exception {
        int parent = UnixSockets.connect(args[1]);
        Work work = args[2].equals("none") ? Work.NONE : Work.parse(args[2]);
        MemorySegment buffer = Arena.global().allocate(BUFFER_SIZE);
        switch (args[0]) {
            case "connection" -> {
                int client = UnixSockets.receiveFd(parent);
                if (client == UnixSockets.TRUNCATED) {
                    throw new IOException("no descriptor left to receive the client into");
                }
                exitWhenParentIsGone(parent);
                if (client >= 0) {
                    echo(client, buffer, work);
                    Syscall.call(Syscall.SYS_close, client, 0, 0);
                }
            }
            case "prefork" -> {
                int listener = UnixSockets.receiveFd(parent);
                if (listener == UnixSockets.TRUNCATED) {
                    throw new IOException("no descriptor left to receive the listener into");
                }
                exitWhenParentIsGone(parent);
                if (listener >= 0) {
                    serve(listener, parent, buffer, work);
                }
            }
            case "prefork-epoll" -> {
                // An epoll loop fed by the parent: each client arrives as a descriptor on our Unix socket.
                // EOF there (the parent is gone) ends the loop, so no watcher thread is needed.
                io.echoladder.epoll.EpollEchoServer.fedBy(parent, work, () -> tell(parent, TURNED_AWAY)).serve();
            }
            case "reuseport" -> {
                exitWhenParentIsGone(parent);
                InetSocketAddress address = new InetSocketAddress(args[3], Integer.parseInt(args[4]));
                // Every worker binds the same port; with SO_REUSEPORT the kernel keeps one accept queue per
                // socket and spreads new connections over them by a hash of the client's address and port.
                int listener = Posix.listener(address, ServerConfig.BACKLOG, false, true);
                UnixSockets.writeByte(parent, READY);
                serve(listener, parent, buffer, work);
            }
            default -> throw new IllegalArgumentException("unknown mode " + args[0]);
        }
    }

    /**
     * Accept and echo, one client at a time, for as long as the process lives. A failed accept goes to the
     * policy every rung shares: at this worker's descriptor limit it turns the waiting client away (and
     * tells the parent, who counts), or pauses; a broken listener ends the worker, and the parent starts
     * another.
     */
    private static void serve(int listener, int parent, MemorySegment buffer, Work work) throws IOException {
        AcceptPolicy accepts = new AcceptPolicy(new Stats("worker", 1));
        // Blocking listener: the turn-away asks poll first. Another worker may still take the client between
        // the poll and our accept; we then wait in accept for the next one, on the spare's number.
        AcceptPolicy.AcceptAndClose turnAway = AcceptPolicy.closingAcceptIfWaiting(listener);
        while (true) {
            // Blocks in accept(2) on a listener other workers block on too; the kernel wakes one of them.
            int client = (int) Syscall.call(Syscall.SYS_accept4, listener, 0, 0, Posix.SOCK_CLOEXEC);
            if (client < 0) {
                long before = accepts.turnedAway();
                if (accepts.failed(-client, turnAway) == AcceptPolicy.Next.PAUSE) {
                    accepts.sleepPause(); // nothing may load a class at the limit: Children would
                }
                if (accepts.turnedAway() > before) {
                    UnixSockets.writeByte(parent, TURNED_AWAY);
                }
                continue;
            }
            UnixSockets.writeByte(parent, ACCEPTED);
            echo(client, buffer, work);
            Syscall.call(Syscall.SYS_close, client, 0, 0);
        }
    }

    /**
     * The blocking echo loop, in syscalls: read, write it all back, until EOF or an error. Through
     * {@link Syscall}, so a worker links one downcall in all (see there why). Nothing here interrupts
     * a worker's thread, so the work always runs to its end.
     */
    static void echo(int fd, MemorySegment buffer, Work work) throws InterruptedIOException {
        while (true) {
            long n = Syscall.call(Syscall.SYS_read, fd, buffer.address(), buffer.byteSize());
            if (n <= 0) {
                return; // EOF after a half-close: everything was echoed; or a reset
            }
            work.apply(buffer.asSlice(0, n)); // --work: the handler's own work on these bytes
            for (long written = 0; written < n; ) {
                long w = Syscall.call(Syscall.SYS_write, fd, buffer.address() + written, n - written);
                if (w <= 0) {
                    return;
                }
                written += w;
            }
        }
    }

    /** One byte to the parent; if it is gone, this worker is about to exit anyway. */
    private static void tell(int parent, byte what) {
        try {
            UnixSockets.writeByte(parent, what);
        } catch (IOException e) {
            // the parent's end is closed: the loop reads EOF next and stops
        }
    }

    /**
     * A daemon thread blocked reading the parent's socket. The parent writes nothing after the
     * descriptor (already received when this starts), so the read returns only when the parent's end
     * closes: the parent exited or was killed, and so do we.
     */
    private static void exitWhenParentIsGone(int parent) {
        Thread.ofPlatform().daemon().name("parent-watch").start(() -> {
            UnixSockets.readByte(parent, Arena.global().allocate(1));
            Runtime.getRuntime().halt(0);
        });
    }
}
