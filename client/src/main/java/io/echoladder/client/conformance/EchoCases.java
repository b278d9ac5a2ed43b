package io.echoladder.client.conformance;

import io.echoladder.client.Payload;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The RFC 862 cases that need nothing but the server's address. {@code ./ladder check} runs them against
 * any echo server; every rung's conformance test runs them against that rung. Each returns one line on
 * what it saw, or throws {@link CaseFailure} with one line on what went wrong.
 *
 * @param address the server
 * @param timeout how long any read may wait for its next byte before the server is said to withhold data
 * @param seed    seed of every random payload, so a failure can be replayed
 */
public record EchoCases(InetSocketAddress address, Duration timeout, long seed) {

    /**
     * How long a second client waits for its echo before we conclude the server serves one at a time:
     * a tenth of the reply timeout (1 s by default), so a rung allowed a longer timeout (one that starts
     * a process per client) is also given longer to answer a second client.
     */
    public Duration servedPromptly() {
        return timeout.dividedBy(10);
    }

    public EchoCases(InetSocketAddress address) {
        this(address, EchoSession.REPLY_TIMEOUT, 862);
    }

    /** How a server treats a second client while a first one is connected. */
    public enum Concurrency {
        CONCURRENT("serves clients concurrently"),
        ONE_AT_A_TIME("serves one client at a time: a second client waits until the first leaves");

        private final String words;

        Concurrency(String words) {
            this.words = words;
        }

        public String words() {
            return words;
        }
    }

    /** A connection with this run's reply timeout. */
    public EchoSession connect(String label) throws CaseFailure {
        return EchoSession.connect(address, label, timeout);
    }

    /** Case 1: a short message, with a NUL, CR LF and 0xFF in it, comes back exactly. */
    public String shortMessage() throws CaseFailure {
        byte[] message = "hello, echo ladder\0\r\n\u00ff".getBytes(StandardCharsets.ISO_8859_1);
        try (EchoSession session = connect("short message")) {
            session.send(message);
            session.expect(message);
        }
        return message.length + " bytes echoed";
    }

    /** Case 2: {@code size} random bytes written in chunks of 1 B to 64 KiB while reading, byte-exact. */
    public String bulk(int size) throws CaseFailure {
        long dataSeed = seed + size;
        byte[] data = Payload.random(dataSeed, size);
        try (EchoSession session = connect(size / (1024 * 1024) + " MiB")) {
            session.echo(data, 64 * 1024, dataSeed + 1, false);
        }
        return size + " random bytes echoed byte-exact (seed " + dataSeed + ")";
    }

    /** Case 3: {@code times} clients connect and close at once; the server keeps serving. */
    public String connectAndClose(int times) throws CaseFailure {
        for (int i = 0; i < times; i++) {
            connect("connect-and-close #" + (i + 1)).close();
        }
        shortMessage();
        return times + " clients connected and closed at once, then a message was still echoed";
    }

    /** Case 4: write {@code n} bytes, shut down our output: exactly {@code n} bytes come back, then EOF. */
    public String halfClose(int n) throws CaseFailure {
        byte[] data = Payload.random(seed + 4, n);
        try (EchoSession session = connect("half-close")) {
            session.echo(data, 64 * 1024, seed + 5, true);
        }
        return n + " bytes then half-close: exactly " + n + " bytes came back, then EOF";
    }

    /** Case 5: a client resets (SO_LINGER 0) mid-stream; the next client is served. */
    public String resetMidStream() throws CaseFailure {
        byte[] data = Payload.random(seed + 6, 64 * 1024);
        try (EchoSession session = connect("resetting client")) {
            byte[] first = Arrays.copyOf(data, 1024);
            session.send(first);
            session.expect(first);
            // 64 KiB fits in the socket buffers, so this write returns while the echo is still coming.
            session.send(data);
            session.reset();
        }
        shortMessage();
        return "a client reset with 64 KiB in flight; the next client was served";
    }

    /**
     * A reset storm: {@code connections} clients, one after another, each sends {@code size} bytes and
     * resets (SO_LINGER 0) without reading a byte of the echo.
     */
    public String resetStorm(int connections, int size) throws CaseFailure {
        byte[] data = Payload.random(seed + 14, size);
        for (int i = 0; i < connections; i++) {
            try (EchoSession session = connect("resetting client " + (i + 1))) {
                session.send(data);
                session.reset();
            }
        }
        return connections + " clients sent " + size + " bytes each and reset";
    }

    /**
     * Case 6's probe: while a first client is connected and has been answered, is a second one answered?
     * One that is not must be answered once the first leaves, else the server is broken.
     */
    public Concurrency concurrency() throws CaseFailure {
        return secondClientWhile("first client", "second client");
    }

    /** Case 6: {@code clients} clients at once, each echoing {@code size} random bytes, all byte-exact. */
    public String manyClients(int clients, int size) throws CaseFailure {
        List<Future<?>> results = new ArrayList<>();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < clients; i++) {
                int client = i;
                results.add(pool.submit(() -> {
                    byte[] data = Payload.random(Payload.seed(seed, client, 0), size);
                    try (EchoSession session = connect("client " + client)) {
                        session.echo(data, 16 * 1024, seed + client, false);
                    }
                    return null;
                }));
            }
        }
        int failed = 0;
        String first = null;
        for (Future<?> result : results) {
            try {
                result.get();
            } catch (ExecutionException e) {
                failed++;
                first = first == null ? e.getCause().getMessage() : first;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CaseFailure("interrupted");
            }
        }
        if (failed > 0) {
            throw new CaseFailure(failed + " of " + clients + " clients failed; first: " + first);
        }
        return clients + " clients × " + size / 1024 + " KiB at once, all byte-exact";
    }

    /** Case 7: an idle client is connected (and was answered once); is another one served meanwhile? */
    public Concurrency idleClient() throws CaseFailure {
        return secondClientWhile("idle client", "active client");
    }

    private Concurrency secondClientWhile(String firstLabel, String secondLabel) throws CaseFailure {
        byte[] ping = {'p'};
        try (EchoSession first = connect(firstLabel)) {
            first.send(ping);
            first.expect(ping);
            try (EchoSession second = connect(secondLabel)) {
                second.send(ping);
                if (second.poll(servedPromptly()) == 'p') {
                    return Concurrency.CONCURRENT;
                }
                first.close();
                // The first client left: a one-at-a-time server must now take the second.
                if (second.poll(timeout) != 'p') {
                    throw new CaseFailure(secondLabel + " was not answered within " + timeout.toMillis()
                            + " ms even after the " + firstLabel + " left");
                }
                return Concurrency.ONE_AT_A_TIME;
            }
        }
    }
}
