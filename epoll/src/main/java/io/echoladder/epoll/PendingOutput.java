package io.echoladder.epoll;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;

/**
 * The bytes a connection has read but the kernel would not yet take back (a partial write): kept in
 * order, in a heap array that grows to what is needed and shrinks back to nothing when drained. The
 * event loops stop reading a connection whose pending output passes {@link #CAP}, so this never grows
 * past CAP plus one read.
 */
final class PendingOutput {

    /** Past this much unsent output a connection is not read until it drains: back-pressure. */
    static final int CAP = 256 * 1024;

    private static final byte[] EMPTY = new byte[0];

    private byte[] bytes = EMPTY;
    private int start;
    private int end;

    int size() {
        return end - start;
    }

    boolean isEmpty() {
        return start == end;
    }

    boolean overCap() {
        return size() > CAP;
    }

    /** Appends {@code length} bytes of native memory from {@code offset}. */
    void append(MemorySegment from, long offset, int length) {
        ensure(length);
        MemorySegment.copy(from, ValueLayout.JAVA_BYTE, offset, bytes, end, length);
        end += length;
    }

    /** Appends the remaining bytes of a buffer. */
    void append(ByteBuffer from) {
        int length = from.remaining();
        ensure(length);
        from.get(bytes, end, length);
        end += length;
    }

    /** Copies up to {@code max} pending bytes into {@code to} (native memory) and returns how many. */
    int peek(MemorySegment to, int max) {
        int n = Math.min(max, size());
        MemorySegment.copy(bytes, start, to, ValueLayout.JAVA_BYTE, 0, n);
        return n;
    }

    /** The pending bytes as a buffer to write from; {@link #consume} what was written. */
    ByteBuffer asBuffer() {
        return ByteBuffer.wrap(bytes, start, size());
    }

    /** Drops {@code n} bytes the kernel has taken. */
    void consume(int n) {
        start += n;
        if (start == end) {
            // Drained: let a burst's memory go, so 10,000 quiet connections hold no buffers.
            bytes = EMPTY;
            start = end = 0;
        }
    }

    private void ensure(int length) {
        if (end + length <= bytes.length) {
            return;
        }
        int size = size();
        byte[] bigger = size + length <= bytes.length ? bytes : new byte[Math.max(size + length, 2 * bytes.length)];
        System.arraycopy(bytes, start, bigger, 0, size);
        bytes = bigger;
        start = 0;
        end = size;
    }
}
