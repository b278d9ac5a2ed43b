package io.echoladder.common;

import java.nio.file.Path;
import java.util.List;

/** How the ladder starts a JVM of its own: the suite's servers, the bench's, the process rungs' workers. */
public final class Jvm {

    private Jvm() {
    }

    /**
     * Flags of every JVM the ladder starts; {@code ./ladder} passes the same ones (keep the two in step).
     * The rungs call Linux through java.lang.foreign, which must be enabled by name.
     */
    public static final List<String> FLAGS = List.of("--enable-native-access=ALL-UNNAMED");

    /**
     * Touch every page of the heap when it is committed, not when it is first used: what {@code soak} starts
     * a rung with, so that its RSS no longer grows as a young generation cycles through heap it had never
     * written, and growth in RSS is memory newly taken.
     */
    public static final String PRE_TOUCH = "-XX:+AlwaysPreTouch";

    /** Whether this JVM was started with {@link #PRE_TOUCH} (on its command line or in JAVA_TOOL_OPTIONS). */
    public static boolean preTouched() {
        return java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments().contains(PRE_TOUCH);
    }

    /** The JDK running this JVM: what it starts runs on the same one. */
    public static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }
}
