package io.echoladder.common;

import io.echoladder.common.linux.Native;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;

/**
 * What every rung built on blocking {@code java.net} sockets shares and none of them teaches: the bound
 * listener, the tracked connections (with their watchdog), the accept policy, and stopping by closing
 * both (which wakes every thread blocked in accept, read or write). Each rung adds only its model: who
 * calls accept, and who runs each client.
 */
public abstract class SocketEchoServer implements EchoServer {

    protected final ServerSocket listener;
    protected final Stats stats;
    protected final Connections connections;
    private final AcceptPolicy accepts;
    private final AcceptPolicy.AcceptAndClose turnAway = this::acceptAndClose;
    private final Object acceptLock = new Object();
    protected volatile boolean closing;

    protected SocketEchoServer(ServerConfig config, Stats stats) throws IOException {
        this.listener = Listeners.serverSocket(config);
        this.stats = stats;
        try {
            this.accepts = AcceptPolicy.forJdkSockets(stats);
        } catch (IOException | RuntimeException e) {
            listener.close();
            throw e;
        }
        this.connections = new Connections(config, stats);
    }

    /**
     * Blocks until a client completes the handshake; meanwhile others queue in the listen backlog
     * ({@link ServerConfig#BACKLOG}), and past it the kernel drops their SYNs. Out of descriptors, it turns
     * the waiting client away and accepts again ({@link AcceptPolicy}).
     *
     * @return the client, or null once this server is closing
     * @throws IOException if the listener broke, which is fatal to the server
     */
    protected final Socket accept() throws IOException {
        while (true) {
            AcceptPolicy.Next next;
            // One thread at a time, from the accept to the end of a turn-away: the JDK lets only one thread
            // into accept(2) anyway, and this way no other worker's accept can take the number the spare
            // frees for the client being turned away.
            synchronized (acceptLock) {
                try {
                    return listener.accept();
                } catch (IOException e) {
                    if (closing) {
                        return null;
                    }
                    try {
                        next = accepts.failed(AcceptPolicy.errno(e), turnAway);
                    } catch (IOException fatal) {
                        if (closing) {
                            return null;
                        }
                        throw e; // the JDK's own words for the broken listener
                    }
                }
            }
            if (next == AcceptPolicy.Next.PAUSE) {
                pause();
            }
        }
    }

    /**
     * The turn-away: the waiting client is accepted into the spare's number and closed at once. With a
     * timeout, so that it never blocks: if nobody is waiting after all, a blocking accept would sit on the
     * spare's number (the kernel takes it before it waits) and turn away the next client, whoever it is.
     * Under {@link #acceptLock}, so no other thread is in accept meanwhile.
     */
    private int acceptAndClose() {
        try {
            listener.setSoTimeout(1);
            try (Socket turnedAway = listener.accept()) {
                return 0;
            } finally {
                listener.setSoTimeout(0);
            }
        } catch (java.net.SocketTimeoutException e) {
            return -Native.EAGAIN;
        } catch (IOException e) {
            return closing ? -Native.EBADF : -AcceptPolicy.errno(e);
        }
    }

    private void pause() throws IOException {
        try {
            Thread.sleep(accepts.pauseMillis());
        } catch (InterruptedException e) {
            if (!closing) {
                throw new java.io.InterruptedIOException("accept paused");
            }
        }
    }

    @Override
    public InetSocketAddress localAddress() {
        return (InetSocketAddress) listener.getLocalSocketAddress();
    }

    @Override
    public Stats stats() {
        return stats;
    }

    @Override
    public void close() {
        closing = true;
        Listeners.closeQuietly(listener);
        connections.close();
        accepts.close();
    }
}
