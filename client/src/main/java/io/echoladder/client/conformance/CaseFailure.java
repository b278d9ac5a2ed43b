package io.echoladder.client.conformance;

/** A conformance case that did not hold, with one line saying what was seen, and what kind of trouble it was. */
public final class CaseFailure extends Exception {

    /** What went wrong, for the cases that judge a server by how its clients fared. */
    public enum Kind {
        /** A byte came back different, or more bytes came back than were sent. */
        WRONG_BYTES,
        /** Nothing came back within the reply timeout. */
        NO_REPLY,
        /** The server closed, reset or refused the connection. */
        CLOSED,
        /** Anything else (a write failed, the test was interrupted). */
        OTHER
    }

    private final Kind kind;

    public CaseFailure(String message) {
        this(Kind.OTHER, message);
    }

    public CaseFailure(Kind kind, String message) {
        super(message, null, false, false);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }
}
