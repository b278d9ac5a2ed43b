package io.echoladder.common;

import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import sun.misc.Signal;

/**
 * {@code ./ladder serve RUNG}: runs one rung in the foreground. Its first line on stdout is exactly
 * {@code listening on HOST:PORT}; SIGINT or SIGTERM closes the listener and every connection and exits 0.
 */
@Command(name = "serve", mixinStandardHelpOptions = true, versionProvider = Version.Provider.class, sortOptions = false,
        description = {"Run one rung of the ladder in the foreground (./ladder list shows the rungs).",
                "The first line is 'listening on HOST:PORT'; the process rungs that start their workers up front",
                "(prefork, prefork-epoll, reuseport) then print 'workers: PID PID ...'.",
                "SIGINT (Ctrl-C) or SIGTERM closes everything and exits 0."},
        footerHeading = "%nExamples:%n",
        footer = {"  1. Serve the epoll rung on port 7007 until Ctrl-C:",
                "       ./ladder serve epoll --port 7007",
                "  2. In the background, any free port, the accepts per worker every 5 s:",
                "       ./ladder serve thread-pool --port 0 --workers 4 --stats &",
                "  3. A handler that takes 1 ms per read, handed by the loop to 8 threads:",
                "       ./ladder serve epoll --port 7007 --work sleep:1ms --offload 8",
                "  4. On every address of this machine, for clients on other machines:",
                "       ./ladder serve nio-selector --host 0.0.0.0 --port 7007",
                "  5. Where its CPU goes, a flame graph written on exit (workers: one each):",
                "       ./ladder serve epoll --port 7007 --profile epoll.html"})
public final class ServeCommand implements Callable<Integer> {

    /** How long shutdown may take before the process gives up on a clean exit. */
    private static final Duration SHUTDOWN_LIMIT = Duration.ofMillis(1800);

    /**
     * The same with {@code --profile}: writing the flame graphs (the server's, and every worker's as it
     * exits) takes longer than closing sockets.
     */
    private static final Duration PROFILE_SHUTDOWN_LIMIT = Duration.ofSeconds(30);

    @Spec
    private CommandSpec spec;

    @Parameters(paramLabel = "RUNG", description = "Rung id, as ./ladder list prints it.")
    private String rungId;

    @Option(names = "--host", defaultValue = "127.0.0.1", description = "Address to listen on (default: ${DEFAULT-VALUE}).")
    private String host;

    @Option(names = "--port", defaultValue = "7007", description = "Port to listen on, 0 for any free one (default: ${DEFAULT-VALUE}).")
    private int port;

    @Option(names = "--workers", paramLabel = "N", description = "Worker threads or processes (pooled rungs only).")
    private Integer workers;

    @Option(names = "--max-connections", paramLabel = "N", description = "Live connections allowed at once.")
    private Integer maxConnections;

    @Option(names = "--idle-timeout", paramLabel = "DURATION", converter = Cli.DurationConverter.class,
            description = "Close a connection silent this long (e.g. 1s, 500ms).")
    private Duration idleTimeout;

    @Option(names = "--stats", paramLabel = "DURATION", arity = "0..1", fallbackValue = "5s",
            converter = Cli.DurationConverter.class,
            description = "Print connections served per worker every DURATION (default 5s), besides on exit.")
    private Duration stats;

    @Option(names = "--work", paramLabel = "KIND:DURATION", converter = Work.Converter.class,
            description = "Work per read before echoing it: cpu:D spins on a checksum of the bytes for D, sleep:D blocks for D (e.g. cpu:100us, sleep:1ms).")
    private Work work;

    @Option(names = "--work-timeout", paramLabel = "DURATION", converter = Cli.DurationConverter.class,
            description = "Thread rungs: a watchdog closes a client whose handler has worked longer than this.")
    private Duration workTimeout;

    @Option(names = "--offload", paramLabel = "N",
            description = "Event loops: a pool of N threads does each read's --work, the loop keeps serving the others.")
    private Integer offload;

    @Option(names = "--edge-triggered", description = "epoll rung: edge-triggered (EPOLLET) instead of level-triggered.")
    private boolean edgeTriggered;

    @Option(names = "--profile", paramLabel = "FILE",
            description = "Sample where the CPU goes (async-profiler, event=cpu) until exit, then write FILE: an HTML"
                    + " flame graph (.html) or collapsed stacks (.txt, .collapsed). Process rungs: each worker writes"
                    + " its own, FILE with -PID before the extension.")
    private Path profile;

    @Option(names = "--no-startup-image", description = "Process rungs: start workers without the AOT cache (to see what it saves).")
    private boolean noStartupImage;

    public static void main(String[] args) {
        Cli.main(new ServeCommand(), args);
    }

    @Override
    public Integer call() throws Exception {
        Rung rung = Rungs.require(rungId);
        refuseWhatDoesNotApply(rung);
        if (workTimeout != null && work == null) {
            // The watchdog times the handler's --work only: alone it would be accepted and do nothing.
            throw LadderException.usage("--work-timeout limits the handler's --work; give --work too");
        }
        ServerConfig config = new ServerConfig(host, port, positive("--workers", workers),
                positive("--max-connections", maxConnections),
                idleTimeout == null ? Duration.ZERO : nonZero("--idle-timeout", idleTimeout),
                stats == null ? Duration.ZERO : nonZero("--stats", stats), edgeTriggered, !noStartupImage,
                work == null ? Work.NONE : work,
                workTimeout == null ? Duration.ZERO : nonZero("--work-timeout", workTimeout),
                positive("--offload", offload), profile == null ? null : profile.toAbsolutePath());
        if (port < 0 || port > 65535) {
            throw LadderException.usage("--port must be 0 to 65535, not " + port);
        }

        // Before the bind: a profiler that cannot load is a bad setting, refused before anything listens.
        Profiler profiler = profile == null ? null : Profiler.start(config.profile());
        EchoServer server;
        try {
            server = rung.bind(config);
        } catch (IOException e) {
            // Each API words a failed bind its own way; the user gets one line naming the address.
            if (Listeners.isListenFailure(e)) {
                throw Listeners.portTaken(config, e);
            }
            throw e;
        }
        Thread main = Thread.currentThread();
        Duration limit = profiler == null ? SHUTDOWN_LIMIT : PROFILE_SHUTDOWN_LIMIT;
        Runnable stop = () -> {
            // Runs on the JVM's signal thread: closing wakes every thread blocked on the server's sockets.
            Thread.ofPlatform().daemon().name("shutdown-limit").start(() -> exitIfStuck(limit));
            server.close();
        };
        // Before the "listening on" line: whoever reads it may signal us at once.
        Signal.handle(new Signal("TERM"), s -> stop.run());
        Interrupts.onInterrupt(stop); // also when a script started us with SIGINT ignored (see Interrupts)
        // Built once before anyone connects: at a descriptor limit, the exit line must not need a class
        // it has not loaded yet (loading one can need a descriptor).
        server.stats().lines();
        server.stats().json();
        PrintStream out = System.out;
        InetSocketAddress bound = server.localAddress();
        String lines = "listening on " + Listeners.hostPort(host, bound.getPort()) + System.lineSeparator();
        List<Long> workerPids = server.workerPids();
        if (!workerPids.isEmpty()) {
            // The process rungs' workers, started while binding: a script kills one by its PID. One write
            // with the line above, so whoever has read that one can read this one too.
            lines += "workers: " + String.join(" ", workerPids.stream().map(String::valueOf).toList())
                    + System.lineSeparator();
        }
        out.print(lines);
        out.flush();
        if (!config.statsInterval().isZero()) {
            Thread.ofPlatform().daemon().name("stats").start(() -> printStatsEvery(server, config, main));
        }

        try {
            server.serve();
        } finally {
            if (profiler != null) {
                profiler.stop();
            }
        }
        printStats(server);
        return 0;
    }

    /** The counts, for people and then as one JSON line for programs. */
    private static void printStats(EchoServer server) {
        Stats stats = server.stats();
        System.out.println(stats.lines());
        System.out.println(stats.json());
        System.out.flush();
    }

    private static void printStatsEvery(EchoServer server, ServerConfig config, Thread main) {
        // Runs beside the server; the counts are read without stopping anyone, so they may be a moment old.
        while (main.isAlive()) {
            try {
                Thread.sleep(config.statsInterval());
            } catch (InterruptedException e) {
                return;
            }
            printStats(server);
        }
    }

    private static void exitIfStuck(Duration limit) {
        try {
            Thread.sleep(limit);
        } catch (InterruptedException e) {
            return;
        }
        System.err.println("serve: shutdown took longer than " + limit.toMillis() + " ms; exiting anyway");
        System.err.flush();
        Runtime.getRuntime().halt(1);
    }

    private void refuseWhatDoesNotApply(Rung rung) {
        List<Setting> refused = new ArrayList<>();
        check(rung, Setting.WORKERS, workers != null, refused);
        check(rung, Setting.MAX_CONNECTIONS, maxConnections != null, refused);
        check(rung, Setting.IDLE_TIMEOUT, idleTimeout != null, refused);
        check(rung, Setting.STATS, stats != null, refused);
        check(rung, Setting.EDGE_TRIGGERED, edgeTriggered, refused);
        check(rung, Setting.NO_STARTUP_IMAGE, noStartupImage, refused);
        check(rung, Setting.WORK, work != null, refused);
        check(rung, Setting.WORK_TIMEOUT, workTimeout != null, refused);
        check(rung, Setting.OFFLOAD, offload != null, refused);
        if (refused.isEmpty()) {
            return;
        }
        // A refusal that is the lesson (an event loop cannot time out its own handler) says why; the
        // others name the rung's model.
        String why = refused.stream().map(Setting::whyRefused).filter(w -> !w.isEmpty()).findFirst()
                .orElse(rung.description());
        throw LadderException.usage("rung '" + rung.id() + "' does not take "
                + String.join(", ", refused.stream().map(Setting::flag).toList()) + " (" + why + ")");
    }

    private static void check(Rung rung, Setting setting, boolean given, List<Setting> refused) {
        if (given && !rung.settings().contains(setting)) {
            refused.add(setting);
        }
    }

    private static int positive(String flag, Integer value) {
        if (value == null) {
            return 0;
        }
        if (value < 1) {
            throw LadderException.usage(flag + " must be at least 1, not " + value);
        }
        return value;
    }

    private static Duration nonZero(String flag, Duration value) {
        if (value.isZero() || value.isNegative()) {
            throw LadderException.usage(flag + " must be longer than zero");
        }
        return value;
    }
}
