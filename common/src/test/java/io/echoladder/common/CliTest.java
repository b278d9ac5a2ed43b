package io.echoladder.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The command-line manners every subcommand shares: units on numbers, one error style, typos named. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class CliTest {

    @ParameterizedTest
    @CsvSource({"100, 100", "5k, 5000", "5K, 5000", "1.5k, 1500", "1M, 1000000", "2G, 2000000000",
            "64KiB, 65536", "1MiB, 1048576", "1GiB, 1073741824", "0.5, 0.5", "1e6, 1000000", "1e12, 1000000000000"})
    void numbersTakeUnitSuffixes(String text, double expected) {
        assertThat(Cli.parseNumber(text)).isEqualTo(expected);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {"5q | is not a number", "1MB | is not a number", "k | is not a number",
            "64 KiBs | is not a number"})
    void otherSuffixesAreRefusedNamingTheText(String text, String message) {
        assertThatThrownBy(() -> Cli.parseNumber(text)).hasMessageContaining("'" + text + "'").hasMessageContaining(message);
    }

    @Test
    void wholeNumbersAreExactAndBounded() {
        assertThat(Cli.parseWhole("9007199254740993", Long.MAX_VALUE)).as("beyond a double's precision")
                .isEqualTo(9007199254740993L);
        assertThat(Cli.parseWhole("64KiB", Integer.MAX_VALUE)).isEqualTo(65536);
        assertThat(Cli.parseWhole("-5", Integer.MAX_VALUE)).isEqualTo(-5);
        assertThatThrownBy(() -> Cli.parseWhole("1.5", Integer.MAX_VALUE)).hasMessageContaining("not a whole number");
        assertThatThrownBy(() -> Cli.parseWhole("3G", Integer.MAX_VALUE)).hasMessageContaining("too large");
    }

    @Test
    void durationsTakeUnitsToo() {
        assertThat(Cli.parseDuration("500ms")).isEqualTo(Duration.ofMillis(500));
        assertThat(Cli.parseDuration("2m")).isEqualTo(Duration.ofMinutes(2));
        assertThat(Cli.parseDuration("1.5s")).isEqualTo(Duration.ofMillis(1500));
        assertThat(Cli.parseDuration("10")).isEqualTo(Duration.ofSeconds(10));
    }

    @Test
    void theNearestKnownWordIsSuggestedOnlyWhenNear() {
        List<String> commands = List.of("list", "serve", "check", "client", "soak", "bench");
        assertThat(Cli.didYouMean("clinet", commands)).contains("client");
        assertThat(Cli.didYouMean("serv", commands)).contains("serve");
        assertThat(Cli.didYouMean("BENCH", commands)).contains("bench");
        assertThat(Cli.didYouMean("fly", commands)).isEmpty();
        assertThat(Cli.didYouMean("--prot", List.of("--port", "--host"))).contains("--port");
        assertThat(Cli.didYouMean("--conections", List.of("--connections", "--duration"))).contains("--connections");
        assertThat(Cli.unknown("rung", "epol", List.of("epoll", "poll"), "./ladder list shows them"))
                .isEqualTo("unknown rung 'epol' (did you mean 'epoll'?)");
        assertThat(Cli.unknown("rung", "zzz", List.of("epoll", "poll"), "./ladder list shows them"))
                .isEqualTo("unknown rung 'zzz' (./ladder list shows them)");
    }

    @Command(name = "ladder", subcommands = {Sub.class, Needy.class})
    static final class Top implements Runnable {
        @Override
        public void run() {
        }
    }

    @Command(name = "sub")
    static final class Sub implements Callable<Integer> {
        @Option(names = "--count")
        int count;

        @Option(names = "--fail")
        boolean fail;

        @Option(names = "--bad")
        boolean bad;

        @Override
        public Integer call() {
            if (fail) {
                throw LadderException.failure("it broke");
            }
            if (bad) {
                throw LadderException.usage("--bad is bad");
            }
            return count;
        }
    }

    @Command(name = "needy")
    static final class Needy implements Callable<Integer> {
        @Option(names = "--port", required = true)
        int port;

        @Override
        public Integer call() {
            return 0;
        }
    }

    record Run(int status, String err) {
    }

    private static Run run(String... args) {
        StringWriter err = new StringWriter();
        CommandLine cl = Cli.commandLine(new Top());
        cl.setErr(new PrintWriter(err, true));
        cl.getSubcommands().values().forEach(sub -> sub.setErr(new PrintWriter(err, true)));
        return new Run(cl.execute(args), err.toString().strip());
    }

    @Test
    void usageErrorsBeginWithTheCommandAsTypedAndFailuresWithItsName() {
        assertThat(run("sub", "--bad")).isEqualTo(new Run(2, "ladder sub: --bad is bad"));
        assertThat(run("sub", "--fail")).isEqualTo(new Run(1, "sub: it broke"));
        assertThat(run("sub", "--count", "x")).extracting(Run::status).isEqualTo(2);
        assertThat(run("sub", "--count", "x").err()).startsWith("ladder sub: ").doesNotContain("\n");
    }

    @Test
    void unknownCommandsAndOptionsNameTheNearestOne() {
        assertThat(run("sbu")).isEqualTo(new Run(2, "ladder: unknown command 'sbu' (did you mean 'sub'?)"));
        assertThat(run("elsewhere")).isEqualTo(new Run(2, "ladder: unknown command 'elsewhere' (see --help)"));
        assertThat(run("sub", "--cuont", "5")).isEqualTo(new Run(2, "ladder sub: unknown option '--cuont' (did you mean '--count'?)"));
        assertThat(run("sub", "--cuont=5")).isEqualTo(new Run(2, "ladder sub: unknown option '--cuont' (did you mean '--count'?)"));
        assertThat(run("sub", "extra")).isEqualTo(new Run(2, "ladder sub: unexpected argument 'extra' (see --help)"));
        assertThat(run("needy", "--prot", "7")).as("the typo, not the required option it hides")
                .isEqualTo(new Run(2, "ladder needy: unknown option '--prot' (did you mean '--port'?)"));
    }

    @Test
    void everyNumberOptionTakesUnits() {
        assertThat(run("sub", "--count", "5k").status()).isEqualTo(5000);
        assertThat(run("sub", "--count", "1KiB").status()).isEqualTo(1024);
    }
}
