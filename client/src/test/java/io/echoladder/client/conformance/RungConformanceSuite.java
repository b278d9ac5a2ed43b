package io.echoladder.client.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import io.echoladder.client.Payload;
import io.echoladder.client.Proc;
import io.echoladder.client.RungProcess;
import io.echoladder.common.Rung;
import io.echoladder.common.Rungs;
import io.echoladder.common.Stats;
import io.echoladder.common.linux.Posix;
import io.echoladder.common.Setting;
import java.io.IOException;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * The conformance suite every rung's test subclasses: the RFC 862 contract (cases 1 to 5), how the rung
 * treats concurrent and idle clients (6, 7), and what a server process owes its host (8 to 12). The rung
 * runs as its own process, started the way {@code ./ladder serve} starts it, on port 0.
 *
 * <p>A subclass names its rung and declares what it claims; the suite holds it to exactly that. Which of
 * {@code --idle-timeout} and {@code --max-connections} a rung takes is read from its {@link Rung}
 * descriptor, so a rung that refuses an option is tested for refusing it cleanly.
 *
 * <p>With {@code -Dconformance.work=KIND:DURATION} (e.g. {@code mvn verify -Dconformance.work=cpu:50us}),
 * every server the suite starts runs with that {@code --work}, so the whole contract is checked with a
 * handler that does work between read and write; a rung that does not take {@code --work} is skipped
 * then, and says so. Without it, case 13 checks a lighter subset under {@code --work cpu:50us}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
public abstract class RungConformanceSuite {

    /** A server that buffers what a non-reading client sends would grow by up to 64 MiB; this is the cap. */
    protected static final long NON_READER_RSS_CAP = 32L << 20;

    private RungProcess server;
    private EchoCases cases;

    /** The rung id, as {@code ./ladder list} prints it. */
    protected abstract String rung();

    /** Whether the rung serves clients concurrently; one that does not must make a second client wait. */
    protected abstract boolean servesConcurrently();

    /**
     * Whether which worker gets a client is decided by a hash of its address (SO_REUSEPORT), so a second
     * client may land on the busy worker: then cases 6 and 7 accept either answer, and say which.
     */
    protected boolean concurrencyByHash() {
        return false;
    }

    private void assertConcurrency(EchoCases.Concurrency seen, String what) {
        if (concurrencyByHash()) {
            say(what + ": " + seen.words() + " (the kernel's hash decided)");
            return;
        }
        assertThat(seen).as("%s: %s", what, rung())
                .isEqualTo(servesConcurrently() ? EchoCases.Concurrency.CONCURRENT : EchoCases.Concurrency.ONE_AT_A_TIME);
    }

    /**
     * What a horde of connections that hold the server without giving it work (idle horde, slowloris)
     * does to other clients, and whether 500 at once (fan-in) are all served. By default a concurrent rung
     * serves the others and a one-at-a-time rung starves them; a pool of N workers starves them too, and
     * says so; a rung with a cap on connections closes them at the door.
     *
     * @param horde how many connections the horde holds (1,000 idle, 200 dripping, 500 at once)
     */
    protected EchoCases.UnderAHorde underAHorde(int horde) {
        return servesConcurrently() ? EchoCases.UnderAHorde.SERVES_OTHERS : EchoCases.UnderAHorde.STARVES_OTHERS;
    }

    /** {@code serve} arguments of the fresh server each hostile case starts; the shared server's by default. */
    protected List<String> hostileServeArguments() {
        return serveArguments();
    }

    /** Extra {@code serve} arguments for the shared server (e.g. {@code --workers 4}). */
    protected List<String> serveArguments() {
        return List.of();
    }

    protected final Rung descriptor() {
        return Rungs.find(rung()).orElseThrow(() -> new AssertionError("rung " + rung() + " is not on the class path"));
    }

    /**
     * How long a read may wait for its next byte before the server is said to withhold data. A rung that
     * starts a process per client needs longer when 100 clients arrive at once, and says why.
     */
    protected Duration replyTimeout() {
        return EchoSession.REPLY_TIMEOUT;
    }

    /** Connect/echo/close cycles of case 11; a rung where each cycle costs a process start may ask for fewer. */
    protected int descriptorCycles() {
        return 1000;
    }

    /** The suite's {@code --work} for every server it starts, from {@code -Dconformance.work}; empty for none. */
    public static final String WORK_PROPERTY = "conformance.work";

    private static List<String> workArguments() {
        String work = System.getProperty(WORK_PROPERTY, "");
        return work.isBlank() ? List.of() : List.of("--work", work);
    }

    @BeforeAll
    void startServer() throws IOException {
        if (!workArguments().isEmpty() && !descriptor().settings().contains(Setting.WORK)) {
            say("does not take --work: skipped under -D" + WORK_PROPERTY);
            Assumptions.abort(rung() + " does not take --work");
        }
        if (!workArguments().isEmpty()) {
            say("every server of this run does " + workArguments());
        }
        server = start(serveArguments());
        cases = new EchoCases(server.address(), replyTimeout(), 862);
    }

    @AfterAll
    void stopServer() {
        if (server != null) {
            server.close();
        }
    }

    /** Starts the rung with these arguments, and the run's {@code --work} if it has one. */
    protected final RungProcess start(List<String> arguments) throws IOException {
        List<String> all = new ArrayList<>(arguments);
        if (!arguments.contains("--work")) {
            all.addAll(workArguments());
        }
        return RungProcess.start(rung(), all);
    }

    protected final void say(String text) {
        System.out.println("[" + rung() + "] " + text);
    }

    @Test
    @DisplayName("1. a short message")
    void shortMessage() throws CaseFailure {
        say(cases.shortMessage());
    }

    @Test
    @DisplayName("2. 1 MiB in random chunks, read while writing")
    void oneMebibyte() throws CaseFailure {
        say(cases.bulk(1 << 20));
    }

    @Test
    @DisplayName("2. 16 MiB in random chunks, read while writing")
    void sixteenMebibytes() throws CaseFailure {
        say(cases.bulk(16 << 20));
    }

    @Test
    @DisplayName("3. connect and close at once, 100 times")
    void connectAndClose() throws CaseFailure {
        say(cases.connectAndClose(100));
    }

    @Test
    @DisplayName("4. half-close after N bytes: N bytes, then EOF")
    void halfClose() throws CaseFailure {
        say(cases.halfClose(100_003));
        say(cases.halfClose(1));
    }

    @Test
    @DisplayName("5. reset mid-stream; the next client is served")
    void reset() throws CaseFailure {
        say(cases.resetMidStream());
    }

    @Test
    @DisplayName("6. 100 concurrent clients, 64 KiB each, byte-exact")
    void concurrentClients() throws CaseFailure {
        EchoCases.Concurrency seen = cases.concurrency();
        assertConcurrency(seen, "how it treats a second client");
        say(seen.words());
        say(cases.manyClients(100, 64 * 1024));
    }

    @Test
    @DisplayName("7. a client that connects and never sends, and service for others")
    void idleClient() throws CaseFailure {
        EchoCases.Concurrency seen = cases.idleClient();
        assertConcurrency(seen, "whether a client that never sends holds it up");
        say(seen == EchoCases.Concurrency.CONCURRENT
                ? "a client that never sent a byte did not hold up another, and was echoed when it spoke"
                : "a client that never sent a byte held the server: the next client waited until it left");
    }

    @Test
    @DisplayName("8. a client that writes 64 MiB and never reads: memory stays bounded")
    void nonReadingClient() throws Exception {
        cases.bulk(1 << 20); // warm the server up before the baseline
        long before = Proc.rssBytes(server.pid());
        long peak = before;
        long written = 0;
        try (SocketChannel hog = SocketChannel.open(server.address())) {
            hog.configureBlocking(false);
            ByteBuffer chunk = ByteBuffer.wrap(Payload.random(8, 64 * 1024));
            long lastProgress = System.nanoTime();
            // Write until 64 MiB are out or the server has stopped taking bytes for 2 s (it pushes back).
            while (written < 64L << 20 && System.nanoTime() - lastProgress < Duration.ofSeconds(2).toNanos()) {
                if (!chunk.hasRemaining()) {
                    chunk.rewind();
                }
                int n = hog.write(chunk);
                if (n > 0) {
                    written += n;
                    lastProgress = System.nanoTime();
                } else {
                    Thread.sleep(5);
                    peak = Math.max(peak, Proc.rssBytes(server.pid()));
                }
            }
            peak = Math.max(peak, Proc.rssBytes(server.pid()));
            if (servesConcurrently() && !concurrencyByHash()) {
                say("while a client refuses to read: " + cases.shortMessage());
            }
            hog.setOption(StandardSocketOptions.SO_LINGER, 0);
        }
        say(String.format("non-reading client wrote %d MiB; server RSS %d -> %d MiB", written >> 20, before >> 20, peak >> 20));
        assertThat(peak - before).as("RSS growth of %s while a client writes 64 MiB and reads nothing", rung())
                .isLessThan(NON_READER_RSS_CAP);
        say("after the non-reading client left: " + cases.shortMessage());
    }

    @Test
    @DisplayName("9. --idle-timeout 1s closes an idle connection, not an active one")
    void idleTimeout() throws Exception {
        if (!descriptor().settings().contains(Setting.IDLE_TIMEOUT)) {
            assertRefused("--idle-timeout", "1s");
            return;
        }
        try (RungProcess timed = start(List.of("--idle-timeout", "1s"))) {
            EchoCases on = new EchoCases(timed.address());
            // Active: a message every 250 ms for 3 s, three times the timeout, must all come back.
            try (EchoSession active = on.connect("active client")) {
                for (int i = 0; i < 12; i++) {
                    byte[] message = Payload.random(i, 100);
                    active.send(message);
                    active.expect(message);
                    Thread.sleep(250);
                }
            }
            // Idle: says nothing; the server must close it, about 1 s later (we allow 5 s).
            try (EchoSession idle = on.connect("idle client")) {
                long start = System.nanoTime();
                String end = idle.awaitClose(Duration.ofSeconds(5));
                long millis = (System.nanoTime() - start) / 1_000_000;
                assertThat(end).as("an idle connection with --idle-timeout 1s, after %d ms", millis).isNotNull();
                say("idle connection " + end + " by the server after " + millis + " ms; an active one stayed open for 3 s");
            }
            on.shortMessage();
        }
    }

    @Test
    @DisplayName("10. --max-connections N: connection N+1 is refused or closed at once")
    void maxConnections() throws Exception {
        if (!descriptor().settings().contains(Setting.MAX_CONNECTIONS)) {
            assertRefused("--max-connections", "3");
            return;
        }
        try (RungProcess capped = start(List.of("--max-connections", "3"))) {
            EchoCases on = new EchoCases(capped.address());
            List<EchoSession> first = new ArrayList<>();
            try {
                for (int i = 0; i < 3; i++) {
                    EchoSession s = on.connect("client " + i);
                    first.add(s);
                    byte[] m = {(byte) i};
                    s.send(m);
                    s.expect(m);
                }
                String fate;
                try (EchoSession extra = on.connect("client past the cap")) {
                    String end = extra.awaitClose(Duration.ofSeconds(5));
                    assertThat(end).as("the connection past the cap, 5 s after connecting").isNotNull();
                    fate = end + " at once";
                } catch (CaseFailure e) {
                    assertThat(e.getMessage()).containsAnyOf("refused", "reset", "closed");
                    fate = "refused (" + e.getMessage() + ")";
                }
                for (EchoSession s : first) {
                    byte[] m = Payload.random(7, 1000);
                    s.send(m);
                    s.expect(m);
                }
                say("the 4th connection with --max-connections 3 was " + fate + "; the first 3 kept working");
            } finally {
                first.forEach(EchoSession::close);
            }
        }
    }

    @Test
    @DisplayName("11. after 1,000 connect/echo/close cycles the fds return to baseline")
    void noDescriptorLeak() throws Exception {
        byte[] message = Payload.random(11, 16);
        int cycles = descriptorCycles();
        // Warm up first: a JVM opens descriptors lazily (jar files as classes load), which is growth,
        // not a leak, and would otherwise land after the baseline.
        for (int i = 0; i < cycles / 10; i++) {
            cycle(message, "warm-up " + i);
        }
        long baseline = openFds();
        for (int i = 0; i < cycles; i++) {
            cycle(message, "cycle " + i);
        }
        long after = openFds();
        for (int waited = 0; after > baseline + 4 && waited < 100; waited++) {
            Thread.sleep(100); // the server closes its side a moment after our close
            after = openFds();
        }
        say("open fds: " + baseline + " before, " + after + " after " + cycles + " cycles");
        assertThat(after).as("open fds of %s after %d connections (baseline %d)", rung(), cycles, baseline)
                .isLessThanOrEqualTo(baseline + 4);
    }

    @Test
    @DisplayName("12. SIGTERM with open connections: exit 0 within 2 s, nothing left behind")
    void sigterm() throws Exception {
        try (RungProcess doomed = start(serveArguments())) {
            EchoCases on = new EchoCases(doomed.address());
            List<EchoSession> open = new ArrayList<>();
            try {
                EchoSession talking = on.connect("blocked client");
                open.add(talking);
                talking.send(new byte[] {1});
                talking.expect(new byte[] {1});
                for (int i = 0; i < 3; i++) {
                    open.add(on.connect("waiting client " + i));
                }
                List<ProcessHandle> tree = Proc.tree(doomed.pid());
                long start = System.nanoTime();
                int status = doomed.terminate(Duration.ofSeconds(2));
                long millis = (System.nanoTime() - start) / 1_000_000;
                assertThat(status).as("exit status within 2 s of SIGTERM (-1: still running); %s", doomed.diagnostics())
                        .isZero();
                for (ProcessHandle p : tree) {
                    p.onExit().get(2, TimeUnit.SECONDS);
                    assertThat(p.isAlive()).as("process %d of the server's tree", p.pid()).isFalse();
                }
                say("SIGTERM with 4 clients connected: exit 0 after " + millis + " ms, "
                        + tree.size() + " process(es) gone");
            } finally {
                open.forEach(EchoSession::close);
            }
        }
    }

    @Test
    @Tag("hostile")
    @DisplayName("13. idle horde: 1,000 silent connections; 20 others echo 4 KiB within 10 s")
    void idleHorde() throws Exception {
        try (RungProcess fresh = start(hostileServeArguments())) {
            EchoCases.UnderAHorde seen = new EchoCases(fresh.address(), replyTimeout(), 13)
                    .idleHorde(1000, 20, 4 * 1024, Duration.ofSeconds(10));
            say("idle horde of 1,000: " + seen.words());
            assertThat(seen).as("what 1,000 idle connections do to 20 other clients of %s", rung()).isEqualTo(underAHorde(1000));
            recordHostile("idle horde", hordeWords(seen));
        }
    }

    @Test
    @Tag("hostile")
    @DisplayName("14. slowloris: 200 clients drip a byte every 200 ms for 5 s; 10 others echo 64 KiB within 2 s")
    void slowloris() throws Exception {
        try (RungProcess fresh = start(hostileServeArguments())) {
            EchoCases.UnderAHorde seen = new EchoCases(fresh.address(), replyTimeout(), 14).slowloris(200,
                    Duration.ofMillis(200), Duration.ofSeconds(5), 10, 64 * 1024, Duration.ofSeconds(2));
            say("slowloris of 200: " + seen.words());
            assertThat(seen).as("what 200 dripping clients do to 10 others of %s", rung()).isEqualTo(underAHorde(200));
            recordHostile("slowloris", hordeWords(seen));
        }
    }

    @Test
    @Tag("hostile")
    @DisplayName("15. RST storm: 2,000 clients send 1 KiB and reset; echo byte-exact, fds back within 20 in 5 s")
    void resetStorm() throws Exception {
        try (RungProcess fresh = start(hostileServeArguments())) {
            EchoCases on = new EchoCases(fresh.address(), replyTimeout(), 15);
            on.bulk(1 << 20); // warm-up: the JVM opens descriptors lazily as classes load
            long baseline = openFds(fresh);
            say(on.resetStorm(2000, 1024));
            say("after the storm: " + on.bulk(1 << 20));
            long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
            long after = openFds(fresh);
            while (after > baseline + 20 && System.nanoTime() < deadline) {
                Thread.sleep(100);
                after = openFds(fresh);
            }
            say("open fds of the process tree: " + baseline + " before the storm, " + after + " after");
            assertThat(after).as("open fds of %s's process tree after 2,000 resets (baseline %d)", rung(), baseline)
                    .isLessThanOrEqualTo(baseline + 20);
            recordHostile("RST storm", "passed: fds " + baseline + " → " + after);
        }
    }

    @Test
    @Tag("hostile")
    @DisplayName("16. SIGTERM under load: 50 clients echoing; exit 0 within 2 s, no wrong byte before EOF or reset")
    void sigtermUnderLoad() throws Exception {
        try (RungProcess doomed = start(hostileServeArguments())) {
            EchoCases on = new EchoCases(doomed.address(), replyTimeout(), 16);
            AtomicInteger answered = new AtomicInteger();
            List<CaseFailure> wrong = new CopyOnWriteArrayList<>();
            List<Thread> clients = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                int client = i;
                clients.add(Thread.ofVirtual().start(() -> echoUntilTheEnd(on, client, answered, wrong)));
            }
            // Until every client is echoing, or as many as the rung serves at once: no new one for a while.
            int seen = 0;
            long lastNew = System.nanoTime();
            while (answered.get() < 50 && System.nanoTime() - lastNew < replyTimeout().toNanos() / 10) {
                Thread.sleep(50);
                if (answered.get() > seen) {
                    seen = answered.get();
                    lastNew = System.nanoTime();
                }
            }
            List<ProcessHandle> tree = Proc.tree(doomed.pid());
            long start = System.nanoTime();
            int status = doomed.terminate(Duration.ofSeconds(2));
            assertThat(status).as("exit status within 2 s of SIGTERM under load (-1: still running); %s",
                    doomed.diagnostics()).isZero();
            long deadline = start + Duration.ofSeconds(2).toNanos();
            for (ProcessHandle p : tree) {
                p.onExit().get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            }
            for (Thread client : clients) {
                client.join(replyTimeout());
            }
            say("SIGTERM with " + answered.get() + " of 50 clients answered: exit 0 after "
                    + (System.nanoTime() - start) / 1_000_000 + " ms, " + tree.size() + " process(es) gone, "
                    + wrong.size() + " wrong bytes seen");
            assertThat(wrong).as("clients that received a wrong byte before their EOF or reset").isEmpty();
            recordHostile("SIGTERM under load", "passed: exit 0 in " + (System.nanoTime() - start) / 1_000_000
                    + " ms, " + answered.get() + " of 50 answered");
        }
    }

    /** The table cell for a horde case: what the others got. */
    private static String hordeWords(EchoCases.UnderAHorde seen) {
        return switch (seen) {
            case SERVES_OTHERS -> "others served";
            case STARVES_OTHERS -> "others wait (declared)";
            case CLOSES_AT_CAP -> "others closed at the cap (declared)";
        };
    }

    /**
     * Appends a hostile case's outcome, once its assertions held, to {@code target/reliability/RUNG.tsv}
     * of the module under test: what {@code .ci/reliability-table} turns into the README's table.
     */
    private void recordHostile(String caseName, String outcome) throws IOException {
        String label = rung() + (hostileServeArguments().isEmpty() ? "" : " " + String.join(" ", hostileServeArguments()));
        Path dir = Path.of("target", "reliability");
        Files.createDirectories(dir);
        Files.writeString(dir.resolve(label.replaceAll("[^A-Za-z0-9.-]+", "_") + ".tsv"),
                label + "\t" + caseName + "\t" + outcome + "\n", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }

    /** One client of case 16: echoes random messages until the server ends the connection. */
    private static void echoUntilTheEnd(EchoCases on, int client, AtomicInteger answered, List<CaseFailure> wrong) {
        try (EchoSession session = on.connect("client " + client)) {
            for (int m = 0; ; m++) {
                byte[] message = Payload.random(Payload.seed(on.seed(), client, m), 1 + m % 8192);
                session.echo(message, 4096, m, false);
                if (m == 0) {
                    answered.incrementAndGet();
                }
            }
        } catch (CaseFailure e) {
            if (e.kind() == CaseFailure.Kind.WRONG_BYTES) {
                wrong.add(e);
            }
        }
    }

    @Test
    @Tag("hostile")
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    @DisplayName("17. fan-in: 500 clients × 256 KiB at once, writing while reading, byte-exact within 120 s")
    void fanIn() throws Exception {
        try (RungProcess fresh = start(hostileServeArguments())) {
            EchoCases on = new EchoCases(fresh.address(), replyTimeout(), 17);
            if (underAHorde(500) == EchoCases.UnderAHorde.CLOSES_AT_CAP) {
                CaseFailure closed = org.assertj.core.api.Assertions.catchThrowableOfType(CaseFailure.class,
                        () -> on.fanIn(500, 256 * 1024, Duration.ofSeconds(120)));
                assertThat(closed).as("500 clients against %s's cap on connections", rung()).isNotNull();
                assertThat(closed.kind()).as(closed.getMessage()).isEqualTo(CaseFailure.Kind.CLOSED);
                say("fan-in of 500: " + EchoCases.UnderAHorde.CLOSES_AT_CAP.words() + " (" + closed.getMessage() + ")");
                recordHostile("fan-in", hordeWords(EchoCases.UnderAHorde.CLOSES_AT_CAP));
                return;
            }
            long start = System.nanoTime();
            say("fan-in: " + on.fanIn(500, 256 * 1024, Duration.ofSeconds(120)));
            recordHostile("fan-in", "passed in " + (System.nanoTime() - start) / 1_000_000 + " ms");
        }
    }

    /**
     * How many clients case 20 holds while the server runs out of descriptors: they must go on echoing.
     * By default 10 for a rung that serves clients concurrently and none for one that serves one at a time
     * (a held client would keep it from ever calling accept). A pool holds fewer than its workers, so that
     * one worker is left to accept into the limit; a rung whose workers each serve one client at a time
     * holds none (one per worker never needs more descriptors than it has) and tests its limit apart.
     */
    protected int heldAtTheLimit() {
        return servesConcurrently() ? 10 : 0;
    }

    /** The open-files limit case 20 starts the server's process tree with (soft and hard). */
    private static final int DESCRIPTOR_CEILING = 256;

    @Test
    @Tag("hostile")
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    @DisplayName("20. out of descriptors: held clients echo, 50 more are turned away or wait, under 20% of a core, then service resumes")
    void outOfDescriptors() throws Exception {
        List<String> arguments = new ArrayList<>(hostileServeArguments());
        // Started under a ceiling (ulimit -n), so a limit read once, when a request is prepared (io_uring's
        // accept), is already low; lowered further below, to exactly what each process has open.
        try (RungProcess fresh = RungProcess.start(rung(), withWork(arguments), DESCRIPTOR_CEILING)) {
            EchoCases on = new EchoCases(fresh.address(), replyTimeout(), 20);
            on.bulk(1 << 20); // warm-up: every class of the echo path is loaded before the limit bites
            List<EchoSession> held = new ArrayList<>();
            List<java.net.Socket> excess = new ArrayList<>();
            try {
                for (int i = 0; i < heldAtTheLimit(); i++) {
                    EchoSession s = on.connect("held client " + i);
                    held.add(s);
                    byte[] m = Payload.random(Payload.seed(20, i, 0), 1000);
                    s.send(m);
                    s.expect(m);
                }
                Thread.sleep(300); // the server's own descriptors settle (children started, sockets closed)
                List<ProcessHandle> tree = Proc.tree(fresh.pid());
                long rootOpen = Proc.openFds(fresh.pid());
                for (ProcessHandle p : tree) {
                    // The limit bounds descriptor numbers, not their count. A thread blocked in accept has
                    // already taken the next number (the kernel takes it before it waits), unseen in
                    // /proc: the limit leaves room for that one, so that it can be used again once its
                    // client has left, and nothing more.
                    Posix.setOpenFilesLimit(p.pid(), Proc.highestFd(p.pid()) + 2);
                }
                // What it can still take: the few numbers free below its highest, where the limit is read
                // at each accept; up to the ceiling, where it was read once (io_uring's armed accept). At
                // least 50 more than that come.
                int more = (int) Math.max(0, DESCRIPTOR_CEILING - rootOpen) + 50;
                for (int i = 0; i < more; i++) {
                    java.net.Socket s = new java.net.Socket();
                    s.connect(fresh.address(), 5000);
                    s.getOutputStream().write(i & 0x7f);
                    excess.add(s);
                }
                Thread.sleep(1000); // the turn-aways, if any, are done by now
                long cpuBefore = treeCpuNanos(fresh.pid());
                Thread.sleep(2000);
                long cpuMillis = (treeCpuNanos(fresh.pid()) - cpuBefore) / 1_000_000;
                assertThat(fresh.process().isAlive()).as("%s at its descriptor limit; %s", rung(), fresh.diagnostics())
                        .isTrue();
                assertThat(cpuMillis).as("%s's CPU over 2 s while %d clients wait past its descriptor limit", rung(),
                        more).isLessThan(400);
                for (int i = 0; i < held.size(); i++) {
                    byte[] m = Payload.random(Payload.seed(20, i, 1), 4096);
                    held.get(i).send(m);
                    held.get(i).expect(m);
                }
                int[] fates = new int[3]; // closed, echoed, waiting
                List<java.net.Socket> waiting = new ArrayList<>();
                for (int i = 0; i < excess.size(); i++) {
                    switch (fate(excess.get(i), i & 0x7f)) {
                        case 0 -> fates[0]++;
                        case 1 -> fates[1]++;
                        default -> {
                            fates[2]++;
                            waiting.add(excess.get(i));
                        }
                    }
                }
                say(String.format("at its descriptor limit: %d held clients echoed; of %d more, %d were closed, %d"
                        + " echoed, %d waited; server CPU %d ms in 2 s", held.size(), more, fates[0], fates[1],
                        fates[2], cpuMillis));
                // The held clients leave: a waiting client must now be served (or told), none left silent.
                held.forEach(EchoSession::close);
                held.clear();
                for (java.net.Socket s : excess) {
                    if (!waiting.contains(s)) {
                        s.close();
                    }
                }
                for (java.net.Socket s : waiting) {
                    s.setSoTimeout((int) Math.max(10_000, replyTimeout().toMillis()));
                    int got;
                    try {
                        got = s.getInputStream().read();
                    } catch (IOException e) {
                        got = -1;
                    }
                    assertThat(got).as("a client that waited at the limit, once the held ones left: its echo or"
                            + " EOF (-1)").isIn(-1, excess.indexOf(s) & 0x7f);
                    s.close();
                }
                String after = awaitShortMessage(on, Duration.ofSeconds(10));
                long turnedAway = 0;
                assertThat(fresh.terminate(Duration.ofSeconds(5))).as("exit status; %s", fresh.diagnostics()).isZero();
                turnedAway = exitStats(fresh).get("counted").get(Stats.TURNED_AWAY).asLong();
                if (heldAtTheLimit() > 0) {
                    // With clients held, the limit is reached: the first ones past it must be turned away.
                    assertThat(turnedAway + fates[0]).as("clients %s turned away (counted) or closed", rung())
                            .isPositive();
                } else {
                    // One client at a time (per worker) needs one descriptor: the server never asks for more.
                    say("holds one client at a time (per worker): the limit is never reached by clients");
                }
                say("after the held clients left: " + after + "; turned away (counted by the server): " + turnedAway);
                recordHostile("out of descriptors", "passed: " + turnedAway + " turned away, " + fates[2]
                        + " waited, CPU " + cpuMillis + " ms in 2 s");
            } finally {
                held.forEach(EchoSession::close);
                for (java.net.Socket s : excess) {
                    s.close();
                }
            }
        }
    }

    @Test
    @Tag("hostile")
    @DisplayName("21. five clients write 32 MiB each and never read; another still echoes 1 MiB byte-exact")
    void nonReadersBesideAnother() throws Exception {
        try (RungProcess fresh = start(hostileServeArguments())) {
            EchoCases on = new EchoCases(fresh.address(), replyTimeout(), 21);
            on.bulk(1 << 20); // warm-up
            List<SocketChannel> hogs = new ArrayList<>();
            try {
                long[] written = new long[5];
                for (int i = 0; i < 5; i++) {
                    SocketChannel hog = SocketChannel.open(fresh.address());
                    hog.configureBlocking(false);
                    hogs.add(hog);
                }
                // Round-robin until each has written 32 MiB or none has got a byte in for a second: the
                // server has stopped reading them (back-pressure) and holds what it took.
                ByteBuffer chunk = ByteBuffer.wrap(Payload.random(21, 64 * 1024));
                long lastProgress = System.nanoTime();
                while (System.nanoTime() - lastProgress < Duration.ofSeconds(1).toNanos()) {
                    boolean moved = false;
                    for (int i = 0; i < hogs.size(); i++) {
                        if (written[i] < 32L << 20) {
                            chunk.rewind();
                            int n = hogs.get(i).write(chunk);
                            written[i] += n;
                            moved |= n > 0;
                        }
                    }
                    if (moved) {
                        lastProgress = System.nanoTime();
                    } else {
                        Thread.sleep(5);
                    }
                }
                long mib = java.util.Arrays.stream(written).sum() >> 20;
                String outcome;
                if (underAHorde(5) == EchoCases.UnderAHorde.SERVES_OTHERS) {
                    outcome = "another client: " + on.bulk(1 << 20);
                } else {
                    outcome = "the non-readers hold their workers: another client waits (declared)";
                }
                say("five non-readers wrote " + mib + " MiB in all and stalled; " + outcome);
                for (SocketChannel hog : hogs) {
                    hog.setOption(StandardSocketOptions.SO_LINGER, 0); // they leave with a reset
                    hog.close();
                }
                hogs.clear();
                say("after they left: " + on.bulk(1 << 20));
                recordHostile("five non-readers", underAHorde(5) == EchoCases.UnderAHorde.SERVES_OTHERS
                        ? "others served" : "others wait (declared)");
            } finally {
                for (SocketChannel hog : hogs) {
                    hog.close();
                }
            }
        }
    }

    /** The run's {@code --work}, added to {@code arguments} when it has one and they have none. */
    private static List<String> withWork(List<String> arguments) {
        List<String> all = new ArrayList<>(arguments);
        if (!arguments.contains("--work")) {
            all.addAll(workArguments());
        }
        return all;
    }

    /** 0 if the server closed the connection, 1 if it echoed {@code sent}, 2 if nothing came yet. */
    private static int fate(java.net.Socket s, int sent) throws IOException {
        s.setSoTimeout(1);
        try {
            int got = s.getInputStream().read();
            if (got < 0) {
                return 0;
            }
            assertThat(got).as("the byte a client past the limit got back").isEqualTo(sent);
            return 1;
        } catch (java.net.SocketTimeoutException e) {
            return 2;
        } catch (IOException e) {
            return 0; // reset
        }
    }

    /** A short message echoed, tried again for a while: a server that paused accepting starts again. */
    private static String awaitShortMessage(EchoCases on, Duration within) throws Exception {
        long deadline = System.nanoTime() + within.toNanos();
        while (true) {
            try {
                return on.shortMessage();
            } catch (CaseFailure e) {
                if (System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(200);
            }
        }
    }

    private static long treeCpuNanos(long pid) {
        return Proc.tree(pid).stream().mapToLong(p -> Math.max(0, Proc.cpuNanos(p.pid()))).sum();
    }

    /** The {@code "stats"} object of the last machine-readable stats line the server printed (on exit, say). */
    public static tools.jackson.databind.JsonNode exitStats(RungProcess server) {
        List<String> lines = server.stdout().stream().filter(l -> l.startsWith(Stats.JSON_PREFIX)).toList();
        assertThat(lines).as("machine-readable stats lines of %s", server.rung()).isNotEmpty();
        return new tools.jackson.databind.ObjectMapper().readTree(lines.getLast()).get("stats");
    }

    @Test
    @DisplayName("18. --work cpu:50us: the contract's messages stay byte-exact (or the rung refuses --work)")
    void workBetweenReadAndWrite() throws Exception {
        if (!descriptor().settings().contains(Setting.WORK)) {
            assertRefused("--work", "cpu:50us");
            return;
        }
        List<String> arguments = new ArrayList<>(serveArguments());
        arguments.addAll(List.of("--work", "cpu:50us"));
        try (RungProcess working = start(arguments)) {
            EchoCases on = new EchoCases(working.address(), replyTimeout(), 18);
            say("with --work cpu:50us: " + on.shortMessage());
            say("with --work cpu:50us: " + on.bulk(1 << 20));
            say("with --work cpu:50us: " + on.halfClose(100_003));
        }
    }

    @Test
    @DisplayName("19. --work-timeout: the watchdog closes a client whose handler sleeps or spins too long, and counts it")
    void workTimeout() throws Exception {
        if (!descriptor().settings().contains(Setting.WORK_TIMEOUT)) {
            String refusal = assertRefused("--work-timeout", "1s");
            assertThat(refusal).contains(Setting.WORK_TIMEOUT.whyRefused());
            return;
        }
        // The watchdog times the handler's --work; without it the flag would do nothing, so it is refused.
        assertThat(assertRefused("--work-timeout", "1s")).contains("give --work too");
        // Every message works 30 s in the handler; the watchdog must end that after 200 ms. Both kinds:
        // a sleep is woken by the interrupt (which clears the flag), a spin notices it and leaves the
        // flag set, so only the spin shows whether a pool thread carries it on to its next client.
        for (String work : List.of("sleep:30s", "cpu:30s")) {
            watchdogEndsStuckHandlers(work);
        }
    }

    private void watchdogEndsStuckHandlers(String work) throws Exception {
        List<String> arguments = new ArrayList<>(serveArguments());
        arguments.addAll(List.of("--work", work, "--work-timeout", "200ms", "--stats", "100ms"));
        if (descriptor().settings().contains(Setting.WORKERS) && !arguments.contains("--workers")) {
            // Two workers: one holds the idle client, so the two stuck clients take turns on the other,
            // and the second one runs on a thread the watchdog has already interrupted once.
            arguments.addAll(List.of("--workers", "2"));
        }
        try (RungProcess watched = start(arguments)) {
            EchoCases on = new EchoCases(watched.address());
            EchoSession idle = servesConcurrently() ? on.connect("idle client") : null;
            try {
                for (int i = 1; i <= 2; i++) {
                    try (EchoSession stuck = on.connect("stuck client " + i)) {
                        stuck.send(new byte[] {(byte) i});
                        String end = stuck.awaitClose(Duration.ofSeconds(10));
                        assertThat(end).as("stuck client %d: the watchdog ends --work %s after 200 ms; %s", i,
                                work, watched.diagnostics()).isNotNull();
                    }
                    String counted = Stats.WORK_TIMEOUTS_LINE + i;
                    assertThat(awaitLine(watched, counted, Duration.ofSeconds(10)))
                            .as("--stats counts stuck client %d (%s); last line: %s", i, work,
                                    watched.stdout().isEmpty() ? "none" : watched.stdout().getLast()).isTrue();
                }
                if (idle != null) {
                    assertThat(idle.awaitClose(Duration.ofMillis(300)))
                            .as("an idle client is no handler at work: the work watchdog leaves it open").isNull();
                }
            } finally {
                if (idle != null) {
                    idle.close();
                }
            }
            assertThat(watched.terminate(Duration.ofSeconds(5))).as("exit status; %s", watched.diagnostics()).isZero();
            List<String> lines = watched.stdout().stream().filter(l -> l.startsWith(Stats.WORK_TIMEOUTS_LINE)).toList();
            assertThat(lines.getLast()).as("the count printed on exit").isEqualTo(Stats.WORK_TIMEOUTS_LINE + 2);
            assertThat(exitStats(watched).get("work_timeouts").asLong()).as("work_timeouts in the exit's JSON line")
                    .isEqualTo(2);
            say("two clients stuck in --work " + work + " were closed by --work-timeout 200ms and counted"
                    + (idle != null ? "; an idle client stayed open" : "") + ": " + lines.getLast());
        }
    }

    /** Waits for the server to print exactly {@code line} on stdout. */
    private static boolean awaitLine(RungProcess process, String line, Duration wait) throws InterruptedException {
        long deadline = System.nanoTime() + wait.toNanos();
        while (System.nanoTime() < deadline) {
            if (process.stdout().contains(line)) {
                return true;
            }
            Thread.sleep(20);
        }
        return false;
    }

    private void cycle(byte[] message, String label) throws CaseFailure {
        try (EchoSession s = cases.connect(label)) {
            s.send(message);
            s.expect(message);
        }
    }

    private long openFds() {
        return openFds(server);
    }

    /** Open descriptors of a server's whole process tree. */
    private static long openFds(RungProcess server) {
        return Proc.tree(server.pid()).stream().mapToLong(p -> Proc.openFds(p.pid())).sum();
    }

    /** A rung that does not take an option (or not alone) must refuse it: exit 2, one line naming the option, returned. */
    private String assertRefused(String option, String value) throws Exception {
        RungProcess.Refusal run = RungProcess.runExpectingExit(List.of(rung(), "--port", "0", option, value),
                Duration.ofSeconds(60));
        assertThat(run.status()).as("exit status of serve %s %s %s (-1: still running): %s", rung(), option, value,
                run.output()).isEqualTo(2);
        assertThat(run.output()).contains(option).doesNotContain("Exception").doesNotContain("\n");
        say("refuses " + option + " " + value + " and says why: " + run.output());
        return run.output();
    }
}
