package io.echoladder.client;

import io.echoladder.common.Cli;
import io.echoladder.common.Interrupts;
import io.echoladder.common.LadderException;
import io.echoladder.common.Listeners;
import io.echoladder.common.Rungs;
import io.echoladder.common.Version;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code ./ladder soak RUNG} (or {@code --host H --port P}): many connections held for a long time, each
 * echoing one verified random message per interval, while the server's process tree is sampled; then a
 * verdict. Exit 1 if anything was lost, unanswered or wrong, or if the server's RSS grew by more than a
 * quarter between the start and the end of the measured window (a leak).
 */
@Command(name = "soak", mixinStandardHelpOptions = true, versionProvider = Version.Provider.class, sortOptions = false,
        description = {"Hold many connections for a long time, each echoing one verified message per interval, and judge.",
                "Exit 1 on any lost, unanswered or wrong message, or if the server's RSS grew by more than 25%%.",
                "Ctrl-C stops measuring and prints the verdict of what was measured so far, marked",
                "'interrupted after N s', and exits 130; a second Ctrl-C quits at once."},
        footerHeading = "%nExamples:%n",
        footer = {"  1. Start the epoll rung and hold 10,000 connections on it for 10 minutes:",
                "       ./ladder soak epoll",
                "  2. 2,000 connections for 2 minutes, each sending 1 KiB every 500 ms:",
                "       ./ladder soak poll -c 2k --duration 2m --interval 500ms --size 1KiB",
                "  3. A server started apart (any will do), sampled too ($! is its PID):",
                "       ./ladder serve epoll --port 7007 &",
                "       ./ladder soak --port 7007 --pid $! --connections 1k --duration 1m"})
public final class SoakCommand implements Callable<Integer> {

    /** How often the server's process tree is sampled (RSS, threads, descriptors). */
    static final Duration SAMPLE_EVERY = Duration.ofSeconds(10);

    /** The end of the window may exceed its start by this fraction of RSS before it counts as a leak. */
    static final double LEAK_FRACTION = 0.25;

    @Parameters(paramLabel = "RUNG", arity = "0..1", description = "Rung to start and soak (./ladder list); or give --port.")
    private String rung;

    @Option(names = "--host", defaultValue = "127.0.0.1", description = "Server address, with --port (default: ${DEFAULT-VALUE}).")
    private String host;

    @Option(names = "--port", description = "Soak a server already running on this port instead of starting a rung.")
    private Integer port;

    @Option(names = "--pid", description = "With --port: the server's process, so its tree's RSS, threads and fds are sampled.")
    private Long pid;

    @Option(names = {"--connections", "-c"}, defaultValue = "10000", paramLabel = "N", description = "Connections held (default: ${DEFAULT-VALUE}).")
    private int connections;

    @Option(names = "--duration", defaultValue = "10m", paramLabel = "DURATION", converter = Cli.DurationConverter.class,
            description = "Measured time, once every connection is open and a settling period has passed (default: ${DEFAULT-VALUE}).")
    private Duration duration;

    @Option(names = "--interval", defaultValue = "1s", paramLabel = "DURATION", converter = Cli.DurationConverter.class,
            description = "Each connection sends one message this often (default: ${DEFAULT-VALUE}).")
    private Duration interval;

    @Option(names = "--size", defaultValue = "64", paramLabel = "BYTES", description = "Bytes per message (default: ${DEFAULT-VALUE}).")
    private int size;

    @Option(names = "--timeout", defaultValue = "5s", paramLabel = "DURATION", converter = Cli.DurationConverter.class,
            description = "A reply slower than this is unanswered (default: ${DEFAULT-VALUE}).")
    private Duration timeout;

    private final PrintStream out;
    private final PrintStream err;

    public SoakCommand() {
        this(System.out, System.err);
    }

    public SoakCommand(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    public static void main(String[] args) {
        Cli.main(new SoakCommand(), args);
    }

    @Override
    public Integer call() throws Exception {
        if ((rung == null) == (port == null)) {
            throw LadderException.usage("name a RUNG to start, or give --port of a server already running (not both)");
        }
        if (rung != null && pid != null) {
            throw LadderException.usage("--pid goes with --port; a rung started by soak is sampled anyway");
        }
        if (rung != null) {
            Rungs.require(rung);
        }
        if (port != null && (port < 1 || port > 65535)) {
            throw LadderException.usage("--port must be 1 to 65535, not " + port);
        }
        if (connections < 1 || size < 1) {
            throw LadderException.usage("--connections and --size must be at least 1");
        }
        for (Duration d : List.of(duration, interval, timeout)) {
            if (d.isZero() || d.isNegative()) {
                throw LadderException.usage("--duration, --interval and --timeout must be longer than zero");
            }
        }
        if (rung == null) {
            InetSocketAddress address = new InetSocketAddress(host, port);
            if (address.isUnresolved()) {
                throw LadderException.usage("cannot resolve host '" + host + "'");
            }
            if (pid != null && ProcessHandle.of(pid).isEmpty()) {
                throw LadderException.usage("no process " + pid);
            }
            return soak(address, pid);
        }
        try (RungProcess server = RungProcess.start(rung, List.of())) {
            return soak(server.address(), server.pid());
        }
    }

    private int soak(InetSocketAddress address, Long serverPid) throws Exception {
        // Settling: after the last connect, one sampling period of traffic before the window opens, so the
        // RSS at its start is the server holding every connection, not the server still taking them.
        LoadSpec spec = new LoadSpec(LoadSpec.Mode.HOLD, address, connections, size, duration, 0, SAMPLE_EVERY,
                Math.max(1, Runtime.getRuntime().availableProcessors() / 2), 1, 0, timeout, 2000, interval, 1);
        out.printf(Locale.ROOT, "soak %s: %,d connections, one %d B message each per %s, %s measured%s%n",
                Listeners.hostPort(address.getHostString(), address.getPort()), connections, size, human(interval),
                human(duration), serverPid == null ? " (server not sampled: give --pid)" : ", server pid " + serverPid);
        out.flush();
        LastLine clientProgress = new LastLine();
        LoadClient.Stop stop = new LoadClient.Stop();
        long began = System.nanoTime();
        try (Sampler sampler = new Sampler(serverPid, clientProgress, err);
             Interrupts.Registration ctrlC = Interrupts.onInterrupt(stop::now)) {
            LoadReport report = LoadClient.run(spec, clientProgress.stream(), sampler, stop);
            Verdict verdict = new Verdict(connections, report, sampler.atOpen, sampler.peak, sampler.atClose);
            if (stop.requested()) {
                out.println(interrupted((stop.at() - began) / 1e9, report.durationSeconds()));
                if (report.durationSeconds() > 0) {
                    out.print(verdict.text());
                }
                out.flush();
                return Interrupts.EXIT_STATUS;
            }
            out.print(verdict.text());
            out.flush();
            return verdict.failed() ? 1 : 0;
        }
    }

    /** The line before the verdict of a soak cut short by Ctrl-C. */
    static String interrupted(double afterSeconds, double measuredSeconds) {
        return measuredSeconds > 0
                ? String.format(Locale.ROOT, "interrupted after %.1f s: the verdict covers the %.0f s measured before it",
                        afterSeconds, measuredSeconds)
                : String.format(Locale.ROOT, "interrupted after %.1f s, before the measured window opened (%s after the "
                        + "last connect): nothing was judged", afterSeconds, human(SAMPLE_EVERY));
    }

    /** 10m, 1s, 250ms: a duration as it would be typed. */
    static String human(Duration d) {
        if (d.toMillis() % 60_000 == 0) {
            return d.toMinutes() + "m";
        }
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + "s" : d.toMillis() + "ms";
    }

    /** The load client's progress lines, of which the sampler shows the latest. */
    private static final class LastLine extends ByteArrayOutputStream {
        private final PrintStream stream = new PrintStream(this, true, StandardCharsets.UTF_8);

        PrintStream stream() {
            return stream;
        }

        synchronized String last() {
            String[] lines = toString(StandardCharsets.UTF_8).split("\n");
            reset();
            return lines.length == 0 || lines[lines.length - 1].isBlank() ? "" : lines[lines.length - 1].strip();
        }
    }

    /** Samples the server's tree every {@link #SAMPLE_EVERY} and prints the progress line; keeps the RSS the verdict needs. */
    private static final class Sampler implements LoadClient.Window, AutoCloseable {
        private final Long pid;
        private final LastLine client;
        private final PrintStream err;
        private final Thread thread;
        volatile long atOpen = -1;
        volatile long atClose = -1;
        volatile long peak = -1;

        Sampler(Long pid, LastLine client, PrintStream err) {
            this.pid = pid;
            this.client = client;
            this.err = err;
            this.thread = Thread.ofPlatform().daemon().name("soak-sampler").start(this::run);
        }

        private void run() {
            while (true) {
                try {
                    Thread.sleep(SAMPLE_EVERY);
                } catch (InterruptedException e) {
                    return;
                }
                String server = "";
                if (pid != null) {
                    long rss = rss();
                    List<ProcessHandle> tree = Proc.tree(pid);
                    server = String.format(Locale.ROOT, "  server RSS %d MiB, %d threads, %d fds", rss >> 20,
                            tree.stream().mapToLong(p -> Proc.threads(p.pid())).sum(),
                            tree.stream().mapToLong(p -> Proc.openFds(p.pid())).sum());
                }
                err.println(client.last() + server); // the client's line starts with the time
                err.flush();
            }
        }

        /** RSS of the server's whole tree now; the peak is kept. -1 when not sampled. */
        private long rss() {
            if (pid == null) {
                return -1;
            }
            long rss = Proc.tree(pid).stream().mapToLong(p -> Math.max(0, Proc.rssBytes(p.pid()))).sum();
            peak = Math.max(peak, rss);
            return rss;
        }

        @Override
        public void opened() {
            atOpen = rss();
        }

        @Override
        public void closed() {
            atClose = rss();
        }

        @Override
        public void close() {
            thread.interrupt();
        }
    }

    /**
     * The soak's verdict. RSS figures are bytes, -1 when the server was not sampled (then only the echo is
     * judged).
     */
    record Verdict(int connections, LoadReport report, long rssAtStart, long rssPeak, long rssAtEnd) {

        long lost() {
            return report.errors().total() - report.errors().count(Errors.Kind.MISMATCH) + report.unanswered().messages();
        }

        boolean leaked() {
            return rssAtStart > 0 && rssAtEnd > rssAtStart * (1 + LEAK_FRACTION);
        }

        boolean failed() {
            return report.connected() < connections || report.errors().total() > 0
                    || report.unanswered().messages() > 0 || leaked();
        }

        String text() {
            StringBuilder s = new StringBuilder();
            s.append(String.format(Locale.ROOT, "connections  %,d of %,d held%n", report.connected(), connections));
            s.append(String.format(Locale.ROOT, "messages     %,d in %.0f s, %,d bytes verified%n", report.messages(),
                    report.durationSeconds(), report.messages() * report.spec().size()));
            s.append(String.format(Locale.ROOT, "mismatches   %,d%n", report.errors().count(Errors.Kind.MISMATCH)));
            s.append(String.format(Locale.ROOT, "lost         %,d (unanswered %,d; reset %d, eof %d, timeout %d, refused %d)%n",
                    lost(), report.unanswered().messages(), report.errors().count(Errors.Kind.RESET),
                    report.errors().count(Errors.Kind.EOF), report.errors().count(Errors.Kind.TIMEOUT),
                    report.errors().count(Errors.Kind.REFUSED)));
            report.errors().firsts().forEach((kind, first) -> s.append("  first ").append(kind.id()).append(": ")
                    .append(first).append('\n'));
            s.append(rssAtStart < 0 ? "server RSS   not sampled\n" : String.format(Locale.ROOT,
                    "server RSS   %d MiB at start, %d MiB peak, %d MiB at end%s%n", rssAtStart >> 20, rssPeak >> 20,
                    rssAtEnd >> 20, leaked() ? " (more than " + (int) (LEAK_FRACTION * 100) + "% growth: a leak)" : ""));
            s.append(failed() ? "FAILED\n" : "PASSED\n");
            return s.toString();
        }
    }
}
