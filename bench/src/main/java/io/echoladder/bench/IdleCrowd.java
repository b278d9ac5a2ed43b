package io.echoladder.bench;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The idle scenario's silent connections: opened one after another before a point, never written to, closed
 * after it. What a server pays for them while other clients talk is the point of the scenario.
 */
final class IdleCrowd implements AutoCloseable {

    private static final int CONNECT_TIMEOUT_MILLIS = 2000;

    private final List<SocketChannel> channels = new ArrayList<>();
    private String failure;

    private IdleCrowd() {
    }

    /**
     * Opens up to {@code count} connections, giving up at the first that fails or when {@code limit} has
     * passed; {@link #failure()} says why it stopped short.
     */
    static IdleCrowd open(InetSocketAddress address, int count, Duration limit) {
        IdleCrowd crowd = new IdleCrowd();
        long deadline = System.nanoTime() + limit.toNanos();
        for (int i = 0; i < count; i++) {
            if (System.nanoTime() > deadline) {
                crowd.failure = "opened " + i + " of " + count + " idle connections in " + limit.toSeconds() + " s";
                break;
            }
            SocketChannel channel = null;
            try {
                channel = SocketChannel.open();
                channel.socket().connect(address, CONNECT_TIMEOUT_MILLIS);
                channel.configureBlocking(false);
                crowd.channels.add(channel);
            } catch (IOException e) {
                close(channel);
                crowd.failure = "idle connection " + i + " of " + count + ": " + e.getMessage();
                break;
            }
        }
        return crowd;
    }

    int opened() {
        return channels.size();
    }

    /** Why fewer than asked were opened, or null. */
    String failure() {
        return failure;
    }

    /** How many are still open from the server's side: a read that finds end-of-stream or a reset is one the server closed. */
    int held() {
        ByteBuffer one = ByteBuffer.allocate(1);
        int held = 0;
        for (SocketChannel channel : channels) {
            try {
                one.clear();
                if (channel.read(one) >= 0) {
                    held++;
                }
            } catch (IOException reset) {
                // closed by the server
            }
        }
        return held;
    }

    @Override
    public void close() {
        channels.forEach(IdleCrowd::close);
        channels.clear();
    }

    private static void close(SocketChannel channel) {
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException ignored) {
                // nothing more to free
            }
        }
    }
}
