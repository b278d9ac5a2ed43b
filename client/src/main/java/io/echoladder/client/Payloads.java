package io.echoladder.client;

import java.nio.ByteBuffer;

/**
 * The bytes the load client sends: one pool of seeded pseudo-random bytes, generated once, from which
 * message {@code m} of connection {@code c} is the slice at an offset mixed from (seed, c, m). Every
 * message differs from its neighbours, nothing is allocated per message, and the receiver compares what
 * comes back against the same slice.
 */
final class Payloads {

    private final ByteBuffer pool;
    private final int size;
    private final long seed;
    private final int span;

    Payloads(long seed, int size) {
        this.size = size;
        this.seed = seed;
        int length = (int) Math.min(Integer.MAX_VALUE - 8, Math.max(1 << 20, 4L * size));
        byte[] bytes = Payload.random(seed, length);
        this.pool = ByteBuffer.allocateDirect(length);
        pool.put(bytes).flip();
        this.span = length - size + 1;
    }

    /** A view of the pool whose position and limit the caller may move: one per user, never shared. */
    ByteBuffer view() {
        return pool.duplicate();
    }

    /** Where message {@code message} of connection {@code connection} starts in the pool. */
    int offset(long connection, long message) {
        long h = seed ^ (connection * 0x9E3779B97F4A7C15L) ^ (message * 0xC2B2AE3D27D4EB4FL);
        // The finaliser of SplitMix64: cheap, and every input bit reaches every output bit.
        h = (h ^ (h >>> 30)) * 0xBF58476D1CE4E5B9L;
        h = (h ^ (h >>> 27)) * 0x94D049BB133111EBL;
        h ^= h >>> 31;
        return (int) Math.floorMod(h, (long) span);
    }

    int size() {
        return size;
    }

    byte byteAt(int index) {
        return pool.get(index);
    }
}
