package io.echoladder.client;

import io.echoladder.common.Cli;
import io.echoladder.common.Interrupts;
import io.echoladder.common.LadderException;
import io.echoladder.common.Listeners;
import io.echoladder.common.Version;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ./ladder client}: drives any RFC 862 server and says what it saw. Exit 0 if every byte came back,
 * 1 if anything was lost, corrupted, refused, timed out or left unanswered (unless {@code --allow-errors}),
 * and always 1 when no message was answered at all; 2 for bad arguments.
 */
@Command(name = "client", mixinStandardHelpOptions = true, versionProvider = Version.Provider.class, sortOptions = false,
        description = {"Drive an echo server, verify every byte, measure latency honestly.",
                "Modes: persistent (closed loop on long-lived connections), churn (a fresh connection per exchange),",
                "hold (N connections held open, one message each per --interval). --rate makes any mode open loop.",
                "Ctrl-C stops measuring and prints (or with --json emits) what was measured so far, marked",
                "'interrupted after N s', and exits 130; a second Ctrl-C quits at once."},
        footerHeading = "%nExamples:%n",
        footer = {"  1. 100 connections, closed loop, 10 s, against a server on port 7007:",
                "       ./ladder client --port 7007 --connections 100",
                "  2. Open loop at 50,000 msgs/s in 1 KiB messages, as one JSON object:",
                "       ./ladder client --port 7007 -c 100 --rate 50k --size 1KiB --json",
                "  3. A fresh connection per exchange, for 30 s:",
                "       ./ladder client --port 7007 --mode churn --duration 30s",
                "  4. 5,000 connections held open, each sending one message a second:",
                "       ./ladder client --port 7007 --mode hold -c 5k --interval 1s",
                "  5. Exactly a million messages, then stop:",
                "       ./ladder client --port 7007 --messages 1M"})
public final class ClientCommand implements Callable<Integer> {

    /** Set by ./ladder when stderr is a terminal: Java cannot tell by itself. */
    static final String STDERR_IS_TERMINAL = "echoladder.stderr.tty";

    @Option(names = "--mode", defaultValue = "persistent", description = "persistent, churn or hold (default: ${DEFAULT-VALUE}).")
    private String mode;

    @Option(names = "--host", defaultValue = "127.0.0.1", description = "Server address (default: ${DEFAULT-VALUE}).")
    private String host;

    @Option(names = "--port", defaultValue = "7007", description = "Server port (default: ${DEFAULT-VALUE}).")
    private int port;

    @Option(names = {"--connections", "-c"}, defaultValue = "10", paramLabel = "N",
            description = "Connections at once; churn: exchanges at once (default: ${DEFAULT-VALUE}).")
    private int connections;

    @Option(names = "--size", defaultValue = "64", paramLabel = "BYTES", description = "Bytes per message (default: ${DEFAULT-VALUE}).")
    private int size;

    @Option(names = "--duration", paramLabel = "DURATION", converter = Cli.DurationConverter.class,
            description = "Measured time (default: 10s; with --messages, the most the run may take: 60s).")
    private Duration duration;

    @Option(names = "--messages", paramLabel = "N", description = "Stop after N messages in total, warm-up included.")
    private Long messages;

    @Option(names = "--warmup", paramLabel = "DURATION", converter = Cli.DurationConverter.class,
            description = "Traffic before the measured window, not counted (default: 1s; 0 with --messages).")
    private Duration warmup;

    @Option(names = "--threads", paramLabel = "N", description = {
            "Event-loop threads (default: half the cores, at least 1).",
            "On loopback the client shares the cores with the server; measured on 2 cores against a C epoll",
            "server, a second client thread took CPU from the server and lowered the rate by about 20%%."})
    private Integer threads;

    @Option(names = "--pipeline", defaultValue = "1", paramLabel = "K", description = "Messages in flight per connection (default: ${DEFAULT-VALUE}).")
    private int pipeline;

    @Option(names = "--rate", paramLabel = "R", description = "Open loop: R messages per second in total, latency from intended send times.")
    private Double rate;

    @Option(names = "--timeout", defaultValue = "5s", paramLabel = "DURATION", converter = Cli.DurationConverter.class,
            description = "A reply or connect slower than this is an error (default: ${DEFAULT-VALUE}).")
    private Duration timeout;

    @Option(names = "--connect-rate", paramLabel = "R", description = "New connections per second while ramping up (default: hold 2000, others all at once).")
    private Double connectRate;

    @Option(names = "--interval", paramLabel = "DURATION", converter = Cli.DurationConverter.class,
            description = "Hold mode: each connection sends one message this often (default: 1s).")
    private Duration interval;

    @Option(names = "--seed", defaultValue = "1", description = "Seed of the payloads (default: ${DEFAULT-VALUE}).")
    private long seed;

    @Option(names = "--allow-errors", description = "Exit 0 even if errors were counted (a run that answered nothing still exits 1).")
    private boolean allowErrors;

    @Option(names = "--progress", description = "Print a progress line on stderr every second (default: when stderr is a terminal).")
    private boolean progress;

    @Option(names = "--json", description = "Print one JSON object on stdout instead of the summary.")
    private boolean json;

    private final PrintStream out;
    private final PrintStream err;

    public ClientCommand() {
        this(System.out, System.err);
    }

    public ClientCommand(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    public static void main(String[] args) {
        Cli.main(new ClientCommand(), args);
    }

    @Override
    public Integer call() throws Exception {
        LoadSpec spec = spec();
        boolean showProgress = progress || Boolean.getBoolean(STDERR_IS_TERMINAL);
        LoadClient.Stop stop = new LoadClient.Stop();
        long began = System.nanoTime();
        LoadReport report;
        try (Interrupts.Registration ctrlC = Interrupts.onInterrupt(stop::now)) {
            report = LoadClient.run(spec, showProgress ? err : null, LoadClient.Window.NONE, stop);
        }
        Double interruptedAfter = stop.requested() ? (stop.at() - began) / 1e9 : null;
        if (report.connected() == 0 && report.errors().total() > 0) {
            String first = report.errors().firsts().values().iterator().next();
            err.println("client: could not connect to " + Listeners.hostPort(host, port) + ": " + first);
            if (json) {
                out.println(json(report, interruptedAfter));
            }
            return interruptedAfter != null ? Interrupts.EXIT_STATUS : 1;
        }
        if (json) {
            out.println(json(report, interruptedAfter));
        } else {
            if (interruptedAfter != null) {
                out.println(interrupted(interruptedAfter, report.durationSeconds()));
            }
            if (interruptedAfter == null || report.durationSeconds() > 0) {
                out.print(report.toText());
            }
        }
        out.flush();
        LoadReport.Unanswered unanswered = report.unanswered();
        String lost = unanswered.messages() == 0 ? "" : String.format(Locale.ROOT,
                "%,d message%s went unanswered (the reply timeout is %s); the oldest waited %s", unanswered.messages(),
                unanswered.messages() == 1 ? "" : "s", LoadReport.millis(timeout.toNanos()),
                LoadReport.millis(unanswered.oldestNanos()));
        if (interruptedAfter != null) {
            if (!lost.isEmpty()) {
                err.println("client: " + lost);
            }
            return Interrupts.EXIT_STATUS; // what was measured is printed; a cut run neither passes nor fails
        }
        if (report.messages() == 0) {
            err.println("client: " + nothingAnswered(report.durationSeconds(), spec.duration())
                    + (lost.isEmpty() ? "" : ": " + lost));
            return 1; // whatever --allow-errors says: a run that measured nothing did not pass
        }
        if (!lost.isEmpty()) {
            err.println("client: " + lost);
        }
        return report.failed() && !allowErrors ? 1 : 0;
    }

    /**
     * The first line of a run cut short by Ctrl-C: {@code interrupted after 2.6 s: the figures cover the
     * 1.60 s measured before it}, or that the warm-up was all there was.
     */
    static String interrupted(double afterSeconds, double measuredSeconds) {
        return measuredSeconds > 0
                ? String.format(Locale.ROOT, "interrupted after %.1f s: the figures cover the %.2f s measured before it",
                        afterSeconds, measuredSeconds)
                : String.format(Locale.ROOT, "interrupted after %.1f s, before the measured window: nothing was measured",
                        afterSeconds);
    }

    /**
     * Why a run answered nothing, over the time it actually ran: {@code no message was answered in the 3.0 s
     * window}, or, when every connection failed before the window's planned end, how long it lasted.
     */
    static String nothingAnswered(double measuredSeconds, Duration asked) {
        long ran = Math.round(measuredSeconds * 1e9);
        if (ran <= 0) {
            return "no message was answered: every connection had failed before the measured window began";
        }
        return "no message was answered in the " + LoadReport.millis(ran) + " window"
                + (ran < asked.toNanos() ? " (of " + LoadReport.millis(asked.toNanos())
                + " asked for: it ended when every connection had failed)" : "");
    }

    /** The report's JSON with {@code interrupted_after_s} in front: seconds from the start, or null for a whole run. */
    static String json(LoadReport report, Double interruptedAfter) {
        String json = report.toJson();
        return "{\"interrupted_after_s\":" + (interruptedAfter == null ? "null"
                : String.format(Locale.ROOT, "%.3f", interruptedAfter)) + "," + json.substring(1);
    }

    /** The default of {@code --threads}: half the cores, so that a server on the same machine keeps the rest. */
    static int defaultThreads() {
        return Math.max(1, Runtime.getRuntime().availableProcessors() / 2);
    }

    /** The run described by the options, or a usage error naming the bad one. */
    LoadSpec spec() {
        LoadSpec.Mode m = switch (mode) {
            case "persistent" -> LoadSpec.Mode.PERSISTENT;
            case "churn" -> LoadSpec.Mode.CHURN;
            case "hold" -> LoadSpec.Mode.HOLD;
            default -> throw LadderException.usage("--mode must be persistent, churn or hold, not '" + mode + "'"
                    + Cli.didYouMean(mode, List.of("persistent", "churn", "hold")).map(near -> " (did you mean '" + near + "'?)")
                    .orElse(""));
        };
        require(port >= 1 && port <= 65535, "--port must be 1 to 65535, not " + port);
        require(connections >= 1, "--connections must be at least 1, not " + connections);
        long fdLimit = descriptorLimit();
        require(connections + 64 <= fdLimit, "--connections " + connections
                + " needs more descriptors than this process may open (" + fdLimit + ")");
        require(size >= 1 && size <= (64 << 20), "--size must be 1 B to 64 MiB, not " + size);
        require(pipeline >= 1 && pipeline <= 1024, "--pipeline must be 1 to 1024, not " + pipeline);
        require(m != LoadSpec.Mode.CHURN || pipeline == 1, "--pipeline does not apply to churn (one exchange per connection)");
        require(messages == null || messages >= 1, "--messages must be at least 1");
        require(rate == null || rate > 0 && Double.isFinite(rate), "--rate must be more than 0");
        if (rate != null && !LoadSpec.schedulable(rate, connections)) {
            throw LadderException.usage(LoadSpec.unschedulable(rate, connections));
        }
        require(connectRate == null || connectRate > 0 && Double.isFinite(connectRate), "--connect-rate must be more than 0");
        require(interval == null || m == LoadSpec.Mode.HOLD, "--interval applies to --mode hold only");
        require(interval == null || rate == null, "give --interval or --rate, not both");
        require(interval == null || interval.toNanos() > 0, "--interval must be longer than zero");
        require(interval == null || interval.toNanos() >= LoadSpec.MIN_PERIOD_NANOS, "--interval must be at least 1us: "
                + "the client spaces a connection's messages no closer");
        require(!timeout.isNegative() && !timeout.isZero(), "--timeout must be longer than zero");
        int t = threads == null ? defaultThreads() : threads;
        require(t >= 1 && t <= 256, "--threads must be 1 to 256, not " + t);
        Duration d = duration != null ? duration : messages != null ? Duration.ofSeconds(60) : Duration.ofSeconds(10);
        require(d.toNanos() > 0, "--duration must be longer than zero");
        Duration w = warmup != null ? warmup : messages != null ? Duration.ZERO : Duration.ofSeconds(1);
        require(!w.isNegative(), "--warmup must not be negative");
        InetSocketAddress address = new InetSocketAddress(host, port);
        require(!address.isUnresolved(), "cannot resolve host '" + host + "'");
        double cr = connectRate != null ? connectRate : m == LoadSpec.Mode.HOLD ? 2000 : 0;
        return new LoadSpec(m, address, connections, size, d, messages == null ? 0 : messages, w,
                Math.min(t, connections), pipeline, rate == null ? 0 : rate, timeout, cr,
                interval == null ? Duration.ofSeconds(1) : interval, seed);
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw LadderException.usage(message);
        }
    }

    private static long descriptorLimit() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.UnixOperatingSystemMXBean unix) {
            return unix.getMaxFileDescriptorCount();
        }
        return Long.MAX_VALUE;
    }
}
