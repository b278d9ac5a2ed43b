package io.echoladder.common;

import java.io.IOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;

/** Listener setup, the same for every rung built on {@code java.net} sockets. */
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

    /** The one line for a failed bind. */
    public static LadderException portTaken(ServerConfig config, IOException cause) {
        return LadderException.failure("cannot listen on " + hostPort(config.host(), config.port()) + ": "
                + (cause.getMessage() == null ? "address in use" : cause.getMessage())
                + " (port " + config.port() + ")");
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
