package io.echoladder.common;

import java.net.InetSocketAddress;
import java.util.List;

/** A bound echo server: {@link #serve()} runs it, {@link #close()} (from any thread) stops it. */
public interface EchoServer extends AutoCloseable {

    /** The address actually bound, with the real port when 0 was asked for. */
    InetSocketAddress localAddress();

    /** Serves until {@link #close()} is called; returns normally then. */
    void serve() throws Exception;

    /**
     * Stops: closes the listener and every open connection, so that every thread blocked in accept,
     * read or write wakes up, and {@link #serve()} returns. Safe to call from a signal handler thread,
     * more than once.
     */
    @Override
    void close();

    /**
     * What this server counts: connections served per worker (how evenly the accepts were spread), clients
     * turned away at a limit, connections that failed, and whatever else the rung counts. Written by the
     * server's threads, read by {@code --stats} from another: printed on exit and every interval.
     */
    Stats stats();

    /**
     * The process IDs of the workers this server started before it returned from binding, for the rungs
     * that pre-spawn worker processes ({@code serve} prints them as {@code workers: PID PID ...}, so that
     * a script can kill one by its PID); empty for a server that serves in its own process or starts a
     * process per client.
     */
    default List<Long> workerPids() {
        return List.of();
    }
}
