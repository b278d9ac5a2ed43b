package io.echoladder.client.conformance;

import io.echoladder.client.Payload;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
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

    /** A count for people: {@code 1,048,576}. */
    public static String n(long value) {
        return String.format(Locale.ROOT, "%,d", value);
    }


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

    /**
     * What a horde of connections that hold the server without giving it work (idle, or dripping a byte
     * at a time) does to everyone else: what a rung claims, and what the hostile cases report.
     */
    public enum UnderAHorde {
        SERVES_OTHERS("the others were served as if the horde were not there"),
        STARVES_OTHERS("the horde held every worker: the others were served only once it left"),
        CLOSES_AT_CAP("the horde filled the cap on connections: the others were closed at the door");

        private final String words;

        UnderAHorde(String words) {
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
        return n(message.length) + " bytes echoed";
    }

    /** Case 2: {@code size} random bytes written in chunks of 1 B to 64 KiB while reading, byte-exact. */
    public String bulk(int size) throws CaseFailure {
        long dataSeed = seed + size;
        byte[] data = Payload.random(dataSeed, size);
        try (EchoSession session = connect(size / (1024 * 1024) + " MiB")) {
            session.echo(data, 64 * 1024, dataSeed + 1, false);
        }
        return n(size) + " random bytes echoed byte-exact (seed " + dataSeed + ")";
    }

    /** Case 3: {@code times} clients connect and close at once; the server keeps serving. */
    public String connectAndClose(int times) throws CaseFailure {
        for (int i = 0; i < times; i++) {
            connect("connect-and-close #" + (i + 1)).close();
        }
        shortMessage();
        return n(times) + " clients connected and closed at once, then a message was still echoed";
    }

    /** Case 4: write {@code n} bytes, shut down our output: exactly {@code n} bytes come back, then EOF. */
    public String halfClose(int n) throws CaseFailure {
        byte[] data = Payload.random(seed + 4, n);
        try (EchoSession session = connect("half-close")) {
            session.echo(data, 64 * 1024, seed + 5, true);
        }
        return n(n) + " bytes then half-close: exactly " + n(n) + " bytes came back, then EOF";
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
     * Hostile case: {@code hordeSize} connections open and silent; meanwhile {@code fresh} clients each
     * echo {@code size} random bytes, byte-exact, all within {@code within}.
     */
    public UnderAHorde idleHorde(int hordeSize, int fresh, int size, Duration within) throws CaseFailure {
        List<EchoSession> horde = new ArrayList<>();
        try {
            for (int i = 0; i < hordeSize; i++) {
                horde.add(connect("idle client " + (i + 1)));
            }
            return othersWhile(horde, fresh, size, within, "idle horde");
        } finally {
            horde.forEach(EchoSession::close);
        }
    }

    /**
     * Hostile case: {@code drippers} clients each send one byte every {@code every} for {@code lasting};
     * meanwhile (after five drips) {@code normal} clients each echo {@code size} random bytes,
     * byte-exact, within {@code within} of their start.
     */
    public UnderAHorde slowloris(int drippers, Duration every, Duration lasting, int normal, int size, Duration within)
            throws CaseFailure {
        List<EchoSession> horde = new ArrayList<>();
        try {
            for (int i = 0; i < drippers; i++) {
                horde.add(connect("slow client " + (i + 1)));
            }
            Thread drip = Thread.ofPlatform().daemon().name("slowloris").start(() -> {
                long end = System.nanoTime() + lasting.toNanos();
                byte[] one = {'.'};
                while (System.nanoTime() < end) {
                    for (EchoSession slow : horde) {
                        try {
                            slow.send(one);
                        } catch (CaseFailure e) {
                            // closed by the server: a dripper the server got rid of drips no more
                        }
                    }
                    try {
                        Thread.sleep(every);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
            try {
                Thread.sleep(every.multipliedBy(5)); // the drippers are well under way before the others come
                UnderAHorde seen = othersWhile(horde, normal, size, within, "slowloris");
                join(drip); // the drip goes on for all of its time, also after the others are done
                return seen;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CaseFailure("interrupted");
            } finally {
                drip.interrupt();
            }
        } finally {
            horde.forEach(EchoSession::close);
        }
    }

    /**
     * While {@code horde} holds its connections, {@code others} clients each echo {@code size} bytes with
     * replies allowed {@code within}. If all are echoed byte-exact: {@link UnderAHorde#SERVES_OTHERS}. If
     * some got nothing back in time, or were closed, the horde is sent away and one more client must be
     * served, else the server is broken: then {@link UnderAHorde#STARVES_OTHERS} or
     * {@link UnderAHorde#CLOSES_AT_CAP}. A wrong byte fails the case whatever the rung claims.
     */
    private UnderAHorde othersWhile(List<EchoSession> horde, int others, int size, Duration within, String what)
            throws CaseFailure {
        EchoCases meanwhile = new EchoCases(address, within, seed);
        long start = System.nanoTime();
        List<CaseFailure> failures = meanwhile.concurrently(others, size);
        long millis = (System.nanoTime() - start) / 1_000_000;
        for (CaseFailure f : failures) {
            if (f.kind() == CaseFailure.Kind.WRONG_BYTES) {
                throw new CaseFailure(CaseFailure.Kind.WRONG_BYTES, what + ": " + f.getMessage());
            }
        }
        if (failures.isEmpty() && millis <= within.toMillis()) {
            return UnderAHorde.SERVES_OTHERS;
        }
        boolean closed = failures.stream().anyMatch(f -> f.kind() == CaseFailure.Kind.CLOSED);
        horde.forEach(EchoSession::close);
        servedAgain(what);
        return closed ? UnderAHorde.CLOSES_AT_CAP : UnderAHorde.STARVES_OTHERS;
    }

    /**
     * Once a horde has left, a client must be served within the reply timeout. A capped server may close
     * it at the door while the horde's slots are still being given back: that is tried again.
     */
    private void servedAgain(String what) throws CaseFailure {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            try {
                shortMessage();
                return;
            } catch (CaseFailure f) {
                if (f.kind() != CaseFailure.Kind.CLOSED || System.nanoTime() > deadline) {
                    throw new CaseFailure(f.kind(), what + ": after the horde left, " + f.getMessage());
                }
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CaseFailure("interrupted");
            }
        }
    }

    /**
     * Hostile case: {@code clients} clients at once, each writing {@code size} random bytes while reading
     * the echo, all byte-exact within {@code within}.
     */
    public String fanIn(int clients, int size, Duration within) throws CaseFailure {
        long start = System.nanoTime();
        String done = manyClients(clients, size);
        long millis = (System.nanoTime() - start) / 1_000_000;
        if (millis > within.toMillis()) {
            throw new CaseFailure(CaseFailure.Kind.NO_REPLY, done + ", but in " + n(millis) + " ms, not within "
                    + n(within.toMillis()) + " ms");
        }
        return done + " in " + n(millis) + " ms";
    }

    private static void join(Thread thread) {
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
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
        return n(connections) + " clients sent " + n(size) + " bytes each and reset";
    }

    /**
     * Case 6's probe: while a first client is connected and has been answered, is a second one answered?
     * One that is not must be answered once the first leaves, else the server is broken.
     */
    public Concurrency concurrency() throws CaseFailure {
        byte[] ping = {'p'};
        try (EchoSession first = connect("first client")) {
            first.send(ping);
            first.expect(ping);
            try (EchoSession second = connect("second client")) {
                second.send(ping);
                if (second.poll(servedPromptly()) == 'p') {
                    return Concurrency.CONCURRENT;
                }
                first.close();
                // The first client left: a one-at-a-time server must now take the second.
                if (second.poll(timeout) != 'p') {
                    throw new CaseFailure("second client was not answered within " + n(timeout.toMillis())
                            + " ms even after the first client left");
                }
                return Concurrency.ONE_AT_A_TIME;
            }
        }
    }

    /** Case 6: {@code clients} clients at once, each echoing {@code size} random bytes, all byte-exact. */
    public String manyClients(int clients, int size) throws CaseFailure {
        List<CaseFailure> failures = concurrently(clients, size);
        if (!failures.isEmpty()) {
            throw new CaseFailure(failures.getFirst().kind(), failures.size() + " of " + clients
                    + " clients failed; first: " + failures.getFirst().getMessage());
        }
        return n(clients) + " clients × " + n(size / 1024) + " KiB at once, all byte-exact";
    }

    /** {@code clients} clients at once, each echoing {@code size} random bytes; what went wrong for each that failed. */
    private List<CaseFailure> concurrently(int clients, int size) throws CaseFailure {
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
        List<CaseFailure> failures = new ArrayList<>();
        for (Future<?> result : results) {
            try {
                result.get();
            } catch (ExecutionException e) {
                failures.add(e.getCause() instanceof CaseFailure f ? f : new CaseFailure(String.valueOf(e.getCause())));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CaseFailure("interrupted");
            }
        }
        return failures;
    }

    /**
     * Case 7: a client connects and never sends a byte; is another one served meanwhile? Unlike case 6,
     * whose first client has been answered, nothing says the server has even taken this one: a server
     * that reads a client's first bytes before it turns to the next (on its accept loop, say) serves
     * clients concurrently once they have spoken, and one silent client stops it. A server that serves
     * one client at a time must serve the other once the silent one leaves; one that serves concurrently
     * must still echo the silent client when it finally speaks.
     */
    public Concurrency idleClient() throws CaseFailure {
        byte[] ping = {'p'};
        try (EchoSession idle = connect("idle client")) {
            try (EchoSession active = connect("active client")) {
                active.send(ping);
                if (active.poll(servedPromptly()) == 'p') {
                    idle.send(ping);
                    idle.expect(ping);
                    return Concurrency.CONCURRENT;
                }
                idle.close();
                // The silent client left: a one-at-a-time server must now take the other.
                if (active.poll(timeout) != 'p') {
                    throw new CaseFailure("active client was not answered within " + n(timeout.toMillis())
                            + " ms even after the idle client, which never sent a byte, left");
                }
                return Concurrency.ONE_AT_A_TIME;
            }
        }
    }
}
