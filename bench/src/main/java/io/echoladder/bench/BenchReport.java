package io.echoladder.bench;

import io.echoladder.client.LoadReport;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.function.ToDoubleFunction;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.Styler;

/** Writes a bench run: results.json (every number), report.md (tables and sentences) and PNG charts. */
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

    private final Bench.Plan plan;
    private final List<Point> points;
    private final Machine machine;
    private final ZonedDateTime when;
    private final String command;

    BenchReport(Bench.Plan plan, List<Point> points, Machine machine, ZonedDateTime when, String command) {
        this.plan = plan;
        this.points = points;
        this.machine = machine;
        this.when = when;
        this.command = command;
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
        out.append(String.format(Locale.ROOT,
                "  \"machine\": {\"cores\": %d, \"memory_bytes\": %d, \"cpu\": %s, \"kernel\": %s, \"jdk\": %s},%n",
                machine.cores(), machine.memoryBytes(), quote(machine.cpu()), quote(machine.kernel()), quote(machine.jdk())));
        out.append(String.format(Locale.ROOT,
                "  \"plan\": {\"size\": %d, \"warmup_s\": %s, \"duration_s\": %s, \"client_threads\": %d},%n",
                plan.size(), plan.warmup().toMillis() / 1000.0, plan.duration().toMillis() / 1000.0, plan.clientThreads()));
        out.append("  \"points\": [\n");
        for (int i = 0; i < points.size(); i++) {
            Point p = points.get(i);
            out.append(String.format(Locale.ROOT,
                    "    {\"scenario\": %s, \"rung\": %s, \"connections\": %d, \"rate\": %s, \"server\": {\"cpu_s\": %s, "
                            + "\"cpu_us_per_msg\": %s, \"cores\": %s, \"peak_rss_bytes\": %d, \"threads\": %d, "
                            + "\"processes\": %d, \"fds\": %d, \"served_per_worker\": %s}, \"client\": %s, \"note\": %s}%s%n",
                    quote(p.scenario()), quote(p.rung()), p.connections(), p.rate() > 0 ? num(p.rate()) : "null",
                    p.serverCpuNanos() >= 0 ? num(p.serverCpuNanos() / 1e9) : "null",
                    p.serverCpuMicrosPerMessage() >= 0 ? num(p.serverCpuMicrosPerMessage()) : "null",
                    p.serverCores() >= 0 ? num(p.serverCores()) : "null",
                    p.peakRss(), p.threads(), p.processes(), p.fds(),
                    p.servedPerWorker() == null ? "null" : quote(p.servedPerWorker()),
                    p.ran() ? p.report().toJson() : "null",
                    p.note() == null ? "null" : quote(p.note()), i + 1 < points.size() ? "," : ""));
        }
        return out.append("  ]\n}\n").toString();
    }

    // ---------------------------------------------------------------- Markdown

    String markdown() {
        StringBuilder md = new StringBuilder();
        md.append("# The echo ladder, measured\n\n");
        md.append("Run ").append(when.toLocalDate()).append(" on ").append(machine.words()).append(".  \n");
        md.append("Command: `").append(command).append("`  \n");
        md.append(String.format(Locale.ROOT, "Each rung ran as a fresh process for every point; the client (%d event-loop thread%s) "
                        + "ran in the bench's JVM with a %s s warm-up and a %s s measured window per point. "
                        + "Figures move by 10-20%% between runs on a shared 2-core machine: compare rows of one table, "
                        + "not runs on different days.%n%n",
                plan.clientThreads(), plan.clientThreads() == 1 ? "" : "s",
                num(plan.warmup().toMillis() / 1000.0), num(plan.duration().toMillis() / 1000.0)));

        List<String> rungs = rungs();
        List<Integer> counts = plan.connections();
        md.append("## What the numbers show\n\n");
        for (String sentence : sentences()) {
            md.append("- ").append(sentence).append('\n');
        }
        md.append('\n');

        md.append(String.format(Locale.ROOT, "## Throughput: messages per second, closed loop, %d B messages%n%n", plan.size()));
        md.append(sweepTable(rungs, counts, p -> p.messagesPerSecond(), "%,.0f", true));
        md.append(String.format(Locale.ROOT, "%nA figure with errors in brackets had connections that got no reply "
                + "within %s s or were closed: those connections stopped, and the figure is what the rest achieved.%n%n",
                num(plan.replyTimeout().toMillis() / 1000.0)));
        md.append("## p99 latency, microseconds (closed loop)\n\n");
        md.append(sweepTable(rungs, counts, p -> LoadReport.us(p.report().latency(), 99), "%,.0f", false));
        md.append("\n## Server memory: peak RSS, MiB (all its processes)\n\n");
        md.append(sweepTable(rungs, counts, p -> p.peakRss() / 1048576.0, "%,.0f", false));
        md.append("\n## Server threads (all its processes)\n\n");
        md.append(sweepTable(rungs, counts, p -> p.threads(), "%,.0f", false));
        md.append("\n## CPU per message, microseconds: server / client\n\n");
        md.append(sweepCpuTable(rungs, counts));

        List<Point> churn = scenario("churn");
        if (!churn.isEmpty()) {
            md.append(String.format(Locale.ROOT, "%n## Churn: a fresh connection per %,d B exchange, %d at a time%n%n",
                    plan.churnSize(), plan.churnConnections()));
            md.append("| rung | exchanges/s | server CPU per connection (us) | connect p50 (us) | connect p99 (us) | exchange p99 (us) | errors |\n");
            md.append("|---|---:|---:|---:|---:|---:|---:|\n");
            for (Point p : churn) {
                if (!p.ran()) {
                    md.append("| `").append(p.rung()).append("` | ").append(p.note()).append(" | | | | | |\n");
                    continue;
                }
                md.append(String.format(Locale.ROOT, "| `%s` | %,.0f | %s | %,.0f | %,.0f | %,.0f | %d |%n", p.rung(),
                        p.messagesPerSecond(), p.serverCpuMicrosPerMessage() >= 0 ? String.format(Locale.ROOT, "%,.1f", p.serverCpuMicrosPerMessage()) : "n/a",
                        LoadReport.us(p.report().connect(), 50), LoadReport.us(p.report().connect(), 99),
                        LoadReport.us(p.report().latency(), 99), p.errors()));
            }
        }
        List<Point> latency = scenario("latency");
        for (double rate : plan.rates()) {
            md.append(String.format(Locale.ROOT, "%n## Open loop: %,.0f msgs/s offered over %d connections%n%n", rate,
                    plan.rateConnections()));
            md.append("Latency counts from each message's intended send time, so a rung that falls behind shows it here.\n\n");
            md.append("| rung | achieved msgs/s | p50 (us) | p99 (us) | p99.9 (us) | max (us) | errors |\n");
            md.append("|---|---:|---:|---:|---:|---:|---:|\n");
            for (Point p : latency) {
                if (p.rate() != rate) {
                    continue;
                }
                if (!p.ran()) {
                    md.append("| `").append(p.rung()).append("` | ").append(p.note()).append(" | | | | | |\n");
                    continue;
                }
                md.append(String.format(Locale.ROOT, "| `%s` | %,.0f | %,.0f | %,.0f | %,.0f | %,.0f | %d |%n", p.rung(),
                        p.messagesPerSecond(), LoadReport.us(p.report().latency(), 50), LoadReport.us(p.report().latency(), 99),
                        LoadReport.us(p.report().latency(), 99.9), LoadReport.maxUs(p.report().latency()), p.errors()));
            }
        }
        List<Point> pooled = churn.stream().filter(p -> p.servedPerWorker() != null
                && p.servedPerWorker().split("=").length > 2).toList();
        if (!pooled.isEmpty()) {
            md.append("\n## Accept distribution (churn): connections served per worker\n\n");
            md.append("How evenly the kernel (or the rung) spread the connections over its workers.\n\n");
            md.append("| rung | per worker |\n|---|---|\n");
            for (Point p : pooled) {
                md.append("| `").append(p.rung()).append("` | ")
                        .append(p.servedPerWorker().substring("served per worker: ".length())).append(" |\n");
            }
        }
        List<Point> notes = points.stream().filter(p -> p.note() != null).toList();
        if (!notes.isEmpty()) {
            md.append("\n## Points that did not run cleanly\n\n");
            for (Point p : notes) {
                md.append(String.format(Locale.ROOT, "- %s `%s` at %,d connections: %s%n", p.scenario(), p.rung(),
                        p.connections(), p.note()));
            }
        }
        md.append("\n## Charts\n\n![throughput](throughput.png)\n\n![p99 latency](latency-p99.png)\n\n"
                + "![server RSS](rss.png)\n\n![server CPU per message](cpu-per-message.png)\n");
        if (!churn.isEmpty()) {
            md.append("\n![churn: server CPU per connection](churn-cpu.png)\n");
        }
        return md.toString();
    }

    /** A number per sweep point; negative means unknown. */
    private String sweepTable(List<String> rungs, List<Integer> counts, ToDoubleFunction<Point> value, String format,
                              boolean showErrors) {
        return sweepTable(rungs, counts, p -> {
            double v = value.applyAsDouble(p);
            String cell = v < 0 ? "n/a" : String.format(Locale.ROOT, format, v);
            return showErrors && p.errors() > 0 ? cell + " (" + p.errors() + " errors)" : cell;
        });
    }

    /** Server and client CPU per message, where messages were answered. */
    private String sweepCpuTable(List<String> rungs, List<Integer> counts) {
        return sweepTable(rungs, counts, p -> {
            if (p.report().messages() == 0) {
                return "n/a";
            }
            double server = p.serverCpuMicrosPerMessage();
            return String.format(Locale.ROOT, "%s / %.1f",
                    server >= 0 ? String.format(Locale.ROOT, "%.1f", server) : "n/a", p.report().cpuMicrosPerMessage());
        });
    }

    /** A rung-by-connections table: one row per rung, one cell per sweep point that ran. */
    private String sweepTable(List<String> rungs, List<Integer> counts, java.util.function.Function<Point, String> cell) {
        StringBuilder md = new StringBuilder("| rung |");
        counts.forEach(c -> md.append(String.format(Locale.ROOT, " %,d |", c)));
        md.append("\n|---|").append("---:|".repeat(counts.size())).append('\n');
        for (String rung : rungs) {
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
        int top = plan.connections().stream().filter(c -> points.stream()
                .anyMatch(p -> p.scenario().equals("sweep") && p.connections() == c && p.ran())).max(Integer::compare).orElse(0);
        List<Point> atTop = scenario("sweep").stream().filter(p -> p.connections() == top && p.ran()).toList();
        Optional<Point> best = atTop.stream().filter(p -> p.errors() == 0).max(Comparator.comparingDouble(Point::messagesPerSecond));
        Optional<Point> blocking = atTop.stream().filter(p -> p.rung().equals("blocking")).findFirst();
        if (best.isPresent()) {
            String sentence = String.format(Locale.ROOT, "At %,d connections the fastest rung without errors was `%s`, "
                    + "%,.0f msgs/s", top, best.get().rung(), best.get().messagesPerSecond());
            if (blocking.isPresent() && blocking.get().messagesPerSecond() > 0 && !best.get().rung().equals("blocking")) {
                sentence += String.format(Locale.ROOT, ", %.1f× the blocking rung (which answered %,d of %,d connections)",
                        best.get().messagesPerSecond() / blocking.get().messagesPerSecond(),
                        top - Math.min(top, blocking.get().errors()), top);
            }
            out.add(sentence + ".");
        }
        for (Point p : scenario("sweep")) {
            if (p.ran() && p.errors() > 0 && p.connections() == firstFailingCount(p.rung())) {
                out.add(String.format(Locale.ROOT, "`%s` first lost connections at %,d clients: %d of them got no reply "
                        + "or were closed (first: %s).", p.rung(), p.connections(), p.errors(),
                        p.report().errors().firsts().values().iterator().next()));
            }
        }
        List<Point> memory = atTop.stream().filter(p -> p.peakRss() > 0).sorted(Comparator.comparingLong(Point::peakRss)).toList();
        if (memory.size() >= 2) {
            Point low = memory.getFirst();
            Point high = memory.getLast();
            out.add(String.format(Locale.ROOT, "Holding %,d connections, `%s` used the most memory (%,d MiB, %,d threads) "
                            + "and `%s` the least (%,d MiB, %,d threads).", top, high.rung(), high.peakRss() >> 20,
                    high.threads(), low.rung(), low.peakRss() >> 20, low.threads()));
        }
        List<Point> churn = scenario("churn").stream().filter(p -> p.serverCpuMicrosPerMessage() > 0).toList();
        if (churn.size() >= 2) {
            Point cheap = churn.stream().min(Comparator.comparingDouble(Point::serverCpuMicrosPerMessage)).orElseThrow();
            Point dear = churn.stream().max(Comparator.comparingDouble(Point::serverCpuMicrosPerMessage)).orElseThrow();
            out.add(String.format(Locale.ROOT, "A new connection cost the server %.0f us of CPU in `%s` and %.0f us in `%s`.",
                    dear.serverCpuMicrosPerMessage(), dear.rung(), cheap.serverCpuMicrosPerMessage(), cheap.rung()));
        }
        return out;
    }

    private int firstFailingCount(String rung) {
        return scenario("sweep").stream().filter(p -> p.rung().equals(rung) && p.ran() && p.errors() > 0)
                .mapToInt(Point::connections).min().orElse(-1);
    }

    // ---------------------------------------------------------------- charts

    private void charts(Path dir) throws IOException {
        System.setProperty("java.awt.headless", "true");
        xy(dir.resolve("throughput.png"), "Throughput (closed loop)", "messages/s", false, Point::messagesPerSecond);
        xy(dir.resolve("latency-p99.png"), "p99 latency (closed loop)", "microseconds", true,
                p -> LoadReport.us(p.report().latency(), 99));
        xy(dir.resolve("rss.png"), "Server memory (peak RSS)", "MiB", true, p -> p.peakRss() / 1048576.0);
        xy(dir.resolve("cpu-per-message.png"), "Server CPU per message", "microseconds", true,
                Point::serverCpuMicrosPerMessage);
        List<Point> churn = scenario("churn").stream().filter(p -> p.serverCpuMicrosPerMessage() > 0).toList();
        if (!churn.isEmpty()) {
            CategoryChart chart = new CategoryChartBuilder().width(900).height(520)
                    .title("Churn: server CPU per connection").xAxisTitle("rung").yAxisTitle("microseconds").build();
            chart.getStyler().setLegendVisible(false);
            chart.getStyler().setXAxisLabelRotation(30);
            chart.addSeries("CPU per connection", churn.stream().map(Point::rung).toList(),
                    churn.stream().map(Point::serverCpuMicrosPerMessage).toList());
            BitmapEncoder.saveBitmap(chart, dir.resolve("churn-cpu.png").toString(), BitmapEncoder.BitmapFormat.PNG);
        }
    }

    private void xy(Path file, String title, String yTitle, boolean logY, ToDoubleFunction<Point> value) throws IOException {
        XYChart chart = new XYChartBuilder().width(900).height(520).title(title)
                .xAxisTitle("connections").yAxisTitle(yTitle).build();
        chart.getStyler().setXAxisLogarithmic(true);
        chart.getStyler().setYAxisLogarithmic(logY);
        chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideE);
        chart.getStyler().setMarkerSize(6);
        chart.getStyler().setYAxisDecimalPattern("#,###.#");
        chart.getStyler().setXAxisDecimalPattern("#,###");
        boolean any = false;
        for (String rung : rungs()) {
            List<Double> xs = new ArrayList<>();
            List<Double> ys = new ArrayList<>();
            for (int c : plan.connections()) {
                Optional<Point> p = sweep(rung, c);
                if (p.isPresent() && p.get().ran()) {
                    double v = value.applyAsDouble(p.get());
                    if (v > 0) {
                        xs.add((double) c);
                        ys.add(v);
                    }
                }
            }
            if (!xs.isEmpty()) {
                // A rung that lost connections is measured on the ones it served: say so in the legend.
                boolean lost = plan.connections().stream().map(c -> sweep(rung, c))
                        .anyMatch(p -> p.isPresent() && p.get().errors() > 0);
                chart.addSeries(lost ? rung + " (lost connections)" : rung, xs, ys);
                any = true;
            }
        }
        if (any) {
            BitmapEncoder.saveBitmap(chart, file.toString(), BitmapEncoder.BitmapFormat.PNG);
        }
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
