package io.echoladder.client.conformance;

/** A conformance case that did not hold, with one line saying what was seen. */
public final class CaseFailure extends Exception {

    public CaseFailure(String message) {
        super(message, null, false, false);
    }
}
