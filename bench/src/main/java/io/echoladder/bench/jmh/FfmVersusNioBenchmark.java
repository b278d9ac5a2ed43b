package io.echoladder.bench.jmh;

import io.echoladder.common.linux.Posix;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The hot path the epoll rung chose: a 64-byte write and read on a connected loopback socket through
 * our {@code java.lang.foreign} bindings (critical downcalls on a native buffer) against the same two
 * calls through {@code SocketChannel} (locks, blocking-mode checks, a direct ByteBuffer). The syscalls
 * are identical; the difference is what each path adds around them.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class FfmVersusNioBenchmark {

    private ServerSocketChannel listener;
    private SocketChannel a;
    private SocketChannel b;
    private Arena arena;
    private MemorySegment segment;
    private int fdA;
    private int fdB;
    private final ByteBuffer buffer = ByteBuffer.allocateDirect(64);

    @Setup(Level.Trial)
    public void connect() throws IOException {
        listener = ServerSocketChannel.open().bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        a = SocketChannel.open(listener.getLocalAddress());
        b = listener.accept();
        a.configureBlocking(false);
        b.configureBlocking(false);
        arena = Arena.ofConfined();
        segment = arena.allocate(64);
        fdA = fd(a);
        fdB = fd(b);
        // Both paths must really move 64 bytes, or the comparison measures an error return.
        long written = Posix.write(fdA, segment, 64);
        long read = Posix.read(fdB, segment, 64);
        if (written != 64 || read != 64) {
            throw new IOException("the FFM path moved " + written + " and " + read + " bytes on fds " + fdA + ", " + fdB
                    + " instead of 64");
        }
    }

    /**
     * The fd under a channel: the connected socket bound to the channel's local port. (The listener
     * shares the accepted side's port; a read tells them apart: EAGAIN on the idle connected socket,
     * ENOTCONN on the listener.)
     */
    private int fd(SocketChannel channel) throws IOException {
        int port = ((InetSocketAddress) channel.getLocalAddress()).getPort();
        try (var fds = java.nio.file.Files.list(java.nio.file.Path.of("/proc/self/fd"))) {
            for (var path : fds.toList()) {
                int fd = Integer.parseInt(path.getFileName().toString());
                try {
                    if (Posix.getsockname(fd).getPort() == port && Posix.read(fd, segment, 1) == -io.echoladder.common.linux.Native.EAGAIN) {
                        return fd;
                    }
                } catch (IOException notASocket) {
                    // keep looking
                }
            }
        }
        throw new IOException("no connected fd for port " + port);
    }

    @Benchmark
    public long ffmWriteRead() {
        Posix.write(fdA, segment, 64);
        return Posix.read(fdB, segment, 64);
    }

    @Benchmark
    public int nioWriteRead() throws IOException {
        buffer.clear();
        a.write(buffer);
        buffer.clear();
        return b.read(buffer);
    }

    @TearDown(Level.Trial)
    public void close() throws IOException {
        a.close();
        b.close();
        listener.close();
        arena.close();
    }
}
