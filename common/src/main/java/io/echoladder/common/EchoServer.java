package io.echoladder.common;

import java.net.InetSocketAddress;
import java.util.Map;

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
     * Connections served by each worker (thread or process), in worker order: how evenly the accepts
     * were spread. Printed on exit and with {@code --stats}.
     */
    Map<String, Long> servedPerWorker();

    /**
     * Readiness events handled by each worker, for rungs where any worker may serve any connection
     * (epoll-oneshot); empty elsewhere. Printed next to {@link #servedPerWorker()}.
     */
    default Map<String, Long> eventsPerWorker() {
        return Map.of();
    }

    /**
     * What the server counted besides clients served: connections that failed, clients it had to turn
     * away, by name; empty where nothing is counted. Printed as {@code counted: name=N ...} next to
     * {@link #servedPerWorker()}.
     */
    default Map<String, Long> counters() {
        return Map.of();
    }

    /**
     * Clients the {@code --work-timeout} watchdog closed because their handler worked too long; 0 on rungs
     * without one. Printed with {@link #servedPerWorker()} when the option is set.
     */
    default long workTimeouts() {
        return 0;
    }
}
