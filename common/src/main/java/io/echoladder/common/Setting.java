package io.echoladder.common;

/** The {@code serve} options that only some rungs take. */
public enum Setting {
    WORKERS("--workers"),
    MAX_CONNECTIONS("--max-connections"),
    IDLE_TIMEOUT("--idle-timeout"),
    STATS("--stats"),
    EDGE_TRIGGERED("--edge-triggered"),
    NO_STARTUP_IMAGE("--no-startup-image");

    private final String flag;

    Setting(String flag) {
        this.flag = flag;
    }

    public String flag() {
        return flag;
    }
}
