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
    void aLoopRungWritesItsFlameGraphWithItsOwnFramesOnSigterm(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("epoll.html");
        try (RungProcess server = RungProcess.start("epoll", List.of("--profile", file.toString()))) {
            echoFor(server.address(), ECHOING);
            assertThat(server.terminate(Duration.ofSeconds(30))).as(server.diagnostics()).isZero();
            assertThat(server.stderr()).contains("serve: profile written to " + file);
        }
        assertThat(frameNames(Files.readString(file))).anyMatch(f -> f.startsWith("io/echoladder/epoll/EpollEchoServer."));
    }

    @Test
    void aProcessRungsWorkersWriteOneFileEach(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("prefork.collapsed");
        try (RungProcess server = RungProcess.start("prefork", List.of("--workers", "2", "--profile", file.toString()))) {
            echoFor(server.address(), ECHOING);
            assertThat(server.terminate(Duration.ofSeconds(30))).as(server.diagnostics()).isZero();
        }
        List<Path> workers;
        try (Stream<Path> files = Files.list(dir)) {
            workers = files.filter(f -> f.getFileName().toString().matches("prefork-\\d+\\.collapsed")).toList();
        }
        assertThat(workers).as("the files in %s", dir).hasSize(2);
        assertThat(file).as("the parent's own").exists();
        // The worker that took the client ran the Worker's echo loop.
        assertThat(workers.stream().map(ServeProfileTest::read))
                .anySatisfy(stacks -> assertThat(stacks).contains("io/echoladder/forked/Worker.echo"));
    }

    /**
     * The frame names of async-profiler's HTML flame graph: its {@code cpool} array, each name stored as the
     * length of the prefix it shares with the one before (a character, from ' ' for 0) and the rest.
     */
    static List<String> frameNames(String html) {
        String pool = html.substring(html.indexOf("const cpool = ["), html.indexOf("];", html.indexOf("const cpool = [")));
        List<String> names = new java.util.ArrayList<>();
        String previous = "";
        for (String line : pool.lines().skip(1).toList()) {
            if (!line.startsWith("'")) {
                continue;
            }
            String entry = line.substring(1, line.lastIndexOf('\'')).replace("\\'", "'");
            String name = names.isEmpty() ? entry : previous.substring(0, entry.charAt(0) - ' ') + entry.substring(1);
            names.add(name);
            previous = name;
        }
        return names;
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
