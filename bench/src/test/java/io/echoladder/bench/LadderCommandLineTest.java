package io.echoladder.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.echoladder.client.CommandProcess;
import io.echoladder.client.RungProcess;
import io.echoladder.common.Cli;
import io.echoladder.common.Rung;
import io.echoladder.common.Rungs;
import io.echoladder.common.ServeCommand;
import io.echoladder.common.Version;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The command line as a user meets it, on every rung and every command: one line for an address that
 * cannot be bound, SIGINT honoured however {@code serve} was started, Ctrl-C that keeps a bench's finished
 * points, {@code --version}, typos named, and examples in every {@code --help} that parse.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class LadderCommandLineTest {

    private static final Duration LIMIT = Duration.ofSeconds(60);

    /** An address no interface of a test machine has: bind(2) says EADDRNOTAVAIL. */
    private static final String FOREIGN = "10.255.255.1";

    @Test
    void everyRungRefusesAnAddressItCannotBindWithTheSameOneLine() throws Exception {
        List<String> seen = new ArrayList<>();
        for (Rung rung : Rungs.all()) {
            RungProcess.Refusal run = RungProcess.runExpectingExit(List.of(rung.id(), "--host", FOREIGN, "--port", "0"), LIMIT);
            if (rung.module().equals("uring") && run.output().contains("io_uring")) {
                seen.add(rung.id() + ": this machine refuses io_uring, before any bind: " + run.output());
                assertThat(run.status()).as(run.output()).isEqualTo(1);
                continue;
            }
            assertThat(run.status()).as("%s: %s", rung.id(), run.output()).isEqualTo(1);
            assertThat(run.output()).as(rung.id()).isEqualTo("serve: cannot listen on " + FOREIGN
                    + ":0: Cannot assign requested address (no interface of this machine has that address)");
            seen.add(rung.id());
        }
        assertThat(seen).hasSize(Rungs.all().size());
    }

    @Test
    void serveStopsOnSigintEvenWhenStartedWithItIgnored() throws Exception {
        // What a script's `./ladder serve ... &` does: sh starts the job with SIGINT ignored, and exec keeps it so.
        List<String> ignoringSigint = List.of("sh", "-c", "trap '' INT; exec \"$@\"", "sh");
        try (CommandProcess status = CommandProcess.startCommand(concat(ignoringSigint, List.of("cat", "/proc/self/status")))) {
            assertThat(status.awaitExit(LIMIT)).isZero();
            Matcher ignored = Pattern.compile("SigIgn:\\s*([0-9a-f]+)").matcher(status.stdout());
            assertThat(ignored.find()).as(status.stdout()).isTrue();
            assertThat(Long.parseLong(ignored.group(1), 16) & 0x2).as("SIGINT ignored by the precondition").isEqualTo(0x2);
        }
        try (CommandProcess serve = CommandProcess.startCommand(concat(ignoringSigint,
                RungProcess.javaCommand(ServeCommand.class.getName(), List.of("epoll", "--port", "0"))))) {
            assertThat(serve.await(s -> s.contains("listening on"), LIMIT)).as(serve.stderr()).isTrue();
            serve.sigint();
            assertThat(serve.awaitExit(Duration.ofSeconds(20))).as("exit status after SIGINT (-1: still running); "
                    + serve.stderr()).isZero();
            assertThat(serve.stdout()).contains("served per worker: ");
        }
    }

    @Test
    void aServerStartedForASoakOrABenchIsOutOfReachOfTheTerminalsCtrlC() throws Exception {
        try (RungProcess server = RungProcess.start("epoll", List.of())) {
            String[] stat = Files.readString(Path.of("/proc", Long.toString(server.pid()), "stat"))
                    .replaceFirst("^.*\\) ", "").split(" ");
            // Fields after the command: state, ppid, pgrp, session.
            assertThat(stat[2]).as("its own process group").isEqualTo(Long.toString(server.pid()));
            assertThat(stat[3]).as("its own session").isEqualTo(Long.toString(server.pid()));
            assertThat(Files.readString(Path.of("/proc", Long.toString(server.pid()), "cmdline")))
                    .as("the pid is the server's JVM itself").contains(ServeCommand.class.getName());
        }
    }

    @Test
    void ctrlCAtTheTerminalReachesTheCommandNotTheServersItStarted() throws Exception {
        // Ctrl-C at a terminal signals the whole foreground process group: the command and its children.
        try (CommandProcess command = CommandProcess.startAsForegroundJob(HoldsARung.class, "epoll")) {
            assertThat(command.await(s -> s.contains("serving, pid "), LIMIT)).as(command.stderr()).isTrue();
            command.sigintGroup();
            assertThat(command.awaitExit(LIMIT)).as(command.stdout() + command.stderr()).isZero();
            assertThat(command.stdout()).contains("still serving");
        }
    }

    @Test
    void ctrlCStopsABenchWithAReportOfThePointsItFinished(@TempDir Path out) throws Exception {
        try (CommandProcess bench = CommandProcess.start(BenchCommand.class, "--scenario", "sweep", "--rungs",
                "epoll,poll", "--connections", "1,10", "--duration", "3s", "--warmup", "200ms", "--out", out.toString())) {
            assertThat(bench.await(s -> s.contains("[2/4]"), LIMIT)).as(bench.stderr()).isTrue();
            bench.sigint();
            assertThat(bench.awaitExit(LIMIT)).as(bench.stderr()).isEqualTo(130);
            assertThat(bench.stderr()).contains("bench: interrupted after ").contains(": 1 of 4 points finished; wrote ");
            String json = Files.readString(out.resolve("results.json"));
            assertThat(json).contains("\"version\": \"" + Version.line() + "\"")
                    .containsPattern("\"interrupted\": \\{\"after_s\": [0-9.]+, \"during\": \"\\[2/4\\] sweep epoll 10 conn\", "
                            + "\"last_finished\": \"\\[1/4\\] sweep epoll 1 conn\", \"points_finished\": 1, \"points_planned\": 4}");
            assertThat(json.lines().filter(l -> l.contains("\"scenario\": "))).hasSize(1);
            String md = Files.readString(out.resolve("report.md"));
            assertThat(md).contains("Version: `" + Version.line() + "`")
                    .contains("**Stopped by Ctrl-C:** interrupted after ").contains("during [2/4] sweep epoll 10 conn: 1 of 4 points finished")
                    .contains("| `epoll` |");
        }
    }

    @Test
    void aFinishedBenchRecordsTheVersionAndNoInterruption(@TempDir Path out) {
        BenchTest.Run run = BenchTest.bench("--scenario", "sweep", "--rungs", "epoll", "--connections", "1",
                "--duration", "300ms", "--warmup", "100ms", "--out", out.toString());
        assertThat(run.status()).as(run.err() + run.progress()).isZero();
        assertThat(read(out.resolve("results.json"))).contains("\"version\": \"" + Version.line() + "\"")
                .contains("\"interrupted\": null");
        assertThat(read(out.resolve("report.md"))).contains("Version: `" + Version.line() + "`").doesNotContain("Ctrl-C");
    }

    record Run(int status, String out, String err) {
    }

    private static Run ladder(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = Cli.commandLine(new Ladder());
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        for (CommandLine sub : cl.getSubcommands().values()) {
            sub.setOut(new PrintWriter(out, true));
            sub.setErr(new PrintWriter(err, true));
        }
        return new Run(cl.execute(args), out.toString(), err.toString().strip());
    }

    @Test
    void versionIsOneLineOnEveryCommand() {
        assertThat(Version.line()).matches("ladder \\d+\\.\\d+\\.\\d+(-SNAPSHOT)? \\(git ([0-9a-f]{7,40}(-dirty)?|unknown)\\)");
        for (String[] args : new String[][] {{"--version"}, {"-V"}, {"serve", "--version"}, {"client", "-V"},
                {"bench", "--version"}, {"soak", "--version"}, {"check", "--version"}, {"list", "--version"}}) {
            Run run = ladder(args);
            assertThat(run.status()).as(String.join(" ", args)).isZero();
            assertThat(run.out()).as(String.join(" ", args)).isEqualTo(Version.line() + "\n");
        }
    }

    @Test
    void typosNameTheNearestCommandOptionOrRung() {
        assertThat(ladder("clinet")).isEqualTo(new Run(2, "", "ladder: unknown command 'clinet' (did you mean 'client'?)"));
        assertThat(ladder("serve", "epol")).isEqualTo(new Run(2, "", "ladder serve: unknown rung 'epol' (did you mean 'epoll'?)"));
        assertThat(ladder("serve", "epoll", "--workerz", "2"))
                .isEqualTo(new Run(2, "", "ladder serve: unknown option '--workerz' (did you mean '--workers'?)"));
        assertThat(ladder("soak", "thread-pol")).isEqualTo(new Run(2, "",
                "ladder soak: unknown rung 'thread-pol' (did you mean 'thread-pool'?)"));
        assertThat(ladder("bench", "--rungs", "epoll,io_uring")).isEqualTo(new Run(2, "",
                "ladder bench: unknown rung 'io_uring' (did you mean 'io-uring'?)"));
        assertThat(ladder("check", "--prot", "7")).isEqualTo(new Run(2, "",
                "ladder check: unknown option '--prot' (did you mean '--port'?)"));
        assertThat(ladder("bench", "--rates", "1e12")).extracting(Run::status).isEqualTo(2);
        assertThat(ladder("bench", "--rates", "1e12").err()).startsWith("ladder bench: --rates 1,000,000,000,000 msgs/s cannot be scheduled");
    }

    /**
     * Every {@code --help} ends with examples, and each example is a command line this ladder takes: its
     * command, options and values parse, and the rungs it names exist.
     */
    @Test
    void everyHelpEndsWithExamplesThatParse() {
        CommandLine top = Cli.commandLine(new Ladder());
        List<CommandLine> commands = new ArrayList<>(List.of(top));
        commands.addAll(top.getSubcommands().values());
        int examples = 0;
        for (CommandLine command : commands) {
            String help = command.getUsageMessage(CommandLine.Help.Ansi.OFF);
            int at = help.indexOf("\nExamples:\n");
            assertThat(at).as("%s --help has an Examples section:%n%s", command.getCommandName(), help).isNotNegative();
            List<String> section = help.substring(at + "\nExamples:\n".length()).lines().map(String::strip)
                    .filter(l -> !l.isEmpty()).toList();
            // A numbered sentence, then its command lines: a line wrapped at the help's width breaks this.
            assertThat(section).as("%s --help's examples", command.getCommandName())
                    .allMatch(l -> l.matches("\\d+\\. .*:") || l.startsWith("./ladder "));
            List<String> lines = section.stream().filter(l -> l.startsWith("./ladder ")).toList();
            assertThat(lines).as(command.getCommandName()).isNotEmpty();
            for (String line : lines) {
                String commandLine = line.replaceAll(" \\|.*$", "").replaceAll(" &$", "").replace("$!", "12345");
                List<String> args = Arrays.asList(commandLine.substring("./ladder ".length()).split("\\s+"));
                CommandLine.ParseResult parsed = Cli.commandLine(new Ladder()).parseArgs(args.toArray(String[]::new));
                CommandLine.ParseResult sub = parsed.subcommand();
                if (sub != null && sub.hasMatchedPositional(0)
                        && List.of("serve", "soak").contains(sub.commandSpec().name())) {
                    Rungs.require(sub.matchedPositional(0).getValue());
                }
                if (sub != null && sub.hasMatchedOption("--rungs")) {
                    List<String> rungs = sub.matchedOption("--rungs").getValue();
                    rungs.forEach(Rungs::require);
                }
                examples++;
            }
        }
        assertThat(examples).isGreaterThanOrEqualTo(commands.size());
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
