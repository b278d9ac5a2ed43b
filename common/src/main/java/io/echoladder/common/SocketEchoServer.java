package io.echoladder.common;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;

/**
 * What every rung built on blocking {@code java.net} sockets shares and none of them teaches: the bound
 * listener, the tracked connections (with their watchdog), and stopping by closing both (which wakes every thread blocked in
 * accept, read or write). Each rung adds only its model: who calls accept, and who runs each client.
 */
public abstract class SocketEchoServer implements EchoServer {

    protected final ServerSocket listener;
    protected final Connections connections;
    protected volatile boolean closing;

    protected SocketEchoServer(ServerConfig config) throws IOException {
        this.listener = Listeners.serverSocket(config);
        this.connections = new Connections(config);
    }

    /**
     * Blocks until a client completes the handshake; meanwhile others queue in the listen backlog
     * ({@link ServerConfig#BACKLOG}), and past it the kernel drops their SYNs.
     *
     * @return the client, or null once this server is closing
     * @throws IOException if the listener broke, which is fatal to the server
     */
    protected final Socket accept() throws IOException {
        return Listeners.accept(listener, () -> closing);
    }

    @Override
    public InetSocketAddress localAddress() {
        return (InetSocketAddress) listener.getLocalSocketAddress();
    }

    @Override
    public long workTimeouts() {
        return connections.workTimeouts();
    }

    @Override
    public void close() {
        closing = true;
        Listeners.closeQuietly(listener);
        connections.close();
    }
}
