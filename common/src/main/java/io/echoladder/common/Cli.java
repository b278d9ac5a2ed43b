package io.echoladder.common;

import java.io.PrintWriter;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine;

/**
 * The command-line conventions every {@code ./ladder} subcommand shares: bad input is one line on stderr
 * and exit 2, a failure is one line and exit 1, never a stack trace.
 */
public final class Cli {

    private Cli() {
    }

    /** Wraps a picocli command with the ladder's error conventions. */
    public static CommandLine commandLine(Object command) {
        CommandLine cl = new CommandLine(command);
        cl.setParameterExceptionHandler((ex, args) -> {
            PrintWriter err = ex.getCommandLine().getErr();
            err.println(prefix(ex.getCommandLine()) + ex.getMessage() + " (see --help)");
            err.flush();
            return LadderException.USAGE;
        });
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            PrintWriter err = commandLine.getErr();
            if (ex instanceof LadderException le) {
                err.println(prefix(commandLine) + le.getMessage());
                err.flush();
                return le.exitCode();
            }
            if (ex instanceof CommandLine.ParameterException pe) {
                err.println(prefix(commandLine) + pe.getMessage() + " (see --help)");
                err.flush();
                return LadderException.USAGE;
            }
            err.println(prefix(commandLine) + ex.getClass().getSimpleName()
                    + (ex.getMessage() == null ? "" : ": " + ex.getMessage()));
            err.flush();
            return LadderException.FAILURE;
        });
        return cl;
    }

    /** Runs a command as a program's main and exits with its status. */
    public static void main(Object command, String[] args) {
        int status = commandLine(command).execute(args);
        System.out.flush();
        System.exit(status);
    }

    private static String prefix(CommandLine commandLine) {
        return commandLine.getCommandSpec().qualifiedName() + ": ";
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
