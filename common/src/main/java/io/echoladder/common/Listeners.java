package io.echoladder.common;

import io.echoladder.common.linux.Native;
import io.echoladder.common.linux.Posix;
import java.io.IOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;

/**
 * Listener setup: the same for every rung built on {@code java.net} sockets, and the port guard of the
 * rungs whose workers each bind the port with SO_REUSEPORT.
 */
public final class Listeners {

    private Listeners() {
    }

    /** The address to bind, or a usage error naming the host that does not resolve. */
    public static InetSocketAddress address(ServerConfig config) {
        InetSocketAddress address = new InetSocketAddress(config.host(), config.port());
        if (address.isUnresolved()) {
            throw LadderException.usage("cannot resolve host '" + config.host() + "'");
        }
        return address;
    }

    /** A bound, listening {@link ServerSocket}. A taken port is a one-line failure that names it. */
    public static ServerSocket serverSocket(ServerConfig config) throws IOException {
        InetSocketAddress address = address(config);
        ServerSocket listener = new ServerSocket();
        try {
            // SO_REUSEADDR lets a restarted server bind while its old connections sit in TIME_WAIT.
            listener.setReuseAddress(true);
            listener.bind(address, ServerConfig.BACKLOG);
            return listener;
        } catch (BindException e) {
            listener.close();
            throw portTaken(config, e);
        } catch (IOException | RuntimeException e) {
            listener.close();
            throw e;
        }
    }

    /**
     * The port guard of the rungs whose workers each bind a listener of their own with SO_REUSEPORT
     * ({@code reuseport}'s processes, {@code loop-per-core}'s loops). SO_REUSEPORT lets any socket of the
     * same user join a port's group, so a second server started on the port by mistake would silently take
     * half of the clients. The guard refuses that. It binds the port with SO_REUSEADDR but <em>without</em>
     * SO_REUSEPORT: that fails (EADDRINUSE, one line naming the port) if anyone listens there, a reuseport
     * group included, and tolerates only TIME_WAIT leftovers, as every rung's listener does. Then it swaps
     * the two options: without SO_REUSEADDR, another server's guard conflicts with it, and with SO_REUSEPORT
     * our own workers may bind beside it. Once the workers listen, another guard conflicts with them. The
     * only opening is the two syscalls between our bind and the swap. The guard never listens, so no client
     * is routed to it, and it finds the port for {@code --port 0}. The caller closes it once its workers
     * listen.
     */
    public static int portGuard(ServerConfig config) throws IOException {
        InetSocketAddress wanted = address(config);
        int fd = Posix.socket(Posix.family(wanted.getAddress()), Posix.SOCK_STREAM | Posix.SOCK_CLOEXEC, 0);
        try {
            Posix.setsockopt(fd, Posix.SOL_SOCKET, Posix.SO_REUSEADDR, 1);
            Posix.bind(fd, wanted);
            Posix.setsockopt(fd, Posix.SOL_SOCKET, Posix.SO_REUSEADDR, 0);
            Posix.setsockopt(fd, Posix.SOL_SOCKET, Posix.SO_REUSEPORT, 1);
            return fd;
        } catch (IOException e) {
            Posix.close(fd);
            if (e instanceof Native.NativeException n && n.errno() == Native.EADDRINUSE) {
                throw portTaken(config, e);
            }
            throw e;
        }
    }

    /**
     * The one line for a listener that cannot be had, the same on every rung, whichever API failed
     * ({@code java.net}, our bindings or Netty): {@code cannot listen on HOST:PORT: REASON (WHAT TO DO)}.
     * Named for its commonest cause; any bind or listen failure takes it.
     */
    public static LadderException portTaken(ServerConfig config, IOException cause) {
        String reason = reason(cause);
        return LadderException.failure("cannot listen on " + hostPort(config.host(), config.port()) + ": " + reason
                + hint(reason));
    }

    /** Whether {@code e}, thrown while a rung set up its listener, is the bind or listen itself failing. */
    public static boolean isListenFailure(IOException e) {
        if (e instanceof BindException) {
            return true;
        }
        return e instanceof Native.NativeException n
                && (n.syscall().equals("bind") || n.syscall().equals("listen"));
    }

    /**
     * What the kernel said, without the wrapping each API adds: {@code bind: } (our bindings),
     * {@code bind(..) failed with error(-99): } (Netty).
     */
    static String reason(IOException cause) {
        if (cause instanceof Native.NativeException n) {
            return Native.strerror(n.errno());
        }
        String message = cause.getMessage() == null ? "address in use" : cause.getMessage();
        return message.replaceFirst("^(bind|listen)(\\(\\.\\.\\))?( failed( with error\\(-?\\d+\\))?)?: ", "");
    }

    private static String hint(String reason) {
        String r = reason.toLowerCase(java.util.Locale.ROOT);
        if (r.contains("already in use")) {
            return " (another process has that port: choose another --port, or --port 0 for any free one)";
        }
        if (r.contains("cannot assign requested address")) {
            return " (no interface of this machine has that address)";
        }
        if (r.contains("permission denied")) {
            return " (ports below 1024 need root or CAP_NET_BIND_SERVICE)";
        }
        return "";
    }

    /** {@code host:port}, with brackets around an IPv6 literal. */
    public static String hostPort(String host, int port) {
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }

    /**
     * Blocks in accept until a client completes the handshake. A server stops by closing its listener,
     * which makes a blocked accept throw: that is reported as null once {@code closing} says so, and as
     * the error otherwise (a broken listener, fatal to the server).
     */
    public static java.net.Socket accept(ServerSocket listener, java.util.function.BooleanSupplier closing)
            throws IOException {
        try {
            return listener.accept();
        } catch (IOException e) {
            if (closing.getAsBoolean()) {
                return null;
            }
            throw e;
        }
    }

    /** Closes a socket or listener whose close error would tell nobody anything. */
    public static void closeQuietly(java.io.Closeable closeable) {
        try {
            closeable.close();
        } catch (IOException e) {
            // released either way
        }
    }
}
