package io.echoladder.client;

import io.echoladder.common.Cli;
import io.echoladder.common.LadderException;
import io.echoladder.common.Listeners;
import io.echoladder.common.Version;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ./ladder wait --port P}: returns once something at that address accepts a TCP connection, so a
 * script (or a page's shell block) can start a server with {@code &} and go on only when it listens. A
 * server's first stdout line says the same, but a script that reads it breaks as soon as anything else
 * is printed first (JAVA_TOOL_OPTIONS' GC logging, for one); a connection cannot be fooled that way.
 */
@Command(name = "wait", mixinStandardHelpOptions = true, versionProvider = Version.Provider.class, sortOptions = false,
        description = {"Wait until something at HOST:PORT accepts a TCP connection; exit 0 then,",
                "or 1 with one line if nothing did within --timeout."},
        footerHeading = "%nExamples:%n",
        footer = {"  1. Start a rung in the background, go on once it listens:",
                "       ./ladder serve epoll --port 7007 &",
                "       ./ladder wait --port 7007",
                "  2. Give a slow start longer:",
                "       ./ladder wait --port 7007 --timeout 30s"})
public final class WaitCommand implements Callable<Integer> {

    /** Between attempts: short, so the wait ends soon after the listener appears; long enough not to spin. */
    private static final Duration RETRY = Duration.ofMillis(50);

    @Option(names = "--host", defaultValue = "127.0.0.1", description = "Server address (default: ${DEFAULT-VALUE}).")
    private String host;

    @Option(names = "--port", required = true, description = "Server port.")
    private int port;

    @Option(names = "--timeout", defaultValue = "10s", converter = Cli.DurationConverter.class,
            description = "How long to keep trying (default: ${DEFAULT-VALUE}).")
    private Duration timeout;

    public static void main(String[] args) {
        Cli.main(new WaitCommand(), args);
    }

    @Override
    public Integer call() throws InterruptedException {
        if (port < 1 || port > 65535) {
            throw LadderException.usage("--port must be 1 to 65535, not " + port);
        }
        if (timeout.isZero() || timeout.isNegative()) {
            throw LadderException.usage("--timeout must be longer than zero");
        }
        InetSocketAddress address = new InetSocketAddress(host, port);
        if (address.isUnresolved()) {
            throw LadderException.usage("cannot resolve host '" + host + "'");
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        String last;
        while (true) {
            long left = deadline - System.nanoTime();
            // A connect that hangs (a dropped SYN) must not outlast the timeout; at least 1 ms, as 0 means forever.
            int connectMillis = (int) Math.max(1, Math.min(Duration.ofSeconds(1).toMillis(), left / 1_000_000));
            try (Socket socket = new Socket()) {
                socket.connect(address, connectMillis);
                return 0; // accepted, or at least queued in its backlog: a listener is there
            } catch (IOException e) {
                last = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            }
            if (System.nanoTime() + RETRY.toNanos() > deadline) {
                break;
            }
            Thread.sleep(RETRY);
        }
        throw LadderException.failure(String.format(Locale.ROOT, "nothing accepted a connection at %s within %s (last try: %s)",
                Listeners.hostPort(host, port), said(timeout), last));
    }

    /** {@code 10 s}, or {@code 500 ms} for a timeout that is not whole seconds. */
    private static String said(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : String.format(Locale.ROOT, "%,d ms", d.toMillis());
    }
}
