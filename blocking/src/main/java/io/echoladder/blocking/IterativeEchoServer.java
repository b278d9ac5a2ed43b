package io.echoladder.blocking;

import io.echoladder.common.Connections;
import io.echoladder.common.SocketEchoServer;
import io.echoladder.common.RungProvider;
import io.echoladder.common.ServerConfig;
import io.echoladder.common.Setting;
import io.echoladder.common.Stats;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.util.EnumSet;

/**
 * The iterative server: one thread accepts a client, echoes it until it leaves, then accepts the next.
 * It is the bottom rung: the least code that is a correct echo server, and it serves exactly one client
 * at a time; every other client waits in the kernel's accept backlog, connected but unanswered, until
 * the one being served leaves. The next rung gives each client a thread of its own.
 */
public final class IterativeEchoServer extends SocketEchoServer {

    /** Big enough that a bulk transfer costs few syscalls, small enough to stay in cache. */
    private static final int BUFFER_SIZE = 64 * 1024;

    private IterativeEchoServer(ServerConfig config) throws IOException {
        super(config, new Stats("main", 1));
    }

    @Override
    public void serve() throws IOException {
        byte[] buffer = new byte[BUFFER_SIZE];
        while (!closing) {
            // Blocks until a client arrives; while this thread echoes one, the others wait in the backlog.
            Socket client = accept();
            if (client == null) {
                return;
            }
            stats.served().served(0);
            handle(client, connections, buffer);
        }
    }

    /**
     * Serves one accepted client to the end and closes it. The rungs above this one reuse it unchanged:
     * what changes from rung to rung is only who calls it, and when.
     */
    public static void handle(Socket client, Connections connections, byte[] buffer) {
        handle(client, connections.track(client), connections, buffer);
    }

    /** {@link #handle(Socket, Connections, byte[])} for a client its caller has already tracked. */
    public static void handle(Socket client, Connections.Tracked tracked, Connections connections, byte[] buffer) {
        try (client; tracked) {
            echo(client, tracked, buffer);
        } catch (IOException e) {
            // A reset, or the watchdog closing an idle client, ends this client only. Closes we made
            // ourselves are not errors.
            if (!tracked.closedByServer()) {
                connections.failed(e);
            }
        }
    }

    /** Echoes one client until it closes its side (EOF), everything read having been written back. */
    private static void echo(Socket client, Connections.Tracked tracked, byte[] buffer) throws IOException {
        InputStream in = client.getInputStream();
        OutputStream out = client.getOutputStream();
        int n;
        // read blocks until the client sends, half-closes (-1), resets (throws), or the idle watchdog
        // closes the socket under it (throws). While it blocks, this thread serves nobody else.
        while ((n = in.read(buffer)) != -1) {
            tracked.touch();
            tracked.work(buffer, 0, n); // --work: the handler's own work on these bytes, under --work-timeout
            // write blocks until the kernel has taken every byte: if this client stops reading, the
            // thread stops here, and memory stays flat because nothing more is read.
            out.write(buffer, 0, n);
            tracked.touch();
        }
        // Client sent FIN and everything it sent has been echoed: closing (try-with-resources) completes
        // the half-close.
    }

    /** The ladder entry for this rung. */
    public static final class Provider extends RungProvider {
        public Provider() {
            super("blocking", 10, "blocking",
                    "iterative: one thread accepts and echoes one client at a time; the others wait",
                    EnumSet.of(Setting.IDLE_TIMEOUT, Setting.STATS, Setting.WORK, Setting.WORK_TIMEOUT),
                    IterativeEchoServer::new);
        }
    }
}
