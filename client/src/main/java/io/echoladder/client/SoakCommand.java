package io.echoladder.client;

import io.echoladder.common.Cli;
import io.echoladder.common.Interrupts;
import io.echoladder.common.Jvm;
import io.echoladder.common.LadderException;
import io.echoladder.common.Listeners;
import io.echoladder.common.Rungs;
import io.echoladder.common.Version;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code ./ladder soak RUNG} (or {@code --host H --port P}): many connections held for a long time, each
 * echoing one verified random message per interval, while the server's process tree is sampled; then a
 * verdict. Exit 1 if anything was lost, unanswered or wrong, or if the server's RSS was still growing in
 * the second half of the measured window (a leak, see {@link Trend}).
 *
 * <p>A JVM's RSS also grows, for minutes, without any leak: its heap is committed at start but a page
 * counts only once first written, so a server that makes garbage grows as its young generation cycles
 * through heap it had never touched, and then stops. So a rung that soak starts gets its heap touched up
 * front ({@link Jvm#PRE_TOUCH}, also in the process rungs' workers), and the verdict reads the slope of the
 * second half, not the end against the start.
 */
@Command(name = "soak", mixinStandardHelpOptions = true, versionProvider = Version.Provider.class, sortOptions = false,
        description = {"Hold many connections for a long time, each echoing one verified message per",
                "interval, and judge. Exit 1 on any lost, unanswered or wrong message, or if the",
                "server's RSS still grew over the second half of the window (a least-squares",
                "slope above 2 MiB per minute, and more than 4 MiB in all). A rung it starts runs",
                "with its heap touched up front (-XX:+AlwaysPreTouch), so that growth is not the",
                "heap filling out. Ctrl-C stops measuring and prints the verdict of what was",
                "measured so far, marked 'interrupted after N s', and exits 130; a second Ctrl-C",
                "quits at once."},
        footerHeading = "%nExamples:%n",
        footer = {"  1. Start the epoll rung and hold 10,000 connections on it for 10 minutes:",
                "       ./ladder soak epoll",
                "  2. 2,000 connections for 2 minutes, each sending 1 KiB every 500 ms:",
                "       ./ladder soak poll -c 2k --duration 2m --interval 500ms --size 1KiB",
                "  3. A server started apart (any will do), sampled too ($! is its PID):",
                "       ./ladder serve epoll --port 7007 &",
                "       ./ladder soak --port 7007 --pid $! --connections 1k --duration 1m"})
public final class SoakCommand implements Callable<Integer> {

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

    @Option(names = "--sample-every", defaultValue = "10s", paramLabel = "DURATION", converter = Cli.DurationConverter.class,
            description = "Sample the server's RSS, threads and fds this often; also the settling time before the window "
                    + "(default: ${DEFAULT-VALUE}).")
    private Duration sampleEvery;

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
        for (Duration d : List.of(duration, interval, timeout, sampleEvery)) {
            if (d.isZero() || d.isNegative()) {
                throw LadderException.usage("--duration, --interval, --timeout and --sample-every must be longer than zero");
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
            return soak(address, pid, false);
        }
        try (RungProcess server = RungProcess.start(rung, List.of(Jvm.PRE_TOUCH), List.of())) {
            return soak(server.address(), server.pid(), true);
        }
    }

    private int soak(InetSocketAddress address, Long serverPid, boolean preTouched) throws Exception {
        // Settling: after the last connect, one sampling period of traffic before the window opens, so the
        // RSS at its start is the server holding every connection, not the server still taking them.
        LoadSpec spec = new LoadSpec(LoadSpec.Mode.HOLD, address, connections, size, duration, 0, sampleEvery,
                Math.max(1, Runtime.getRuntime().availableProcessors() / 2), 1, 0, timeout, 2000, interval, 1);
        out.printf(Locale.ROOT, "soak %s: %,d connections, one %d B message each per %s, %s measured%s%n",
                Listeners.hostPort(address.getHostString(), address.getPort()), connections, size, human(interval),
                human(duration), serverPid == null ? " (server not sampled: give --pid)"
                        : ", server pid " + serverPid + (preTouched ? " (started with its heap touched up front)" : ""));
        out.flush();
        LastLine clientProgress = new LastLine();
        LoadClient.Stop stop = new LoadClient.Stop();
        long began = System.nanoTime();
        try (Sampler sampler = new Sampler(serverPid, sampleEvery, clientProgress, err);
             Interrupts.Registration ctrlC = Interrupts.onInterrupt(stop::now)) {
            LoadReport report = LoadClient.run(spec, clientProgress.stream(), sampler, stop);
            Verdict verdict = new Verdict(connections, report, sampler.window(), preTouched);
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
    String interrupted(double afterSeconds, double measuredSeconds) {
        return measuredSeconds > 0
                ? String.format(Locale.ROOT, "interrupted after %.1f s: the verdict covers the %.0f s measured before it",
                        afterSeconds, measuredSeconds)
                : String.format(Locale.ROOT, "interrupted after %.1f s, before the measured window opened (%s after the "
                        + "last connect): nothing was judged", afterSeconds, human(sampleEvery));
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

    /**
     * Samples the server's tree every {@code --sample-every} and prints the progress line; keeps the RSS
     * samples of the measured window, its edges included, for the verdict.
     */
    private static final class Sampler implements LoadClient.Window, AutoCloseable {
        private final Long pid;
        private final Duration every;
        private final LastLine client;
        private final PrintStream err;
        private final Thread thread;
        private final List<Sample> window = new ArrayList<>();
        private boolean open;

        Sampler(Long pid, Duration every, LastLine client, PrintStream err) {
            this.pid = pid;
            this.every = every;
            this.client = client;
            this.err = err;
            this.thread = Thread.ofPlatform().daemon().name("soak-sampler").start(this::run);
        }

        private void run() {
            while (true) {
                try {
                    Thread.sleep(every);
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

        /** RSS of the server's whole tree now, kept as a sample while the window is open. -1 when not sampled. */
        private synchronized long rss() {
            if (pid == null) {
                return -1;
            }
            long rss = Proc.tree(pid).stream().mapToLong(p -> Math.max(0, Proc.rssBytes(p.pid()))).sum();
            if (open) {
                window.add(new Sample(System.nanoTime(), rss));
            }
            return rss;
        }

        @Override
        public synchronized void opened() {
            open = true;
            rss();
        }

        @Override
        public synchronized void closed() {
            rss();
            open = false;
        }

        /** The samples of the window, in order; empty when the server was not sampled. */
        synchronized List<Sample> window() {
            return List.copyOf(window);
        }

        @Override
        public void close() {
            thread.interrupt();
        }
    }

    /** The RSS of the server's process tree, in bytes, at a {@link System#nanoTime()}. */
    record Sample(long nanos, long rss) {
    }

    /**
     * How the server's RSS moved over the second half of the window: the slope of a least-squares line
     * through the samples taken in it, in MiB per minute. The first half is left out on purpose: a
     * server still filling out what it had reserved (a heap not touched up front, a code cache, malloc
     * arenas) grows there and then levels off; a leak grows for as long as the messages come.
     *
     * <p>Growth is a leak when the slope is above {@link #LIMIT_MIB_PER_MINUTE} and the line rises by more
     * than {@link #NOISE_MIB} over the half. The slope: at the default load (10,000 connections, one
     * message a second each: 600,000 messages a minute) keeping the smallest Java object (16 bytes) of
     * each message grows by 9 MiB a minute, and a slope of 2 MiB a minute, 2.8 GiB a day, is a server
     * that dies of it within days; the healthy soaks measured flat (README.md, Reliability). The rise: in
     * a short window a few MiB come and go without any leak (a JIT compilation's arena, a thread's
     * stack, a malloc arena), and 2 MiB a minute over a one-minute half would be one of those.
     *
     * @param samples      samples in the second half
     * @param mibPerMinute the slope
     * @param minutes      the time the second half's samples span
     */
    record Trend(int samples, double mibPerMinute, double minutes) {

        /** Above this slope, growth in the second half is a leak (if it also rises more than {@link #NOISE_MIB}). */
        static final double LIMIT_MIB_PER_MINUTE = 2;

        /** A rise over the second half up to this is noise, whatever the slope. */
        static final double NOISE_MIB = 4;

        /** Fewer samples than this in the second half cannot make a trend: the verdict then says so. */
        static final int MIN_SAMPLES = 3;

        /** The trend of the second half of {@code window} (samples in time order). */
        static Trend secondHalf(List<Sample> window) {
            if (window.isEmpty()) {
                return new Trend(0, 0, 0);
            }
            long first = window.getFirst().nanos();
            long middle = first + (window.getLast().nanos() - first) / 2;
            List<Sample> half = window.stream().filter(sample -> sample.nanos() >= middle).toList();
            double n = half.size();
            double meanT = half.stream().mapToDouble(Trend::minutes).sum() / n;
            double meanR = half.stream().mapToDouble(Trend::mib).sum() / n;
            double covariance = 0;
            double variance = 0;
            for (Sample sample : half) {
                covariance += (minutes(sample) - meanT) * (mib(sample) - meanR);
                variance += (minutes(sample) - meanT) * (minutes(sample) - meanT);
            }
            double span = minutes(half.getLast()) - minutes(half.getFirst());
            return new Trend(half.size(), variance > 0 ? covariance / variance : 0, span);
        }

        private static double minutes(Sample sample) {
            return sample.nanos() / 60e9;
        }

        private static double mib(Sample sample) {
            return sample.rss() / (double) (1 << 20);
        }

        boolean judged() {
            return samples >= MIN_SAMPLES && minutes > 0;
        }

        /** MiB the fitted line rises by over the second half. */
        double riseMib() {
            return mibPerMinute * minutes;
        }

        boolean growing() {
            return judged() && mibPerMinute > LIMIT_MIB_PER_MINUTE && riseMib() > NOISE_MIB;
        }
    }

    /**
     * The soak's verdict. {@code window} holds the RSS samples of the measured window (empty when the
     * server was not sampled: then only the echo is judged); {@code preTouched} says the server was
     * started by soak with its heap touched up front, so RSS growth in it is memory newly taken.
     */
    record Verdict(int connections, LoadReport report, List<Sample> window, boolean preTouched) {

        long lost() {
            return report.errors().total() - report.errors().count(Errors.Kind.MISMATCH) + report.unanswered().messages();
        }

        Trend trend() {
            return Trend.secondHalf(window);
        }

        boolean leaked() {
            return trend().growing();
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
            s.append(rssText());
            s.append(failed() ? "FAILED\n" : "PASSED\n");
            return s.toString();
        }

        private String rssText() {
            if (window.isEmpty()) {
                return "server RSS   not sampled\n";
            }
            long peak = window.stream().mapToLong(Sample::rss).max().orElseThrow();
            StringBuilder s = new StringBuilder(String.format(Locale.ROOT,
                    "server RSS   %d MiB at start, %d MiB peak, %d MiB at end%s%n", window.getFirst().rss() >> 20,
                    peak >> 20, window.getLast().rss() >> 20, preTouched ? " (heap touched up front)" : ""));
            Trend trend = trend();
            if (!trend.judged()) {
                s.append(String.format(Locale.ROOT, "RSS trend    not judged: %d samples in the second half, %d needed "
                        + "(a longer --duration or a shorter --sample-every)%n", trend.samples(), Trend.MIN_SAMPLES));
                return s.toString();
            }
            String span = trend.minutes() >= 1 ? String.format(Locale.ROOT, "%.1f min", trend.minutes())
                    : String.format(Locale.ROOT, "%.1f s", trend.minutes() * 60);
            s.append(String.format(Locale.ROOT, "RSS trend    %+.1f MiB/min over the second half (least squares through %d "
                            + "samples in %s: %+.1f MiB): %s%n", trend.mibPerMinute(), trend.samples(), span,
                    trend.riseMib(), !trend.growing() ? "no leak (a leak grows more than "
                            + (int) Trend.LIMIT_MIB_PER_MINUTE + " MiB/min and " + (int) Trend.NOISE_MIB + " MiB in all)"
                            : preTouched ? "still growing: a leak"
                            : "still growing: a leak, or memory reserved earlier being touched for the first time"));
            if (!preTouched) {
                s.append("note         RSS alone cannot tell a leak from a server touching memory it had reserved (a JVM "
                        + "filling out its heap), nor see a leak inside memory already touched; soak RUNG starts a rung "
                        + "with its heap touched up front\n");
            }
            return s.toString();
        }
    }
}
