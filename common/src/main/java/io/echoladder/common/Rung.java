package io.echoladder.common;

import java.io.IOException;
import java.util.Set;

/**
 * One rung of the ladder: an echo server architecture that {@code ./ladder serve ID} can start.
 *
 * <p>Rungs are found with {@link java.util.ServiceLoader}: each module lists its rungs in
 * {@code META-INF/services/io.echoladder.common.Rung}, so the launcher knows every rung on its class path
 * without a central registry.
 */
public interface Rung {

    /** The command-line id, e.g. {@code blocking}. */
    String id();

    /** Position on the ladder; {@code ./ladder list} sorts by it. */
    int step();

    /** The Maven module the rung lives in. */
    String module();

    /** One line: the model, in words a learner can read. */
    String description();

    /** The options of {@code serve} this rung honours; the others are refused. */
    Set<Setting> settings();

    /**
     * Binds the listener (so the real port is known) without serving yet.
     *
     * @throws java.net.BindException if the address is taken
     */
    EchoServer bind(ServerConfig config) throws IOException;
}
