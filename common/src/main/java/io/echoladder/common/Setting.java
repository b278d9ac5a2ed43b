package io.echoladder.common;

/** The {@code serve} options that only some rungs take. */
public enum Setting {
    WORKERS("--workers"),
    MAX_CONNECTIONS("--max-connections"),
    IDLE_TIMEOUT("--idle-timeout"),
    STATS("--stats"),
    EDGE_TRIGGERED("--edge-triggered"),
    NO_STARTUP_IMAGE("--no-startup-image"),
    /** Taken by the rungs whose handler calls {@link Work}; the others refuse it rather than ignore it. */
    WORK("--work"),
    WORK_TIMEOUT("--work-timeout",
            "the watchdog stops a stuck handler by interrupting the handler's own thread: on an event loop no"
                    + " other thread can stop a handler that blocks the loop, and the process rungs' handlers"
                    + " run in other processes"),
    /** Event loops that can hand {@link Work} to a pool of threads and take the result back into the loop. */
    OFFLOAD("--offload", "only an event loop has a loop to keep free; the other rungs already do the work on the"
            + " client's own thread or process");

    private final String flag;
    private final String whyRefused;

    Setting(String flag) {
        this(flag, "");
    }

    Setting(String flag, String whyRefused) {
        this.flag = flag;
        this.whyRefused = whyRefused;
    }

    public String flag() {
        return flag;
    }

    /**
     * Why a rung that does not take this option cannot, when that is the lesson rather than a gap; empty
     * when the rung's one-line model says enough.
     */
    public String whyRefused() {
        return whyRefused;
    }
}
