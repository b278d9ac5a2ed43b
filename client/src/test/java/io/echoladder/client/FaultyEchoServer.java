package io.echoladder.client;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Arrays;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * An in-test echo server, correct or broken on purpose, for testing that the check and the load client
 * notice each fault. Thread per connection (or one connection at a time, for {@link Fault#ONE_AT_A_TIME});
 * every connection misbehaves once its stream passes the fault offset ({@link #FAULT_OFFSET} unless
 * given).
 */
public final class FaultyEchoServer implements AutoCloseable {

    /** Where in each connection's stream the fault strikes. */
    public static final int FAULT_OFFSET = 10;

    public enum Fault {
        /** A correct echo server. */
        NONE,
        /** Flips one bit of the byte at the fault offset. */
        FLIP,
        /** Leaves out the byte at the fault offset. */
        DROP,
        /** Keeps reading but stops echoing at the fault offset. */
        WITHHOLD,
        /** Closes the connection once the fault offset is reached. */
        CLOSE_EARLY,
        /** Reads but never answers at all. */
        STALL,
        /** Resets the connection (SO_LINGER 0) once the fault offset is reached. */
        RESET,
        /** A correct echo, but one connection at a time, like the iterative rung: the others wait. */
        ONE_AT_A_TIME,
        /** A correct echo that keeps a copy of every read it echoes, for good: a leak. */
        KEEP,
        /**
         * A correct echo that reads each client's first bytes on its accept thread before handing the
         * client to a thread of its own: concurrent for clients that have spoken, but one silent client
         * stops the accept loop.
         */
        FIRST_READ_ON_ACCEPTOR,
        /**
         * A correct echo that answers one connection in eight at once (the first accepted, the ninth, ...)
         * and every other one {@link #LATE} late: every client is answered, some far more often than the
         * rest, as a pool can do. Its total looks healthy; only a count per connection shows it.
         */
        FAVOURS_SOME
    }

    /** How late {@link Fault#FAVOURS_SOME} answers the connections it does not favour. */
    public static final java.time.Duration LATE = java.time.Duration.ofMillis(20);

    private final ServerSocket listener;
    private final Fault fault;
    private final long faultOffset;
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    private final Queue<byte[]> kept = new ConcurrentLinkedQueue<>();
    private long accepted;

    public FaultyEchoServer(Fault fault) throws IOException {
        this(fault, FAULT_OFFSET);
    }

    /** A server whose connections misbehave once their stream passes {@code faultOffset} bytes. */
    public FaultyEchoServer(Fault fault, long faultOffset) throws IOException {
        this.fault = fault;
        this.faultOffset = faultOffset;
        this.listener = new ServerSocket();
        listener.bind(new InetSocketAddress("127.0.0.1", 0), 1024);
        Thread.ofPlatform().daemon().name("faulty-acceptor").start(this::acceptLoop);
    }

    /**
     * {@code FaultyEchoServer FAULT}: the server as a process of its own, for tests that judge a server's
     * process (soak). Prints {@code listening on 127.0.0.1:PORT} and serves until it is killed.
     */
    public static void main(String[] args) throws Exception {
        FaultyEchoServer server = new FaultyEchoServer(Fault.valueOf(args[0]));
        System.out.println("listening on 127.0.0.1:" + server.port());
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }

    public InetSocketAddress address() {
        return (InetSocketAddress) listener.getLocalSocketAddress();
    }

    public int port() {
        return listener.getLocalPort();
    }

    private void acceptLoop() {
        try {
            while (true) {
                Socket socket = listener.accept();
                open.add(socket);
                if (fault == Fault.ONE_AT_A_TIME) {
                    serve(socket, false);
                } else if (fault == Fault.FIRST_READ_ON_ACCEPTOR) {
                    if (echoFirstRead(socket)) {
                        Thread.ofVirtual().start(() -> serve(socket, false));
                    }
                } else {
                    boolean late = fault == Fault.FAVOURS_SOME && accepted % 8 != 0;
                    Thread.ofVirtual().start(() -> serve(socket, late));
                }
                accepted++;
            }
        } catch (IOException e) {
            // closed
        }
    }

    /** Blocks until the client sends something, and echoes it; false if the client left first (then closed). */
    private boolean echoFirstRead(Socket socket) {
        try {
            byte[] buffer = new byte[8192];
            int n = socket.getInputStream().read(buffer);
            if (n > 0) {
                socket.getOutputStream().write(buffer, 0, n);
                return true;
            }
        } catch (IOException e) {
            // the client left
        }
        try {
            socket.close();
        } catch (IOException e) {
            // nothing left to release
        }
        open.remove(socket);
        return false;
    }

    /** Echoes {@code socket} until it closes, with the fault; {@code late}: each echo waits {@link #LATE}. */
    private void serve(Socket socket, boolean late) {
        try (socket) {
            InputStream in = socket.getInputStream();
            OutputStream out = socket.getOutputStream();
            byte[] buffer = new byte[8192];
            long offset = 0;
            int n;
            while ((n = in.read(buffer)) != -1) {
                int start = 0;
                int end = n;
                boolean crosses = offset <= faultOffset && faultOffset < offset + n;
                int at = (int) Math.clamp(faultOffset - offset, Integer.MIN_VALUE, Integer.MAX_VALUE);
                switch (fault) {
                    case NONE, ONE_AT_A_TIME, FIRST_READ_ON_ACCEPTOR -> { }
                    case FAVOURS_SOME -> {
                        if (late) {
                            Thread.sleep(LATE);
                        }
                    }
                    case KEEP -> kept.add(Arrays.copyOf(buffer, n));
                    case FLIP -> {
                        if (crosses) {
                            buffer[at] ^= 1;
                        }
                    }
                    case DROP -> {
                        if (crosses) {
                            System.arraycopy(buffer, at + 1, buffer, at, n - at - 1);
                            end = n - 1;
                        }
                    }
                    case WITHHOLD -> end = offset >= faultOffset ? 0 : crosses ? at : n;
                    case CLOSE_EARLY -> {
                        if (crosses || offset > faultOffset) {
                            out.write(buffer, 0, Math.max(0, at));
                            return;
                        }
                    }
                    case STALL -> end = 0;
                    case RESET -> {
                        if (crosses || offset > faultOffset) {
                            out.write(buffer, 0, Math.max(0, at));
                            socket.setSoLinger(true, 0);
                            return;
                        }
                    }
                }
                offset += n;
                out.write(buffer, start, end - start);
            }
        } catch (IOException e) {
            // the client left
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            open.remove(socket);
        }
    }

    @Override
    public void close() throws IOException {
        listener.close();
        for (Socket socket : open) {
            socket.close();
        }
    }
}
