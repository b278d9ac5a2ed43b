package io.echoladder.bench.jmh;

import io.echoladder.common.linux.Posix;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
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
 * our {@code java.lang.foreign} bindings (downcalls on a native buffer) against the same two
 * calls through {@code SocketChannel} (locks, blocking-mode checks, a direct ByteBuffer). The syscalls
 * are identical; the difference is what each path adds around them.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class FfmVersusNioBenchmark {

    private LoopbackPair pair;
    private SocketChannel a;
    private SocketChannel b;
    private Arena arena;
    private MemorySegment segment;
    private int fdA;
    private int fdB;
    private final ByteBuffer buffer = ByteBuffer.allocateDirect(64);

    @Setup(Level.Trial)
    public void connect() throws IOException {
        pair = new LoopbackPair();
        a = pair.a;
        b = pair.b;
        fdA = pair.fdA;
        fdB = pair.fdB;
        arena = Arena.ofConfined();
        segment = arena.allocate(64);
        // Both paths must really move 64 bytes, or the comparison measures an error return.
        long written = Posix.write(fdA, segment, 64);
        long read = Posix.read(fdB, segment, 64);
        if (written != 64 || read != 64) {
            throw new IOException("the FFM path moved " + written + " and " + read + " bytes on fds " + fdA + ", " + fdB
                    + " instead of 64");
        }
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
        pair.close();
        arena.close();
    }
}
