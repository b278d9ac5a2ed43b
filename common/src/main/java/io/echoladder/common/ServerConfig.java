package io.echoladder.common;

import java.nio.file.Path;
import java.time.Duration;

/**
 * What {@code ./ladder serve} was asked for.
 *
 * @param host           address to listen on
 * @param port           port to listen on, 0 for any free one
 * @param workers        worker threads or processes; 0 means the rung's default
 * @param maxConnections live connections allowed at once; 0 means no cap
 * @param idleTimeout    close a connection that has been silent this long; {@link Duration#ZERO} means never
 * @param statsInterval  print per-worker counts this often; {@link Duration#ZERO} means only on exit
 * @param edgeTriggered  epoll rungs: EPOLLET instead of level-triggered
 * @param startupImage   process rungs: start workers from an AOT cache (false: {@code --no-startup-image})
 * @param work           what the handler does with each read before echoing it ({@code --work});
 *                       {@link Work#NONE} for a plain echo
 * @param workTimeout    thread rungs: the watchdog closes a client whose handler has been in {@link #work}
 *                       this long ({@code --work-timeout}); {@link Duration#ZERO} means never
 * @param offload        event loops: threads that do {@link #work} off the loop ({@code --offload N}); 0 means
 *                       the loop does it itself
 * @param profile        where {@code --profile} writes the server's CPU profile ({@link Profiler}); the process
 *                       rungs' workers write theirs beside it, with their PID in the name; null means no profile
 */
public record ServerConfig(String host, int port, int workers, int maxConnections, Duration idleTimeout,
                           Duration statsInterval, boolean edgeTriggered, boolean startupImage, Work work,
                           Duration workTimeout, int offload, Path profile) {

    /** Backlog for every listener: deep enough that a burst of connects waits instead of being refused. */
    public static final int BACKLOG = 4096;

    public static ServerConfig defaults() {
        return new ServerConfig("127.0.0.1", 0, 0, 0, Duration.ZERO, Duration.ZERO, false, true, Work.NONE,
                Duration.ZERO, 0, null);
    }

    public int workersOr(int fallback) {
        return workers > 0 ? workers : fallback;
    }
}
