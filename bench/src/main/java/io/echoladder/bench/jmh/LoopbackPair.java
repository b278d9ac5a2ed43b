package io.echoladder.bench.jmh;

import io.echoladder.common.linux.Native;
import io.echoladder.common.linux.Posix;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;

/**
 * A connected loopback TCP pair, non-blocking, as channels and as the fds under them: the sockets the
 * benchmarks call {@code read} and {@code write} on, through NIO or through our bindings.
 */
final class LoopbackPair implements AutoCloseable {

    final SocketChannel a;
    final SocketChannel b;
    final int fdA;
    final int fdB;
    private final ServerSocketChannel listener;

    LoopbackPair() throws IOException {
        listener = ServerSocketChannel.open().bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        a = SocketChannel.open(listener.getLocalAddress());
        b = listener.accept();
        a.configureBlocking(false);
        b.configureBlocking(false);
        fdA = fd(a);
        fdB = fd(b);
    }

    /**
     * The fd under a channel: the connected socket bound to the channel's local port. (The listener
     * shares the accepted side's port; a read tells them apart: EAGAIN on the idle connected socket,
     * ENOTCONN on the listener.)
     */
    private static int fd(SocketChannel channel) throws IOException {
        int port = ((InetSocketAddress) channel.getLocalAddress()).getPort();
        try (Arena arena = Arena.ofConfined();
             var fds = java.nio.file.Files.list(java.nio.file.Path.of("/proc/self/fd"))) {
            MemorySegment one = arena.allocate(1);
            for (var path : fds.toList()) {
                int fd = Integer.parseInt(path.getFileName().toString());
                try {
                    if (Posix.getsockname(fd).getPort() == port && Posix.read(fd, one, 1) == -Native.EAGAIN) {
                        return fd;
                    }
                } catch (IOException notASocket) {
                    // keep looking
                }
            }
        }
        throw new IOException("no connected fd for port " + port);
    }

    @Override
    public void close() throws IOException {
        a.close();
        b.close();
        listener.close();
    }
}
