package io.echoladder.common;

import java.io.PrintWriter;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;

/**
 * The command-line conventions every {@code ./ladder} subcommand shares. Bad input is one line on stderr
 * that begins with the command as typed ({@code ladder client: }) and exit 2; a failure is one line that
 * begins with the command's name ({@code client: }) and exit 1; never a stack trace. A mistyped command,
 * option or rung gets the nearest right one suggested. Every number takes a unit suffix
 * ({@link #parseNumber}), every duration one too ({@link #parseDuration}).
 */
public final class Cli {

    private Cli() {
    }

    /** Wraps a picocli command with the ladder's error conventions and number formats. */
    public static CommandLine commandLine(Object command) {
        CommandLine cl = new CommandLine(command);
        // After the subcommands exist: registerConverter reaches those present now.
        NumberConverter numbers = new NumberConverter();
        cl.registerConverter(Integer.class, numbers::toInt).registerConverter(int.class, numbers::toInt)
                .registerConverter(Long.class, numbers::toLong).registerConverter(long.class, numbers::toLong)
                .registerConverter(Double.class, numbers::toDouble).registerConverter(double.class, numbers::toDouble);
        cl.setParameterExceptionHandler((ex, args) -> {
            PrintWriter err = ex.getCommandLine().getErr();
            err.println(usagePrefix(ex.getCommandLine()) + usageMessage(ex));
            err.flush();
            return LadderException.USAGE;
        });
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            PrintWriter err = commandLine.getErr();
            if (ex instanceof LadderException le) {
                String prefix = le.exitCode() == LadderException.USAGE ? usagePrefix(commandLine) : failurePrefix(commandLine);
                err.println(prefix + le.getMessage());
                err.flush();
                return le.exitCode();
            }
            if (ex instanceof CommandLine.ParameterException pe) {
                err.println(usagePrefix(commandLine) + usageMessage(pe));
                err.flush();
                return LadderException.USAGE;
            }
            err.println(failurePrefix(commandLine) + ex.getClass().getSimpleName()
                    + (ex.getMessage() == null ? "" : ": " + ex.getMessage()));
            err.flush();
            return LadderException.FAILURE;
        });
        return cl;
    }

    /** Runs a command as a program's main and exits with its status. */
    public static void main(Object command, String[] args) {
        Interrupts.install();
        int status = commandLine(command).execute(args);
        System.out.flush();
        System.exit(status);
    }

    /** {@code ladder client: }: how bad input begins, the command as the user typed it. */
    static String usagePrefix(CommandLine commandLine) {
        String name = commandLine.getCommandSpec().name();
        return name.equals("ladder") ? "ladder: " : "ladder " + name + ": ";
    }

    /** {@code client: }: how a failure begins. */
    static String failurePrefix(CommandLine commandLine) {
        return commandLine.getCommandSpec().name() + ": ";
    }

    /** picocli's parse errors in the ladder's words: an unknown command or option names the nearest known one. */
    private static String usageMessage(CommandLine.ParameterException ex) {
        // picocli checks required options before it complains of unknown ones: `check --prot 7` would say
        // --port is missing, when the typo is what the user needs to hear about.
        CommandLine.ParseResult parsed = ex.getCommandLine().getParseResult();
        List<String> unmatched = ex instanceof CommandLine.UnmatchedArgumentException u ? u.getUnmatched()
                : parsed != null ? parsed.unmatched() : List.of();
        if (!unmatched.isEmpty()) {
            CommandSpec spec = ex.getCommandLine().getCommandSpec();
            String first = unmatched.getFirst();
            if (first.startsWith("-")) {
                String option = first.contains("=") ? first.substring(0, first.indexOf('=')) : first;
                return unknown("option", option, spec.optionsMap().keySet(), "see --help");
            }
            if (!spec.subcommands().isEmpty()) {
                return unknown("command", first, spec.subcommands().keySet(), "see --help");
            }
            return "unexpected argument '" + first + "' (see --help)";
        }
        String message = ex.getMessage();
        return message.endsWith(")") ? message : message + " (see --help)";
    }

    /**
     * {@code unknown rung 'epol' (did you mean 'epoll'?)}, or with no near candidate
     * {@code unknown rung 'x' (OTHERWISE)}.
     */
    public static String unknown(String what, String given, Collection<String> known, String otherwise) {
        return "unknown " + what + " '" + given + "' ("
                + didYouMean(given, known).map(s -> "did you mean '" + s + "'?").orElse(otherwise) + ")";
    }

    /**
     * The known word nearest to a mistyped one: at most one edit (a letter added, dropped, changed, or two
     * swapped) for short words, two for words of six letters or more; ties go to the first. Empty if
     * nothing is that near.
     */
    public static Optional<String> didYouMean(String typo, Collection<String> known) {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        String bare = typo.replaceFirst("^-+", "");
        int limit = bare.length() >= 6 ? 2 : 1;
        for (String candidate : known) {
            int d = distance(typo.toLowerCase(Locale.ROOT), candidate.toLowerCase(Locale.ROOT));
            if (d <= limit && d < bestDistance) {
                best = candidate;
                bestDistance = d;
            }
        }
        return Optional.ofNullable(best);
    }

    /** Optimal string alignment distance: insertions, deletions, substitutions, adjacent swaps. */
    static int distance(String a, String b) {
        int[][] d = new int[a.length() + 1][b.length() + 1];
        for (int i = 0; i <= a.length(); i++) {
            d[i][0] = i;
        }
        for (int j = 0; j <= b.length(); j++) {
            d[0][j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                d[i][j] = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
                if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2) && a.charAt(i - 2) == b.charAt(j - 1)) {
                    d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
                }
            }
        }
        return d[a.length()][b.length()];
    }

    /**
     * Parses a number with an optional unit suffix: {@code 5k}, {@code 1.5M}, {@code 2G} (thousands,
     * millions, billions), {@code 64KiB}, {@code 1MiB}, {@code 1GiB} (powers of 1,024), or a plain number
     * ({@code 100}, {@code 0.5}, {@code 1e6}).
     */
    public static double parseNumber(String text) {
        Matcher m = NUMBER.matcher(text.strip());
        if (!m.matches()) {
            throw new IllegalArgumentException("'" + text + "' is not a number (e.g. 100, 5k, 1M, 64KiB, 1MiB)");
        }
        double factor = switch (m.group(2)) {
            case null -> 1;
            case "k", "K" -> 1e3;
            case "M" -> 1e6;
            case "G" -> 1e9;
            case "KiB" -> 1024;
            case "MiB" -> 1024 * 1024;
            case "GiB" -> 1024 * 1024 * 1024;
            default -> throw new IllegalStateException(m.group(2));
        };
        return Double.parseDouble(m.group(1)) * factor;
    }

    private static final Pattern NUMBER = Pattern.compile(
            "([-+]?(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:[eE][-+]?\\d+)?)\\s*(k|K|M|G|KiB|MiB|GiB)?");

    /** {@link #parseNumber} for a whole number no larger than {@code max} in magnitude. */
    public static long parseWhole(String text, long max) {
        String plain = text.strip();
        if (plain.matches("[-+]?\\d{1,18}")) {
            long value = Long.parseLong(plain); // exact, where a double would round a long seed
            if (Math.abs(value) > max) {
                throw tooLarge(text, max);
            }
            return value;
        }
        double value = parseNumber(text);
        if (value != Math.rint(value)) {
            throw new IllegalArgumentException("'" + text + "' is not a whole number");
        }
        if (Math.abs(value) > max) {
            throw tooLarge(text, max);
        }
        return (long) value;
    }

    private static IllegalArgumentException tooLarge(String text, long max) {
        return new IllegalArgumentException(String.format(Locale.ROOT, "'%s' is too large (at most %,d)", text, max));
    }

    /** picocli converters for {@link #parseNumber} and {@link #parseWhole}. */
    private static final class NumberConverter {
        Integer toInt(String value) {
            try {
                return (int) parseWhole(value, Integer.MAX_VALUE);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }

        Long toLong(String value) {
            try {
                return parseWhole(value, Long.MAX_VALUE);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }

        Double toDouble(String value) {
            double d;
            try {
                d = parseNumber(value);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
            if (!Double.isFinite(d)) {
                throw new CommandLine.TypeConversionException("'" + value + "' is too large");
            }
            return d;
        }
    }

    /** Parses {@code 500ms}, {@code 1s}, {@code 1.5s}, {@code 2m}, {@code 1h}, a bare number of seconds, or ISO-8601. */
    public static Duration parseDuration(String text) {
        Matcher m = DURATION.matcher(text.trim().toLowerCase(Locale.ROOT));
        if (m.matches()) {
            double amount = Double.parseDouble(m.group(1));
            String unit = m.group(2) == null ? "s" : m.group(2);
            double nanos = amount * switch (unit) {
                case "us" -> 1e3;
                case "ms" -> 1e6;
                case "s" -> 1e9;
                case "m" -> 60e9;
                case "h" -> 3600e9;
                default -> throw new IllegalStateException(unit);
            };
            if (nanos <= Long.MAX_VALUE) {
                return Duration.ofNanos((long) nanos);
            }
        }
        try {
            return Duration.parse(text);
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException("'" + text + "' is not a duration (e.g. 500ms, 1s, 2m)");
        }
    }

    private static final Pattern DURATION = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*(us|ms|s|m|h)?");

    /** picocli converter for {@link #parseDuration}. */
    public static final class DurationConverter implements CommandLine.ITypeConverter<Duration> {
        @Override
        public Duration convert(String value) {
            try {
                return parseDuration(value);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }
}
