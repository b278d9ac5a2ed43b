package io.echoladder.bench;

import io.echoladder.client.LoadReport;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.function.ToDoubleFunction;

/**
 * Writes a bench run: results.json (every number), report.md (tables and sentences drawn from the data)
 * and PNG charts ({@link Charts}).
 *
 * <p>Everywhere, a point where the rung left clients unanswered is marked as such and can never read as
 * faster than one where every client was answered: its throughput cell leads with {@code ✗ N unanswered}
 * and it is drawn at the floor of the throughput chart; a latency percentile that falls among unanswered
 * messages reads {@code ≥ ceiling} and is drawn at the ceiling.
 */
final class BenchReport {

    /** Where the run happened. */
    record Machine(int cores, long memoryBytes, String cpu, String kernel, String jdk) {

        static Machine current() {
            String cpu = read("/proc/cpuinfo").lines().filter(l -> l.startsWith("model name"))
                    .map(l -> l.substring(l.indexOf(':') + 1).strip()).findFirst().orElse("unknown");
            long memory = read("/proc/meminfo").lines().filter(l -> l.startsWith("MemTotal:"))
                    .map(l -> Long.parseLong(l.replaceAll("\\D", "")) * 1024).findFirst().orElse(-1L);
            return new Machine(Runtime.getRuntime().availableProcessors(), memory, cpu,
                    read("/proc/sys/kernel/osrelease").strip(),
                    System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"));
        }

        String words() {
            return String.format(Locale.ROOT, "%d cores (%s), %.0f GiB, Linux %s, %s", cores, cpu,
                    memoryBytes / (double) (1L << 30), kernel, jdk);
        }

        private static String read(String path) {
            try {
                return Files.readString(Path.of(path));
            } catch (IOException e) {
                return "";
            }
        }
    }

    /**
     * A run cut short by Ctrl-C.
     *
     * @param afterSeconds from the first point's start to the stop
     * @param during       the progress label of the point that was under way and dropped, or null if it
     *                     stopped between points (a server starting, warming up or stopping)
     * @param lastFinished the label of the last point that finished, or null if none had
     * @param finished     points recorded (those that finished)
     * @param planned      points the plan had
     */
    record Interruption(double afterSeconds, String during, String lastFinished, int finished, int planned) {
        String words() {
            String where = during != null ? " during " + during
                    : lastFinished != null ? " between points, after " + lastFinished : " before the first point";
            return String.format(Locale.ROOT, "interrupted after %.1f s%s: %d of %d points finished", afterSeconds,
                    where, finished, planned);
        }
    }

    private final Bench.Plan plan;
    private final List<Point> points;
    private final Machine machine;
    private final ZonedDateTime when;
    private final String command;
    private final String version;
    private final Interruption interruption;

    /**
     * @param version      {@code ladder VERSION (git COMMIT)}, as {@code --version} prints it
     * @param interruption where Ctrl-C stopped the run, or null for a run that finished
     */
    BenchReport(Bench.Plan plan, List<Point> points, Machine machine, ZonedDateTime when, String command,
                String version, Interruption interruption) {
        this.plan = plan;
        this.points = points;
        this.machine = machine;
        this.when = when;
        this.command = command;
        this.version = version;
        this.interruption = interruption;
    }

    void write(Path dir) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("results.json"), json());
        Files.writeString(dir.resolve("report.md"), markdown());
        charts(dir);
    }

    // ---------------------------------------------------------------- JSON

    String json() {
        StringBuilder out = new StringBuilder("{\n");
        out.append("  \"date\": ").append(quote(when.toString())).append(",\n");
        out.append("  \"command\": ").append(quote(command)).append(",\n");
        out.append("  \"version\": ").append(quote(version)).append(",\n");
        out.append("  \"interrupted\": ").append(interruption == null ? "null" : String.format(Locale.ROOT,
                "{\"after_s\": %s, \"during\": %s, \"last_finished\": %s, \"points_finished\": %d, "
                        + "\"points_planned\": %d}",
                num(interruption.afterSeconds()), interruption.during() == null ? "null" : quote(interruption.during()),
                interruption.lastFinished() == null ? "null" : quote(interruption.lastFinished()),
                interruption.finished(), interruption.planned())).append(",\n");
        out.append(String.format(Locale.ROOT,
                "  \"machine\": {\"cores\": %d, \"memory_bytes\": %d, \"cpu\": %s, \"kernel\": %s, \"jdk\": %s},%n",
                machine.cores(), machine.memoryBytes(), quote(machine.cpu()), quote(machine.kernel()), quote(machine.jdk())));
        out.append(String.format(Locale.ROOT,
                "  \"plan\": {\"size\": %d, \"warmup_s\": %s, \"duration_s\": %s, \"reply_timeout_s\": %s, \"client_threads\": %d},%n",
                plan.size(), num(plan.warmup().toMillis() / 1000.0), num(plan.duration().toMillis() / 1000.0),
                num(plan.replyTimeout().toMillis() / 1000.0), plan.clientThreads()));
        out.append("  \"points\": [\n");
        for (int i = 0; i < points.size(); i++) {
            Point p = points.get(i);
            Point.Server s = p.server();
            out.append(String.format(Locale.ROOT,
                    "    {\"scenario\": %s, \"rung\": %s, \"connections\": %d, \"idle\": %d, \"work\": %s, \"rate\": %s, \"load\": %s, "
                            + "\"round\": %s, "
                            + "\"left_clients_unanswered\": %s, \"server\": {\"cpu_s\": %s, \"cpu_us_per_msg\": %s, "
                            + "\"cores\": %s, \"peak_rss_bytes\": %d, \"threads\": %d, \"processes\": %d, \"fds\": %d, "
                            + "\"syscalls\": %s, \"syscalls_per_msg\": %s, \"context_switches\": %s, "
                            + "\"context_switches_per_msg\": %s, \"counters_note\": %s, \"served_per_worker\": %s, "
                            + "\"accept_share\": %s, \"accept_jain\": %s}, "
                            + "\"client\": %s, \"note\": %s}%s%n",
                    quote(p.scenario()), quote(p.rung()), p.connections(), p.idle(),
                    p.work() == null ? "null" : quote(p.work()), p.rate() > 0 ? num(p.rate()) : "null",
                    p.load() > 0 ? num(p.load()) : "null", p.round() > 0 ? Integer.toString(p.round()) : "null",
                    p.leftClientsUnanswered(),
                    s.cpuNanos() >= 0 ? num(s.cpuNanos() / 1e9) : "null", orNull(p.serverCpuMicrosPerMessage()),
                    orNull(p.serverCores()), s.peakRss(), s.threads(), s.processes(), s.fds(),
                    s.syscalls() >= 0 ? Long.toString(s.syscalls()) : "null", orNull(p.syscallsPerMessage()),
                    s.contextSwitches() >= 0 ? Long.toString(s.contextSwitches()) : "null", orNull(p.switchesPerMessage()),
                    s.countersNote() == null ? "null" : quote(s.countersNote()),
                    p.servedPerWorker() == null ? "null" : quote(p.servedPerWorker()), acceptShareJson(p),
                    Double.isNaN(p.acceptJain()) ? "null" : num(p.acceptJain()),
                    p.ran() ? p.report().toJson() : "null",
                    p.note() == null ? "null" : quote(p.note()), i + 1 < points.size() ? "," : ""));
        }
        return out.append("  ]\n}\n").toString();
    }

    /** {@code {"worker-0": 0.51, "worker-1": 0.49}}: each worker's share of the connections served; null without two. */
    private static String acceptShareJson(Point p) {
        Map<String, Double> shares = acceptShares(p);
        if (shares.isEmpty()) {
            return "null";
        }
        StringBuilder json = new StringBuilder("{");
        shares.forEach((worker, share) -> json.append(json.length() > 1 ? ", " : "").append(quote(worker)).append(": ")
                .append(num(share)));
        return json.append('}').toString();
    }

    /** Each worker's share of the connections the point's server accepted, where it has two workers or more. */
    private static Map<String, Double> acceptShares(Point p) {
        long total = p.servedByWorker().values().stream().mapToLong(Long::longValue).sum();
        Map<String, Double> shares = new LinkedHashMap<>();
        if (p.servedByWorker().size() >= 2 && total > 0) {
            p.servedByWorker().forEach((worker, served) -> shares.put(worker, served / (double) total));
        }
        return shares;
    }

    private static String orNull(double v) {
        return v >= 0 ? num(v) : "null";
    }

    // ---------------------------------------------------------------- Markdown

    String markdown() {
        StringBuilder md = new StringBuilder();
        md.append("# The echo ladder, measured\n\n");
        md.append("Run ").append(when.toLocalDate()).append(" on ").append(machine.words()).append(".  \n");
        md.append("Command: `").append(command).append("`  \n");
        md.append("Version: `").append(version).append("`  \n");
        if (interruption != null) {
            md.append("**Stopped by Ctrl-C:** ").append(interruption.words()).append(". This report covers those; ")
                    .append(interruption.during() == null ? "the points after them did not run"
                            : "the point under way was dropped, and the ones after it did not run")
                    .append(" (`n/a` in the tables).  \n");
        }
        md.append(String.format(Locale.ROOT, "Each rung ran as its own process, started once for its points; the client "
                        + "(%d event-loop thread%s) ran in the bench's JVM with a %s s warm-up and a %s s measured window per "
                        + "point; a reply later than %s is a timeout. Server CPU, system calls and context switches cover "
                        + "exactly the window, summed over the server's processes. Figures move by 10-20%% between runs on a "
                        + "shared 2-core machine: compare rows of one table, not runs on different days.%n%n",
                plan.clientThreads(), plan.clientThreads() == 1 ? "" : "s",
                num(plan.warmup().toMillis() / 1000.0), num(plan.duration().toMillis() / 1000.0),
                LoadReport.millis(plan.replyTimeout().toNanos())));
        md.append("**Unanswered clients are the slowest result, not a missing one.** Where a rung left clients "
                + "without a reply, its throughput cell reads `✗ N unanswered` (with what the others got in brackets) and "
                + "the chart draws it hollow at the floor; a latency percentile that falls among the unanswered messages "
                + "reads `≥ ceiling` and is drawn hollow at the ceiling. In closed loop a connection left waiting counts "
                + "as the round trips it was denied (see the client's page), so one fast connection cannot outvote the "
                + "ones it starves.\n\n");

        List<String> rungs = rungs();
        List<Integer> counts = plan.connections();
        md.append("## What the numbers show\n\n");
        for (String sentence : sentences()) {
            md.append("- ").append(sentence).append('\n');
        }
        md.append('\n');

        if (!scenario("sweep").isEmpty()) {
            md.append(String.format(Locale.ROOT, "## Throughput: messages per second, closed loop, %d B messages%n%n", plan.size()));
            md.append("Each cell: messages per second, then how evenly the connections were served, which the total "
                    + "averages away: Jain's fairness index over the messages each connection got in the window, "
                    + "(Σx)² / (n·Σx²), 1 when all got as many and 1/n when one got everything (`J 0.998`), and the "
                    + "fewest / median / most messages a connection got.\n\n");
            md.append(sweepTable(rungs, counts, p -> throughputCell(p) + fairnessCell(p)));
            md.append(String.format(Locale.ROOT, "%n## p99 latency (closed loop)%n%n"));
            md.append(sweepTable(rungs, counts, p -> p.report().latencyText(99)));
            md.append("\n## Server CPU per message, microseconds: server / client\n\n");
            md.append(sweepTable(rungs, counts, BenchReport::cpuCell));
            md.append("\n## System calls per message (server, all its processes)\n\n");
            md.append(countersNote());
            md.append(sweepTable(rungs, counts, p -> decimal(p.syscallsPerMessage(), p.server().countersNote() != null)));
            md.append("\n## Context switches per message (server, all its processes)\n\n");
            md.append(sweepTable(rungs, counts, p -> decimal(p.switchesPerMessage(), false)));
            md.append("\n## Server memory: peak RSS, MiB (all its processes)\n\n");
            md.append(sweepTable(rungs, counts, p -> p.server().peakRss() >= 0
                    ? String.format(Locale.ROOT, "%,.0f", p.server().peakRss() / 1048576.0) : "n/a"));
            md.append("\n## Server threads (all its processes)\n\n");
            md.append(sweepTable(rungs, counts, p -> p.server().threads() >= 0
                    ? String.format(Locale.ROOT, "%,d", p.server().threads()) : "n/a"));
        }

        List<Point> churn = scenario("churn");
        if (!churn.isEmpty()) {
            md.append(String.format(Locale.ROOT, "%n## Churn: a fresh connection per %,d B exchange, %d at a time%n%n",
                    plan.churnSize(), plan.churnConnections()));
            md.append("| rung | exchanges/s | server CPU per connection (us) | syscalls per connection | "
                    + "context switches per connection | connect p50 | connect p99 | exchange p99 | errors |\n");
            md.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
            for (Point p : churn) {
                if (!p.ran()) {
                    md.append("| `").append(p.rung()).append("` | ").append(p.note()).append(" | | | | | | | |\n");
                    continue;
                }
                md.append(String.format(Locale.ROOT, "| `%s` | %s | %s | %s | %s | %s | %s | %s | %d |%n", p.rung(),
                        throughputCell(p), decimal(p.serverCpuMicrosPerMessage(), false),
                        decimal(p.syscallsPerMessage(), p.server().countersNote() != null), decimal(p.switchesPerMessage(), false),
                        LoadReport.micros(LoadReport.us(p.report().connect(), 50)),
                        LoadReport.micros(LoadReport.us(p.report().connect(), 99)), p.report().latencyText(99), p.errors()));
            }
        }

        List<Point> latency = scenario("latency").stream().filter(p -> p.rate() > 0 || !p.ran()).toList();
        if (!latency.isEmpty()) {
            md.append(latencyTable(latency));
        }

        if (!scenario("idle").isEmpty()) {
            md.append(idleSection());
        }
        if (!scenario("work").isEmpty()) {
            md.append(workSection());
        }
        if (!scenario("rounds").isEmpty()) {
            md.append(roundsSection());
        }

        List<Point> pooled = churn.stream().filter(p -> p.servedPerWorker() != null && p.servedByWorker().size() > 1)
                .toList();
        if (!pooled.isEmpty()) {
            md.append("\n## Accept distribution (churn): connections served per worker\n\n");
            md.append("How evenly the kernel (or the rung) spread the churn's connections over its workers: each "
                    + "worker's share, and Jain's index over the workers (1 when all took as many, 1/n when one took "
                    + "them all).\n\n");
            md.append("| rung | per worker | share per worker | Jain's index |\n|---|---|---|---:|\n");
            for (Point p : pooled) {
                md.append("| `").append(p.rung()).append("` | ")
                        .append(p.servedPerWorker().substring("served per worker: ".length())).append(" | ")
                        .append(sharesWords(p)).append(" | ")
                        .append(Double.isNaN(p.acceptJain()) ? "n/a" : String.format(Locale.ROOT, "%.3f", p.acceptJain()))
                        .append(" |\n");
            }
        }
        List<Point> notes = points.stream().filter(p -> p.note() != null).toList();
        if (!notes.isEmpty()) {
            md.append("\n## Points that did not run cleanly\n\n");
            for (Point p : notes) {
                md.append(String.format(Locale.ROOT, "- %s `%s` at %,d connections%s%s%s: %s%n", p.scenario(), p.rung(),
                        p.connections(), p.idle() > 0 ? String.format(Locale.ROOT, " + %,d idle", p.idle()) : "",
                        p.work() != null ? ", --work " + p.work() : "",
                        p.rate() > 0 ? String.format(Locale.ROOT, ", %,.0f msgs/s", p.rate()) : "", p.note()));
            }
        }
        if (!chartFiles().isEmpty()) {
            md.append("\n## Charts\n\n");
        }
        for (String chart : chartFiles()) {
            md.append("![").append(chart.replace(".png", "").replace('-', ' ')).append("](").append(chart).append(")\n\n");
        }
        return md.toString();
    }

    /** Throughput, or, where clients went unanswered, that first and the rest's figure after. */
    static String throughputCell(Point p) {
        String rate = String.format(Locale.ROOT, "%,.0f", p.messagesPerSecond());
        if (!p.leftClientsUnanswered()) {
            return rate;
        }
        return String.format(Locale.ROOT, "✗ %,d unanswered (%s msgs/s for the rest)", p.report().unanswered().messages(), rate);
    }

    /** {@code  · J 0.998 (812 / 1,020 / 1,260)}: Jain's index and messages per connection, or nothing unmeasured. */
    static String fairnessCell(Point p) {
        return p.perConnection().map(each -> String.format(Locale.ROOT, " · J %.3f (%,.0f / %,.0f / %,.0f)", each.jain(),
                each.messages().min(), each.messages().median(), each.messages().max())).orElse("");
    }

    private static String cpuCell(Point p) {
        if (p.report().messages() == 0) {
            return "n/a";
        }
        double server = p.serverCpuMicrosPerMessage();
        return String.format(Locale.ROOT, "%s / %.1f", server >= 0 ? String.format(Locale.ROOT, "%.1f", server) : "n/a",
                p.report().cpuMicrosPerMessage());
    }

    /** {@code worker-0 51%, worker-1 49%}, or n/a when nothing was served. */
    private static String sharesWords(Point p) {
        List<String> words = new ArrayList<>();
        acceptShares(p).forEach((worker, share) -> words.add(String.format(Locale.ROOT, "%s %.0f%%", worker, share * 100)));
        return words.isEmpty() ? "n/a" : String.join(", ", words);
    }

    private static String decimal(double v, boolean perfMissing) {
        if (v < 0) {
            return perfMissing ? "n/a (perf unavailable)" : "n/a";
        }
        return String.format(Locale.ROOT, v >= 100 ? "%,.0f" : v >= 10 ? "%.1f" : "%.2f", v);
    }

    private String countersNote() {
        Optional<String> note = points.stream().map(p -> p.server().countersNote()).filter(n -> n != null).findFirst();
        return note.map(n -> "System calls: " + n + ".\n\n")
                .orElse("Counted by `perf stat -e raw_syscalls:sys_enter,context-switches` over exactly the window.\n\n");
    }

    /** Latency against offered load: a row per rung, a column per step, p50 / p99 in each cell. */
    private String latencyTable(List<Point> latency) {
        StringBuilder md = new StringBuilder();
        boolean steps = latency.stream().anyMatch(p -> p.load() > 0);
        List<Double> columns = steps ? plan.loadSteps() : plan.rates();
        md.append(String.format(Locale.ROOT, "%n## Latency against offered load: open loop, %d connections%n%n",
                plan.rateConnections()));
        md.append(steps ? "Each rung is offered a share of its own closed-loop maximum at this connection count, measured "
                + "in the same run; latency counts from each message's intended send time, so queueing shows. "
                + "Each cell: offered msgs/s, then p50 / p99.\n\n"
                : "Latency counts from each message's intended send time. Each cell: p50 / p99.\n\n");
        if (latency.stream().anyMatch(p -> p.ran() && p.report().clientLimited())) {
            md.append("† The client fell behind its own schedule there: half the p99 or more is its own lag in sending "
                    + "(client and server share two cores), so that cell says as much about the client as the server.\n\n");
        }
        md.append("| rung |");
        for (double c : columns) {
            md.append(steps ? String.format(Locale.ROOT, " %s%% |", num(c * 100)) : String.format(Locale.ROOT, " %,.0f msgs/s |", c));
        }
        md.append("\n|---|").append("---:|".repeat(columns.size())).append('\n');
        for (String rung : rungs()) {
            List<Point> row = latency.stream().filter(p -> p.rung().equals(rung)).toList();
            if (row.isEmpty()) {
                continue;
            }
            md.append("| `").append(rung).append("` |");
            for (double c : columns) {
                Optional<Point> p = row.stream().filter(q -> steps ? q.load() == c : q.rate() == c).findFirst();
                if (p.isEmpty() || !p.get().ran()) {
                    md.append(" n/a |");
                    continue;
                }
                LoadReport r = p.get().report();
                md.append(' ').append(steps ? String.format(Locale.ROOT, "%,.0f: ", p.get().rate()) : "")
                        .append(r.latencyText(50)).append(" / ").append(r.latencyText(99))
                        .append(r.clientLimited() ? " †" : "").append(" |");
            }
            md.append('\n');
        }
        return md.toString();
    }

    /** The idle scenario: what silent connections cost each rung while 50 others talk. */
    private String idleSection() {
        List<Point> idle = scenario("idle");
        List<Integer> counts = idle.stream().map(Point::idle).distinct().sorted().toList();
        int active = idle.getFirst().connections();
        StringBuilder md = new StringBuilder(String.format(Locale.ROOT, "%n## Idle connections: %d active, N silent%n%n", active));
        md.append(String.format(Locale.ROOT, "%d connections echo %d B in a closed loop while N more stay open and send "
                + "nothing. `select` and `poll` hand the kernel every watched descriptor on every call, idle or not; "
                + "`epoll` keeps the watched set in the kernel and returns only the ready ones; the thread rungs park a "
                + "thread (or a virtual thread) per silent connection. `select` stops at the first count past "
                + "FD_SETSIZE (%d), where it closes new clients.%n%n", active, plan.size(), Bench.FD_SETSIZE));
        String[] titles = {"Messages per second", "p99 latency", "Server CPU per message, microseconds",
                "System calls per message", "Context switches per message"};
        List<Function<Point, String>> cells = List.of(BenchReport::throughputCell, p -> p.report().latencyText(99),
                p -> decimal(p.serverCpuMicrosPerMessage(), false),
                p -> decimal(p.syscallsPerMessage(), p.server().countersNote() != null),
                p -> decimal(p.switchesPerMessage(), false));
        for (int i = 0; i < titles.length; i++) {
            md.append("### ").append(titles[i]).append(", by silent connections N\n\n| rung |");
            counts.forEach(n -> md.append(String.format(Locale.ROOT, " N = %,d |", n)));
            md.append("\n|---|").append("---:|".repeat(counts.size())).append('\n');
            for (String rung : rungs()) {
                List<Point> row = idle.stream().filter(p -> p.rung().equals(rung)).toList();
                if (row.isEmpty()) {
                    continue;
                }
                md.append("| `").append(rung).append("` |");
                for (int n : counts) {
                    Optional<Point> p = row.stream().filter(q -> q.idle() == n).findFirst();
                    md.append(' ').append(p.isEmpty() ? "" : p.get().ran() ? cells.get(i).apply(p.get()) : "n/a").append(" |");
                }
                md.append('\n');
            }
            md.append('\n');
        }
        return md.toString();
    }

    /** The work scenario: one table per kind of work, a row per rung. */
    private String workSection() {
        StringBuilder md = new StringBuilder();
        List<Point> work = scenario("work");
        for (String kind : work.stream().map(Point::work).distinct().toList()) {
            md.append(String.format(Locale.ROOT, "%n## With a slow handler: `--work %s`, %d connections, closed loop%n%n",
                    kind, work.getFirst().connections()));
            md.append(kind.startsWith("cpu") ? "Each message costs the server this much computation before it is echoed: "
                    + "every rung is bounded by the cores.\n\n"
                    : "Each message makes the handler wait this long (a call to another service) before it is echoed: "
                    + "a loop that waits serves nobody meanwhile.\n\n");
            md.append("| rung | msgs/s | p50 | p99 | server threads | server CPU per message (us) |\n");
            md.append("|---|---:|---:|---:|---:|---:|\n");
            for (Point p : work.stream().filter(q -> q.work().equals(kind)).toList()) {
                if (!p.ran()) {
                    md.append("| `").append(p.rung()).append("` | ").append(p.note()).append(" | | | | |\n");
                    continue;
                }
                md.append(String.format(Locale.ROOT, "| `%s` | %s | %s | %s | %s | %s |%n", p.rung(), throughputCell(p),
                        p.report().latencyText(50), p.report().latencyText(99),
                        p.server().threads() >= 0 ? String.format(Locale.ROOT, "%,d", p.server().threads()) : "n/a",
                        decimal(p.serverCpuMicrosPerMessage(), false)));
            }
        }
        return md.toString();
    }

    /**
     * The rounds scenario: per connection count, a row per rung with each round's rate, the mean, and its
     * ratio to the first rung. A rung that left clients unanswered in any round gets no mean and no ratio:
     * an average would let the rounds it answered make it look faster than it was.
     */
    private String roundsSection() {
        StringBuilder md = new StringBuilder();
        int count = plan.rounds().count();
        List<String> rungs = roundsRungs();
        String reference = rungs.getFirst();
        for (int connections : plan.rounds().connections()) {
            md.append(String.format(Locale.ROOT, "%n## Side by side: %d round%s, closed loop, %,d connections, %d B messages%n%n",
                    count, count == 1 ? "" : "s", connections, plan.size()));
            md.append(String.format(Locale.ROOT, "Each round started every rung afresh, in the order of the rows, and "
                    + "measured it for %s s after a %s s warm-up. The ratio is a rung's mean over `%s`'s; the range is the "
                    + "lowest and highest ratio of a single round, where the two ran one after the other. Messages per "
                    + "second; system calls and server CPU per message are means over the rounds.%n%n",
                    num(plan.duration().toMillis() / 1000.0), num(plan.warmup().toMillis() / 1000.0), reference));
            md.append("| rung |");
            for (int r = 1; r <= count; r++) {
                md.append(" round ").append(r).append(" |");
            }
            md.append(" mean | ratio to `").append(reference).append("` | range by round | syscalls per message "
                    + "| server CPU per message (us) |\n|---|").append("---:|".repeat(count + 5)).append('\n');
            List<Point> first = round(reference, connections);
            for (String rung : rungs) {
                List<Point> rounds = round(rung, connections);
                md.append("| `").append(rung).append("` |");
                for (Point p : rounds) {
                    md.append(' ').append(p.ran() ? throughputCell(p) : "n/a").append(" |");
                }
                md.append(" |".repeat(count - rounds.size()));
                long unanswered = rounds.stream().filter(Point::leftClientsUnanswered).count();
                if (unanswered > 0) {
                    md.append(String.format(Locale.ROOT, " ✗ unanswered in %d of %d rounds | — | — |", unanswered, count));
                } else if (!clean(rounds, count)) {
                    md.append(" n/a | — | — |");
                } else {
                    md.append(String.format(Locale.ROOT, " %,.0f |", mean(rounds, Point::messagesPerSecond)));
                    md.append(rung.equals(reference) ? " 1 | — |" : ratio(rounds, first, count).map(r -> String.format(Locale.ROOT,
                            " %.2f× | %.2f–%.2f× |", r.mean(), r.lowest(), r.highest())).orElse(" — | — |"));
                }
                boolean perfMissing = rounds.stream().anyMatch(p -> p.server().countersNote() != null);
                md.append(' ').append(decimal(meanKnown(rounds, Point::syscallsPerMessage), perfMissing)).append(" | ")
                        .append(decimal(meanKnown(rounds, Point::serverCpuMicrosPerMessage), false)).append(" |\n");
            }
        }
        return md.toString();
    }

    /** The rungs of the rounds scenario, in the order they ran. */
    private List<String> roundsRungs() {
        Set<String> names = new LinkedHashSet<>();
        scenario("rounds").forEach(p -> names.add(p.rung()));
        return List.copyOf(names);
    }

    /** One rung's rounds at one connection count, in round order. */
    private List<Point> round(String rung, int connections) {
        return scenario("rounds").stream().filter(p -> p.rung().equals(rung) && p.connections() == connections)
                .sorted(Comparator.comparingInt(Point::round)).toList();
    }

    /** A rung's mean rate over the reference's, and the lowest and highest ratio within one round. */
    private record Ratio(double mean, double lowest, double highest) {
    }

    /** The ratio of {@code rounds} to {@code reference}'s, where both answered every client in every round. */
    private static Optional<Ratio> ratio(List<Point> rounds, List<Point> reference, int count) {
        if (!clean(rounds, count) || !clean(reference, count)) {
            return Optional.empty();
        }
        double lowest = Double.MAX_VALUE;
        double highest = 0;
        for (int r = 0; r < count; r++) {
            double each = rounds.get(r).messagesPerSecond() / reference.get(r).messagesPerSecond();
            lowest = Math.min(lowest, each);
            highest = Math.max(highest, each);
        }
        return Optional.of(new Ratio(mean(rounds, Point::messagesPerSecond) / mean(reference, Point::messagesPerSecond),
                lowest, highest));
    }

    /** Every round ran, and every client was answered in each. */
    private static boolean clean(List<Point> rounds, int count) {
        return rounds.size() == count && rounds.stream().allMatch(p -> p.ran() && !p.leftClientsUnanswered());
    }

    private static double mean(List<Point> rounds, ToDoubleFunction<Point> value) {
        return rounds.stream().mapToDouble(value).average().orElse(0);
    }

    /** The mean of the rounds where the figure is known (non-negative), or -1 if it is known in none. */
    private static double meanKnown(List<Point> rounds, ToDoubleFunction<Point> value) {
        return rounds.stream().filter(Point::ran).mapToDouble(value).filter(v -> v >= 0).average().orElse(-1);
    }

    /** A rung-by-connections table: one row per rung, one cell per sweep point that ran. */
    private String sweepTable(List<String> rungs, List<Integer> counts, Function<Point, String> cell) {
        StringBuilder md = new StringBuilder("| rung |");
        counts.forEach(c -> md.append(String.format(Locale.ROOT, " %,d |", c)));
        md.append("\n|---|").append("---:|".repeat(counts.size())).append('\n');
        for (String rung : rungs) {
            if (scenario("sweep").stream().noneMatch(p -> p.rung().equals(rung))) {
                continue;
            }
            md.append("| `").append(rung).append("` |");
            for (int c : counts) {
                Optional<Point> p = sweep(rung, c);
                md.append(' ').append(p.isPresent() && p.get().ran() ? cell.apply(p.get()) : "n/a").append(" |");
            }
            md.append('\n');
        }
        return md.toString();
    }

    /** Plain sentences drawn from the numbers, not written in advance. */
    List<String> sentences() {
        List<String> out = new ArrayList<>();
        List<Point> sweep = scenario("sweep").stream().filter(Point::ran).toList();
        int top = sweep.stream().mapToInt(Point::connections).max().orElse(0);
        List<Point> atTop = sweep.stream().filter(p -> p.connections() == top).toList();
        Optional<Point> best = atTop.stream().filter(p -> !p.leftClientsUnanswered())
                .max(Comparator.comparingDouble(Point::messagesPerSecond));
        if (best.isPresent()) {
            String sentence = String.format(Locale.ROOT, "At %,d connections the fastest rung that answered every client "
                    + "was `%s`, %,.0f msgs/s", top, best.get().rung(), best.get().messagesPerSecond());
            List<String> starved = atTop.stream().filter(Point::leftClientsUnanswered).map(p -> "`" + p.rung() + "`").toList();
            if (!starved.isEmpty()) {
                sentence += "; " + String.join(", ", starved) + (starved.size() == 1 ? " left" : " left")
                        + " clients unanswered there";
            }
            out.add(sentence + ".");
        }
        for (String rung : rungs()) {
            sweep.stream().filter(p -> p.rung().equals(rung) && p.leftClientsUnanswered())
                    .min(Comparator.comparingInt(Point::connections))
                    .ifPresent(p -> out.add(String.format(Locale.ROOT, "`%s` first left clients unanswered at %,d "
                                    + "connections: %,d messages got no reply (first: %s); its p99 there is %s.", rung,
                            p.connections(), p.report().unanswered().messages(),
                            p.report().errors().firsts().values().stream().findFirst().orElse("no error recorded"),
                            p.report().latencyText(99))));
        }
        out.addAll(unfairSentences(sweep));
        Optional<Point> epoll = sweep(("epoll"), 100).filter(Point::ran);
        Optional<Point> oneshot = sweep("epoll-oneshot", 100).filter(Point::ran);
        if (epoll.isPresent() && oneshot.isPresent() && epoll.get().syscallsPerMessage() > 0
                && oneshot.get().syscallsPerMessage() > 0) {
            out.add(String.format(Locale.ROOT, "At 100 connections `epoll` made %.2f system calls and %.3f context "
                            + "switches per message, `epoll-oneshot` %.2f and %.3f: the re-arm (`epoll_ctl`) after every event, "
                            + "and workers handing sockets to each other.", epoll.get().syscallsPerMessage(),
                    epoll.get().switchesPerMessage(), oneshot.get().syscallsPerMessage(), oneshot.get().switchesPerMessage()));
        }
        List<Point> memory = atTop.stream().filter(p -> p.server().peakRss() > 0)
                .sorted(Comparator.comparingLong(p -> p.server().peakRss())).toList();
        if (memory.size() >= 2) {
            Point low = memory.getFirst();
            Point high = memory.getLast();
            out.add(String.format(Locale.ROOT, "Holding %,d connections, `%s` used the most memory (%,d MiB, %,d threads) "
                            + "and `%s` the least (%,d MiB, %,d threads).", top, high.rung(), high.server().peakRss() >> 20,
                    high.server().threads(), low.rung(), low.server().peakRss() >> 20, low.server().threads()));
        }
        List<Point> churn = scenario("churn").stream().filter(p -> p.serverCpuMicrosPerMessage() > 0).toList();
        if (churn.size() >= 2) {
            Point cheap = churn.stream().min(Comparator.comparingDouble(Point::serverCpuMicrosPerMessage)).orElseThrow();
            Point dear = churn.stream().max(Comparator.comparingDouble(Point::serverCpuMicrosPerMessage)).orElseThrow();
            out.add(String.format(Locale.ROOT, "A new connection cost the server %,.0f us of CPU in `%s` and %,.0f us in `%s`.",
                    dear.serverCpuMicrosPerMessage(), dear.rung(), cheap.serverCpuMicrosPerMessage(), cheap.rung()));
        }
        for (String rung : rungs()) {
            List<Point> curve = scenario("latency").stream().filter(p -> p.rung().equals(rung) && p.ran() && p.load() > 0)
                    .sorted(Comparator.comparingDouble(Point::load)).toList();
            if (curve.size() >= 2 && !curve.getFirst().leftClientsUnanswered()) {
                Point low = curve.getFirst();
                Point high = curve.getLast();
                out.add(String.format(Locale.ROOT, "`%s` at %s%% of its closed-loop maximum: p99 %s; at %s%%: p99 %s.",
                        rung, num(low.load() * 100), low.report().latencyText(99), num(high.load() * 100),
                        high.report().latencyText(99)));
            }
        }
        out.addAll(idleSentences());
        out.addAll(workSentences());
        out.addAll(roundsSentences());
        return out;
    }

    /** Below this Jain's index a rung that answered everyone is said to have served them unevenly. */
    static final double UNFAIR = 0.9;

    /**
     * For each rung that answered every client at a sweep point and still served them unevenly (Jain's
     * index under {@link #UNFAIR}), one sentence naming those points; and for each rung whose workers took
     * the churn's connections unevenly, one more.
     */
    private List<String> unfairSentences(List<Point> sweep) {
        List<String> out = new ArrayList<>();
        for (String rung : rungs()) {
            List<String> where = new ArrayList<>();
            sweep.stream().filter(p -> p.rung().equals(rung) && !p.leftClientsUnanswered())
                    .sorted(Comparator.comparingInt(Point::connections)).forEach(p -> p.perConnection()
                            .filter(each -> each.jain() < UNFAIR)
                            .ifPresent(each -> where.add(String.format(Locale.ROOT, "at %,d connections Jain's index "
                                            + "%.3f, a connection got %,.0f to %,.0f messages (median %,.0f)", p.connections(),
                                    each.jain(), each.messages().min(), each.messages().max(), each.messages().median()))));
            if (!where.isEmpty()) {
                out.add(String.format(Locale.ROOT, "`%s` answered every client but not evenly, which its total hides: %s.",
                        rung, String.join("; ", where)));
            }
        }
        scenario("churn").stream().filter(p -> p.acceptJain() < UNFAIR).forEach(p -> out.add(String.format(Locale.ROOT,
                "In churn `%s`'s workers took the connections unevenly: Jain's index %.3f over %d workers (%s).",
                p.rung(), p.acceptJain(), p.servedByWorker().size(), sharesWords(p))));
        return out;
    }

    /** Each rung's ratio to the first of the rounds, where both answered every client in every round. */
    private List<String> roundsSentences() {
        List<String> out = new ArrayList<>();
        if (scenario("rounds").isEmpty()) {
            return out;
        }
        int count = plan.rounds().count();
        List<String> rungs = roundsRungs();
        String reference = rungs.getFirst();
        for (int connections : plan.rounds().connections()) {
            List<Point> first = round(reference, connections);
            List<String> ratios = new ArrayList<>();
            for (String rung : rungs.subList(1, rungs.size())) {
                List<Point> rounds = round(rung, connections);
                if (rounds.stream().anyMatch(Point::leftClientsUnanswered)) {
                    ratios.add("`" + rung + "` left clients unanswered");
                } else {
                    ratio(rounds, first, count).ifPresent(r -> ratios.add(String.format(Locale.ROOT,
                            "`%s` %.2f× (%.2f–%.2f× by round)", rung, r.mean(), r.lowest(), r.highest())));
                }
            }
            if (!ratios.isEmpty()) {
                out.add(String.format(Locale.ROOT, "Side by side over %d round%s at %,d connections, against `%s`: %s.",
                        count, count == 1 ? "" : "s", connections, reference, String.join(", ", ratios)));
            }
        }
        return out;
    }

    private Optional<Point> idle(String rung, int count) {
        return scenario("idle").stream().filter(p -> p.rung().equals(rung) && p.idle() == count && p.ran()
                && !p.leftClientsUnanswered()).findFirst();
    }

    private List<String> idleSentences() {
        List<String> out = new ArrayList<>();
        Optional<Point> epoll0 = idle("epoll", 0);
        if (epoll0.isPresent()) {
            List<String> ratios = new ArrayList<>();
            for (String rung : List.of("poll", "select")) {
                idle(rung, 0).ifPresent(p -> ratios.add(String.format(Locale.ROOT, "`%s` %.2f×", rung,
                        p.messagesPerSecond() / epoll0.get().messagesPerSecond())));
            }
            if (!ratios.isEmpty()) {
                out.add("With no silent connections " + String.join(" and ", ratios) + " `epoll`'s rate: a list of 50 "
                        + "descriptors is cheap to hand over and scan.");
            }
        }
        List<Integer> both = scenario("idle").stream().map(Point::idle).distinct().sorted(Comparator.reverseOrder())
                .filter(n -> n > 0 && idle("poll", n).isPresent() && idle("epoll", n).isPresent()).toList();
        if (!both.isEmpty()) {
            int n = both.getFirst();
            Point poll = idle("poll", n).orElseThrow();
            Point epoll = idle("epoll", n).orElseThrow();
            if (poll.serverCpuMicrosPerMessage() > 0 && epoll.serverCpuMicrosPerMessage() > 0) {
                out.add(String.format(Locale.ROOT, "With %,d silent connections `poll` spent %.1f× `epoll`'s server CPU per "
                                + "message (%.1f against %.1f us) for %.2f against %.2f system calls per message: not more calls, "
                                + "dearer ones; each `poll` copies and scans all %,d descriptors to find the few that are ready.",
                        n, poll.serverCpuMicrosPerMessage() / epoll.serverCpuMicrosPerMessage(), poll.serverCpuMicrosPerMessage(),
                        epoll.serverCpuMicrosPerMessage(), poll.syscallsPerMessage(), epoll.syscallsPerMessage(),
                        n + poll.connections()));
            }
        }
        Optional<Point> epollTop = scenario("idle").stream().filter(p -> p.rung().equals("epoll") && p.ran()
                && !p.leftClientsUnanswered()).max(Comparator.comparingInt(Point::idle));
        if (epoll0.isPresent() && epollTop.isPresent() && epollTop.get().idle() > 0
                && epoll0.get().serverCpuMicrosPerMessage() > 0 && epollTop.get().serverCpuMicrosPerMessage() > 0) {
            out.add(String.format(Locale.ROOT, "`epoll`'s CPU per message with %,d silent connections was %.2f× its own "
                            + "with none: the kernel hands back only the ready descriptors.", epollTop.get().idle(),
                    epollTop.get().serverCpuMicrosPerMessage() / epoll0.get().serverCpuMicrosPerMessage()));
        }
        scenario("idle").stream().filter(p -> p.rung().equals("select") && p.leftClientsUnanswered()).findFirst()
                .ifPresent(p -> out.add(String.format(Locale.ROOT, "`select` with %,d silent connections, past FD_SETSIZE: "
                        + "%,d messages went unanswered, the new clients closed at the door.", p.idle(),
                        p.report().unanswered().messages())));
        return out;
    }

    private List<String> workSentences() {
        List<String> out = new ArrayList<>();
        List<Point> work = scenario("work").stream().filter(Point::ran).toList();
        for (String kind : work.stream().map(Point::work).distinct().toList()) {
            List<Point> answered = work.stream().filter(p -> p.work().equals(kind) && !p.leftClientsUnanswered())
                    .sorted(Comparator.comparingDouble(Point::messagesPerSecond)).toList();
            if (answered.size() >= 2) {
                Point slow = answered.getFirst();
                Point fast = answered.getLast();
                out.add(String.format(Locale.ROOT, "With `--work %s` the slowest rung that answered everyone was `%s` "
                                + "(%,.0f msgs/s, %,d threads) and the fastest `%s` (%,.0f msgs/s, %,d threads).", kind,
                        slow.rung(), slow.messagesPerSecond(), slow.server().threads(), fast.rung(),
                        fast.messagesPerSecond(), fast.server().threads()));
            }
        }
        return out;
    }

    // ---------------------------------------------------------------- charts

    private List<String> chartFiles() {
        List<String> files = new ArrayList<>();
        if (!scenario("sweep").isEmpty()) {
            files.addAll(List.of("throughput.png", "latency-p99.png", "cpu-per-message.png", "syscalls-per-message.png", "rss.png"));
        }
        if (scenario("sweep").stream().anyMatch(p -> p.perConnection().isPresent())) {
            files.add("fairness.png");
        }
        if (scenario("latency").stream().anyMatch(p -> p.rate() > 0)) {
            files.addAll(List.of("latency-vs-load-p99.png", "latency-vs-load-p50.png"));
        }
        if (scenario("churn").stream().anyMatch(p -> p.serverCpuMicrosPerMessage() > 0)) {
            files.add("churn-cpu.png");
        }
        if (scenario("idle").stream().anyMatch(Point::ran)) {
            files.addAll(List.of("idle-throughput.png", "idle-cpu-per-message.png", "idle-syscalls-per-message.png"));
        }
        for (String kind : workKinds()) {
            files.add(workChart(kind));
        }
        return files;
    }

    private void charts(Path dir) throws IOException {
        System.setProperty("java.awt.headless", "true");
        if (!scenario("sweep").isEmpty()) {
            String ceiling = "no reply within " + LoadReport.millis(plan.replyTimeout().toNanos());
            Charts.draw(dir.resolve("throughput.png"), new Charts.Figure("Throughput, closed loop, "
                    + plan.size() + " B messages", "connections", "messages/s", Charts.Unanswered.FLOOR, 0, ""),
                    sweepLines(Point::messagesPerSecond));
            Charts.draw(dir.resolve("latency-p99.png"), new Charts.Figure("p99 latency, closed loop", "connections",
                    "microseconds", Charts.Unanswered.CEILING, plan.replyTimeout().toNanos() / 1e3, ceiling),
                    sweepLines(p -> p.report().percentileUs(99), p -> p.report().censored(99)));
            Charts.draw(dir.resolve("cpu-per-message.png"), new Charts.Figure("Server CPU per message",
                    "connections", "microseconds", Charts.Unanswered.AS_IS, 0, ""), sweepLines(Point::serverCpuMicrosPerMessage));
            Charts.draw(dir.resolve("syscalls-per-message.png"), new Charts.Figure("Server system calls per message",
                    "connections", "system calls", Charts.Unanswered.AS_IS, 0, ""), sweepLines(Point::syscallsPerMessage));
            Charts.draw(dir.resolve("rss.png"), new Charts.Figure("Server memory (peak RSS, all its processes)",
                    "connections", "MiB", Charts.Unanswered.AS_IS, 0, ""), sweepLines(p -> p.server().peakRss() / 1048576.0));
            // Jain's index is 0 to 1 whatever the run: a fixed axis, and a rule where a rung is called unfair.
            Charts.draw(dir.resolve("fairness.png"), new Charts.Figure(String.format(Locale.ROOT, "Fairness: Jain's "
                            + "index over the messages each connection got, closed loop (the line: %s, under it uneven)",
                            num(UNFAIR)), "connections", "Jain's index (1 = even, 1/n = one got all)",
                            Charts.Unanswered.AS_IS, 0, ""),
                    sweepLines(p -> p.perConnection().map(LoadReport.PerConnection::jain).orElse(0.0)),
                    new Charts.Axis(false, 0, 1.05, "0.0#"), UNFAIR);
        }
        List<Point> latency = scenario("latency").stream().filter(p -> p.ran() && p.rate() > 0).toList();
        if (!latency.isEmpty()) {
            long ceiling = latency.getFirst().report().unanswered().ceilingNanos();
            String label = "no reply by the end of the window plus " + LoadReport.millis(plan.replyTimeout().toNanos());
            for (double percentile : new double[] {99, 50}) {
                String name = percentile == 99 ? "p99" : "p50";
                Charts.draw(dir.resolve("latency-vs-load-" + name + ".png"), new Charts.Figure(name
                                + " latency against offered load, open loop, " + plan.rateConnections() + " connections",
                                "offered messages/s", "microseconds", Charts.Unanswered.CEILING, ceiling / 1e3, label),
                        lines(latency, Point::rate, p -> p.report().percentileUs(percentile), p -> p.report().censored(percentile),
                                p -> p.report().clientLimited()));
            }
        }
        Map<String, Double> churn = new LinkedHashMap<>();
        scenario("churn").stream().filter(p -> p.serverCpuMicrosPerMessage() > 0)
                .forEach(p -> churn.put(p.rung(), p.serverCpuMicrosPerMessage()));
        Charts.bars(dir.resolve("churn-cpu.png"), "Churn: server CPU per connection", "microseconds", churn, Set.of());
        List<Point> idle = scenario("idle").stream().filter(Point::ran).toList();
        if (!idle.isEmpty()) {
            String x = "connections open (" + idle.getFirst().connections() + " active + N silent)";
            ToDoubleFunction<Point> open = p -> p.connections() + p.idle();
            Charts.draw(dir.resolve("idle-throughput.png"), new Charts.Figure("Idle connections: messages per second of the "
                            + idle.getFirst().connections() + " active", x, "messages/s", Charts.Unanswered.FLOOR, 0, ""),
                    lines(idle, open, Point::messagesPerSecond, Point::leftClientsUnanswered, p -> false));
            Charts.draw(dir.resolve("idle-cpu-per-message.png"), new Charts.Figure("Idle connections: server CPU per message",
                            x, "microseconds", Charts.Unanswered.AS_IS, 0, ""),
                    lines(idle, open, Point::serverCpuMicrosPerMessage, Point::leftClientsUnanswered, p -> false));
            Charts.draw(dir.resolve("idle-syscalls-per-message.png"), new Charts.Figure("Idle connections: server system "
                            + "calls per message", x, "system calls", Charts.Unanswered.AS_IS, 0, ""),
                    lines(idle, open, Point::syscallsPerMessage, Point::leftClientsUnanswered, p -> false));
        }
        for (String kind : workKinds()) {
            Map<String, Double> rates = new LinkedHashMap<>();
            Set<String> unanswered = new LinkedHashSet<>();
            scenario("work").stream().filter(p -> kind.equals(p.work()) && p.ran()).forEach(p -> {
                rates.put(p.rung(), p.messagesPerSecond());
                if (p.leftClientsUnanswered()) {
                    unanswered.add(p.rung());
                }
            });
            Charts.bars(dir.resolve(workChart(kind)), "With a slow handler (--work " + kind + "): messages per second, "
                    + plan.work().connections() + " connections", "messages/s", rates, unanswered);
        }
    }

    private List<String> workKinds() {
        return scenario("work").stream().filter(Point::ran).map(Point::work).distinct().toList();
    }

    private static String workChart(String kind) {
        return "work-" + kind.replace(':', '-') + ".png";
    }

    /** One line per rung over the sweep; a point is unanswered where the rung left clients unanswered. */
    private List<Charts.Line> sweepLines(ToDoubleFunction<Point> value) {
        return sweepLines(value, Point::leftClientsUnanswered);
    }

    private List<Charts.Line> sweepLines(ToDoubleFunction<Point> value, java.util.function.Predicate<Point> unanswered) {
        return lines(scenario("sweep").stream().filter(Point::ran).toList(), p -> p.connections(), value, unanswered,
                p -> false);
    }

    private List<Charts.Line> lines(List<Point> of, ToDoubleFunction<Point> x, ToDoubleFunction<Point> value,
                                    java.util.function.Predicate<Point> unanswered,
                                    java.util.function.Predicate<Point> clientLimited) {
        List<Charts.Line> lines = new ArrayList<>();
        for (String rung : rungs()) {
            List<Charts.Mark> marks = new ArrayList<>();
            for (Point p : of) {
                double v = value.applyAsDouble(p);
                // A rung that answered nothing has no value of its own: it is drawn where unanswered go.
                boolean censored = unanswered.test(p);
                if (p.rung().equals(rung) && (v > 0 || censored)) {
                    marks.add(new Charts.Mark(x.applyAsDouble(p), v > 0 ? v : 0, censored, clientLimited.test(p)));
                }
            }
            marks.sort(Comparator.comparingDouble(Charts.Mark::x));
            lines.add(new Charts.Line(rung, marks));
        }
        return lines;
    }

    // ---------------------------------------------------------------- helpers

    private List<String> rungs() {
        Set<String> names = new LinkedHashSet<>();
        points.forEach(p -> names.add(p.rung()));
        return List.copyOf(names);
    }

    private List<Point> scenario(String name) {
        return points.stream().filter(p -> p.scenario().equals(name)).toList();
    }

    private Optional<Point> sweep(String rung, int connections) {
        return points.stream().filter(p -> p.scenario().equals("sweep") && p.rung().equals(rung)
                && p.connections() == connections).findFirst();
    }

    private static String num(double v) {
        return String.format(Locale.ROOT, "%.3f", v).replaceAll("\\.?0+$", "");
    }

    private static String quote(String s) {
        return LoadReport.quote(s);
    }
}
