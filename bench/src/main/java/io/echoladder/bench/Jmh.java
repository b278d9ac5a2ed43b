package io.echoladder.bench;

import io.echoladder.bench.jmh.CriticalDowncallBenchmark;
import io.echoladder.bench.jmh.FfmVersusNioBenchmark;
import io.echoladder.bench.jmh.RoundTripBenchmark;
import io.echoladder.client.RungProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.results.format.ResultFormatType;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * The JMH benchmarks with short settings (one fork, 2 × 1 s warm-up, 3 × 1 s measured): a round trip per
 * rung at one connection, FFM against NIO on the read/write hot path, and what a critical downcall
 * saves on the calls the loops make. Writes jmh.json (JMH's own
 * format), jmh.txt (its log) and jmh.md (a table) into the report folder.
 */
final class Jmh {

    private Jmh() {
    }

    static String run(Path dir, List<String> rungs) throws RunnerException, java.io.IOException {
        Files.createDirectories(dir);
        Options options = new OptionsBuilder()
                .include(RoundTripBenchmark.class.getName())
                .include(FfmVersusNioBenchmark.class.getName())
                .include(CriticalDowncallBenchmark.class.getName())
                .param("rung", rungs.toArray(String[]::new))
                .forks(1)
                .warmupIterations(2)
                .warmupTime(TimeValue.seconds(1))
                .measurementIterations(3)
                .measurementTime(TimeValue.seconds(1))
                .jvmArgsAppend(RungProcess.JVM_FLAGS.toArray(String[]::new))
                .resultFormat(ResultFormatType.JSON)
                .result(dir.resolve("jmh.json").toString())
                .output(dir.resolve("jmh.txt").toString())
                .build();
        Collection<RunResult> results = new Runner(options).run();
        StringBuilder md = new StringBuilder("## JMH (one fork, 2 × 1 s warm-up, 3 × 1 s measured)\n\n");
        md.append("| benchmark | rung | score | error (99.9%) | unit |\n|---|---|---:|---:|---|\n");
        for (RunResult result : results) {
            var primary = result.getPrimaryResult();
            String name = result.getParams().getBenchmark();
            String rung = result.getParams().getParamsKeys().contains("rung") ? "`" + result.getParams().getParam("rung") + "`" : "";
            md.append(String.format(Locale.ROOT, "| %s | %s | %,.2f | %,.2f | %s |%n",
                    name.substring(name.lastIndexOf('.', name.lastIndexOf('.') - 1) + 1), rung, primary.getScore(),
                    primary.getScoreError(), primary.getScoreUnit()));
        }
        int expected = rungs.size() + benchmarks(FfmVersusNioBenchmark.class)
                + benchmarks(CriticalDowncallBenchmark.class);
        if (results.size() < expected) {
            md.append(String.format(Locale.ROOT, "%n%d of %d benchmarks failed; jmh.txt says why.%n",
                    expected - results.size(), expected));
        }
        String table = md.toString();
        Files.writeString(dir.resolve("jmh.md"), table);
        return table;
    }

    private static int benchmarks(Class<?> type) {
        return (int) java.util.Arrays.stream(type.getMethods())
                .filter(m -> m.isAnnotationPresent(org.openjdk.jmh.annotations.Benchmark.class)).count();
    }
}
