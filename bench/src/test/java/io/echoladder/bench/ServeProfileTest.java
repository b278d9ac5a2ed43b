package io.echoladder.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.echoladder.client.RungProcess;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code serve --profile}: the server samples itself while it echoes and writes the profile when SIGTERM
 * stops it; a process rung's workers write one file each, with their PID in the name. The frames of the
 * rung's own code must be in it: a profile of the JVM's idle threads would pass any weaker check.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ServeProfileTest {

    private static final Duration ECHOING = Duration.ofMillis(1500);

    @Test
    void aLoopRungWritesItsOwnFramesOnSigterm(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("epoll.collapsed");
        try (RungProcess server = RungProcess.start("epoll", List.of("--profile", file.toString()))) {
            echoFor(server.address(), ECHOING);
            assertThat(server.terminate(Duration.ofSeconds(30))).as(server.diagnostics()).isZero();
            assertThat(server.stderr()).contains("serve: profile written to " + file);
        }
        assertThat(Files.readString(file)).contains("io/echoladder/epoll/EpollEchoServer.");
    }

    @Test
    void aProcessRungsWorkersWriteOneFileEach(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("prefork.html");
        try (RungProcess server = RungProcess.start("prefork", List.of("--workers", "2", "--profile", file.toString()))) {
            echoFor(server.address(), ECHOING);
            assertThat(server.terminate(Duration.ofSeconds(30))).as(server.diagnostics()).isZero();
        }
        List<Path> workers;
        try (Stream<Path> files = Files.list(dir)) {
            workers = files.filter(f -> f.getFileName().toString().matches("prefork-\\d+\\.html")).toList();
        }
        assertThat(workers).as("the files in %s", dir).hasSize(2);
        assertThat(file).as("the parent's own").exists();
        // The worker that echoed has the Worker's echo loop; the HTML flame graph names frames with dots.
        assertThat(workers.stream().map(ServeProfileTest::read))
                .anySatisfy(html -> assertThat(html).contains("io/echoladder/forked/Worker.echo"));
    }

    @Test
    void aFileOfAnotherKindIsRefusedInOneLine(@TempDir Path dir) throws Exception {
        RungProcess.Refusal run = RungProcess.runExpectingExit(List.of("epoll", "--port", "0", "--profile",
                dir.resolve("epoll.jfr").toString()), Duration.ofSeconds(60));
        assertThat(run.status()).isEqualTo(2);
        assertThat(run.output()).startsWith("ladder serve: --profile FILE must end in .html").doesNotContain("\n");
    }

    /** One client echoing 64 bytes at a time, as fast as it can, for {@code length}. */
    private static void echoFor(InetSocketAddress address, Duration length) throws IOException {
        byte[] message = new byte[64];
        byte[] reply = new byte[64];
        try (Socket socket = new Socket(address.getAddress(), address.getPort())) {
            socket.setTcpNoDelay(true);
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            InputStream in = socket.getInputStream();
            long end = System.nanoTime() + length.toNanos();
            while (System.nanoTime() < end) {
                out.write(message);
                assertThat(in.readNBytes(reply, 0, reply.length)).isEqualTo(reply.length);
            }
        }
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
