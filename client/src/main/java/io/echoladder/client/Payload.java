package io.echoladder.client;

import java.util.SplittableRandom;

/**
 * Pseudo-random bytes from a seed: every byte value occurs (zero included), no two streams repeat each
 * other, and the receiver can regenerate what was sent instead of keeping a copy.
 */
public final class Payload {

    private Payload() {
    }

    /** {@code length} bytes from {@code seed}; the same seed always gives the same bytes. */
    public static byte[] random(long seed, int length) {
        byte[] bytes = new byte[length];
        new SplittableRandom(seed).nextBytes(bytes);
        return bytes;
    }

    /** The seed of message {@code message} on connection {@code connection} of a run seeded {@code runSeed}. */
    public static long seed(long runSeed, long connection, long message) {
        // Mixing through SplittableRandom keeps nearby (connection, message) pairs far apart.
        return new SplittableRandom(runSeed ^ (connection * 0x9E3779B97F4A7C15L) ^ (message * 0xC2B2AE3D27D4EB4FL))
                .nextLong();
    }
}
