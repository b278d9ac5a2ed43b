package io.echoladder.bench.jmh;

import io.echoladder.client.Payload;
import io.echoladder.client.RungProcess;
import java.io.IOException;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * One 64-byte round trip per rung at one connection: the floor under every other number, where no rung
 * can hide behind batching. The rung runs as its own process, started in setup the way
 * {@code ./ladder serve} starts it.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class RoundTripBenchmark {

    @Param({"blocking", "thread-per-connection", "thread-pool", "thread-pool-handoff", "virtual-threads",
            "select", "poll", "epoll", "epoll-oneshot", "nio-selector", "netty-epoll", "io-uring", "netty-io_uring"})
    public String rung;

    private RungProcess server;
    private SocketChannel channel;
    private final ByteBuffer out = ByteBuffer.allocateDirect(64);
    private final ByteBuffer in = ByteBuffer.allocateDirect(64);

    @Setup(Level.Trial)
    public void start() throws IOException {
        server = RungProcess.start(rung, List.of());
        channel = SocketChannel.open(server.address());
        channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
        out.put(Payload.random(1, 64)).flip();
    }

    @Benchmark
    public ByteBuffer roundTrip() throws IOException {
        out.rewind();
        while (out.hasRemaining()) {
            channel.write(out);
        }
        in.clear();
        while (in.hasRemaining()) {
            if (channel.read(in) < 0) {
                throw new IOException(rung + " closed the connection");
            }
        }
        if (in.flip().compareTo(out.rewind()) != 0) {
            throw new IOException(rung + " echoed different bytes");
        }
        return in;
    }

    @TearDown(Level.Trial)
    public void stop() throws IOException {
        channel.close();
        server.close();
    }
}
