package io.echoladder.uring;

/**
 * A connection's received-but-not-yet-sent bytes, in order, as provided buffers (the bytes stay where the
 * kernel received them; only the buffer id, where its unsent part starts and how long it is are kept).
 * At most one send is in flight per connection, always of the head: two sends in flight could be
 * completed in either order by the kernel, and the client would get the bytes shuffled.
 */
final class SendQueue {

    /** Past this many unsent bytes the connection is not read until they drain: back-pressure. */
    static final int CAP = 256 * 1024;
    /**
     * Past this many queued buffers, too: each completion holds a whole provided buffer however few bytes
     * it carries, so a client that sends small messages and never reads would otherwise hold up to CAP
     * bytes' worth of buffers: 16 full 16 KiB buffers, but 256 of them in 1 KiB messages. At most seventeen
     * each (sixteen, and the one that crossed the cap): about 60 such clients fill the pool of 1,024.
     */
    static final int MAX_BUFFERS = 16;

    private static final int[] NONE = new int[0];

    // Three parallel rings of ints: buffer id, first unsent byte, end. Empty until first needed, so
    // 10,000 quiet connections hold no arrays.
    private int[] bid = NONE;
    private int[] from = NONE;
    private int[] to = NONE;
    private int head;
    private int size;
    private int bytes;
    boolean sending;

    boolean isEmpty() {
        return size == 0;
    }

    boolean overCap() {
        return bytes > CAP || size > MAX_BUFFERS;
    }

    /** Queues {@code length} bytes received into buffer {@code buffer}. */
    void add(int buffer, int length) {
        if (size == bid.length) {
            grow();
        }
        int i = (head + size) % bid.length;
        bid[i] = buffer;
        from[i] = 0;
        to[i] = length;
        size++;
        bytes += length;
    }

    int headBuffer() {
        return bid[head];
    }

    int headOffset() {
        return from[head];
    }

    int headLength() {
        return to[head] - from[head];
    }

    /**
     * The kernel took {@code n} bytes of the head. Returns the head's buffer id if it is now fully sent
     * (the caller gives it back), or -1 if part is left: a short send, resubmitted from where it stopped.
     */
    int sent(int n) {
        bytes -= n;
        from[head] += n;
        if (from[head] < to[head]) {
            return -1;
        }
        int done = bid[head];
        head = (head + 1) % bid.length;
        size--;
        if (size == 0) {
            head = 0;
        }
        return done;
    }

    /** Removes every queued buffer (the connection is closing) and returns their ids. */
    int[] drain() {
        int[] all = new int[size];
        for (int i = 0; i < size; i++) {
            all[i] = bid[(head + i) % bid.length];
        }
        head = size = bytes = 0;
        return all;
    }

    private void grow() {
        int capacity = Math.max(4, 2 * bid.length);
        int[][] grown = {new int[capacity], new int[capacity], new int[capacity]};
        int[][] old = {bid, from, to};
        for (int k = 0; k < 3; k++) {
            for (int i = 0; i < size; i++) {
                grown[k][i] = old[k][(head + i) % old[k].length];
            }
        }
        bid = grown[0];
        from = grown[1];
        to = grown[2];
        head = 0;
    }
}
