package io.echoladder.common;

/**
 * A failure the user can act on, reported as one line on stderr with this exit status (never a stack
 * trace): 2 for bad input, 1 for everything else.
 */
public final class LadderException extends RuntimeException {

    public static final int USAGE = 2;
    public static final int FAILURE = 1;

    private final int exitCode;

    public LadderException(int exitCode, String message) {
        super(message, null, false, false);
        this.exitCode = exitCode;
    }

    public static LadderException usage(String message) {
        return new LadderException(USAGE, message);
    }

    public static LadderException failure(String message) {
        return new LadderException(FAILURE, message);
    }

    public int exitCode() {
        return exitCode;
    }
}
