package io.echoladder.forked;

import io.echoladder.common.AcceptPolicy;
import io.echoladder.common.Jvm;
import io.echoladder.common.ServerConfig;
import io.echoladder.common.Work;
import io.echoladder.common.linux.Native;
import io.echoladder.common.linux.Poll;
import io.echoladder.common.linux.Posix;
import io.echoladder.common.linux.Syscall;
import io.echoladder.common.linux.UnixSockets;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * Starting, reaching and reaping child JVMs: what the process rungs share and do not teach. A child is
 * started with this JVM's class path and flags, connects back to a Unix socket named for it, and that
 * connection is how the parent hands it descriptors and hears from it.
 */
final class Children {

    /**
     * JVM flags of a worker: the ladder's, plus the cheapest start-up: C1 only, serial GC, no perf-data
     * file, small thread stacks.
     */
    private static final List<String> WORKER_FLAGS = List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
            "-XX:-UsePerfData", "-Xss512k");

    /**
     * A worker's heap is touched up front when its parent's is ({@code soak} starts the rung so), from an
     * initial heap of 32 MiB. Touching the default one (1/64 of RAM: 378 MiB on 24 GiB) took a worker JVM
     * from 37 to 417 MiB of RSS and its start from 0.1 to 1.2 s, 26 GiB for 64 process-per-connection
     * children; with 32 MiB, 70 MiB and 0.2 s (a JVM with these flags that prints its RSS, 2026-12-04).
     * A flag on the command line, not JAVA_TOOL_OPTIONS: that would reach every worker too, but touch
     * each one's default heap and print a "Picked up" line on the server's stderr per worker.
     */
    private static final List<String> PRE_TOUCH_FLAGS = List.of(Jvm.PRE_TOUCH, "-Xms32m");

    /**
     * A worker's class path: only the places its classes come from (this module, the Linux bindings,
     * and the epoll loop the prefork-epoll workers run), not the server's whole class path; every jar on
     * it is opened or checked at start-up.
     */
    private static final String WORKER_CLASS_PATH = String.join(java.io.File.pathSeparator,
            location(Worker.class), location(io.echoladder.common.linux.Posix.class),
            location(io.echoladder.epoll.EpollEchoServer.class));

    private static String location(Class<?> type) {
        try {
            return Path.of(type.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
        } catch (java.net.URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private static final AtomicLong SEQUENCE = new AtomicLong();

    private final Set<Process> live = ConcurrentHashMap.newKeySet();
    private final Reserve reserve = new Reserve();
    private final Work work;
    private final Path image;
    private final AtomicBoolean training = new AtomicBoolean();
    private final boolean preTouch = Jvm.preTouched();
    /** {@code --profile}: the agent flag that has each worker write its own profile as it exits; or null. */
    private final String profileAgent;

    /**
     * Children for {@code config}: every worker does its {@code --work} (passed on its command line), and
     * with {@code config.startupImage()} they start from an AOT cache ({@code -XX:AOTCache}): the classes
     * a worker loads and links, already parsed and laid out, mapped from a file. The first worker without
     * one records it ({@code -XX:AOTCacheOutput}) as it runs, and the JVM writes the cache as that worker
     * exits; every later worker starts from it.
     */
    Children(ServerConfig config) {
        this.work = config.work();
        this.image = config.startupImage() ? imagePath() : null;
        this.profileAgent = config.profile() == null ? null : io.echoladder.common.Profiler.workerAgent(config.profile());
    }

    /**
     * One cache per JDK and class path: a cache only fits the exact jars it was made from, so the name
     * is a hash of both (and the jars' dates), and a rebuilt project gets a new one.
     */
    private static Path imagePath() {
        StringBuilder key = new StringBuilder(System.getProperty("java.runtime.version"));
        for (String entry : WORKER_CLASS_PATH.split(java.io.File.pathSeparator)) {
            key.append(entry).append(new java.io.File(entry).lastModified());
        }
        return Path.of(System.getProperty("java.io.tmpdir"), "echoladder-aot",
                Integer.toHexString(key.toString().hashCode()) + ".aot");
    }

    /** JVM flags for the startup image: use it, record it (one worker at a time), or neither. */
    private List<String> imageFlags() {
        if (image == null) {
            return List.of();
        }
        if (Files.exists(image)) {
            return List.of("-XX:AOTCache=" + image);
        }
        if (training.compareAndSet(false, true)) {
            try {
                Files.createDirectories(image.getParent());
            } catch (IOException e) {
                return List.of();
            }
            return List.of("-XX:AOTCacheOutput=" + image);
        }
        return List.of();
    }

    /** A started child and the parent's end of its Unix socket. */
    record Child(Process process, int control) {
    }

    /** Hands a started child what it needs (a client, the listener) before it is anyone's to use. */
    @FunctionalInterface
    interface SetUp {
        void setUp(Child child) throws IOException;
    }

    /**
     * Starts {@code Worker MODE NAME WORK ARGS...}, accepts its connection back, and hands it what it
     * needs ({@code setUp}). Fails if the child dies before connecting, or if the set-up fails: a child
     * never given its client or listener would wait for it forever, so it is ended and reaped first, and
     * no JVM outlives the failure that made it useless. {@code started} hears of the process as soon as
     * it exists.
     */
    Child start(String mode, List<String> args, Consumer<Process> started, SetUp setUp)
            throws IOException {
        Child child = connect(mode, args, started);
        try {
            setUp.setUp(child);
            return child;
        } catch (IOException | RuntimeException e) {
            child.process().destroyForcibly();
            try {
                child.process().waitFor(STOP_LIMIT.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException interrupted) {
                Thread.currentThread().interrupt();
            }
            Posix.close(child.control());
            throw e;
        }
    }

    private Child connect(String mode, List<String> args, Consumer<Process> started)
            throws IOException {
        String name = "echoladder/" + ProcessHandle.current().pid() + "/" + SEQUENCE.incrementAndGet();
        int listener;
        reserve.numbers.lock();
        try {
            listener = UnixSockets.listen(name);
        } finally {
            reserve.numbers.unlock();
        }
        boolean[] open = {true};
        try {
            List<String> command = new ArrayList<>();
            command.add(Jvm.java());
            command.addAll(Jvm.FLAGS);
            command.addAll(WORKER_FLAGS);
            if (preTouch) {
                command.addAll(PRE_TOUCH_FLAGS);
            }
            if (profileAgent != null) {
                command.add(profileAgent);
            }
            List<String> imageFlags = imageFlags();
            command.addAll(imageFlags);
            boolean recording = imageFlags.stream().anyMatch(f -> f.startsWith("-XX:AOTCacheOutput"));
            command.addAll(List.of("-cp", WORKER_CLASS_PATH, Worker.class.getName(), mode, name,
                    work.toString()));
            command.addAll(args);
            ProcessBuilder builder = new ProcessBuilder(command)
                    .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    // The recording worker's JVM reports on the cache it writes: not the server's business.
                    .redirectError(recording ? ProcessBuilder.Redirect.DISCARD : ProcessBuilder.Redirect.INHERIT);
            Process process = reserve.start(builder);
            live.add(process);
            started.accept(process);
            process.onExit().thenRun(() -> live.remove(process));
            // If the child dies before connecting, shutting the listener down wakes the accept below. Only
            // while it is still open: once closed, its fd number belongs to someone else.
            process.onExit().thenRun(() -> {
                synchronized (open) {
                    if (open[0]) {
                        Posix.shutdown(listener, Posix.SHUT_RDWR);
                    }
                }
            });
            int control = reserve.accept(listener, Posix.SOCK_CLOEXEC);
            if (control < 0) {
                process.destroyForcibly();
                throw control == -Native.EMFILE || control == -Native.ENFILE
                        ? Native.exception("accept of worker " + process.pid() + "'s connection", -control)
                        : new IOException("worker " + process.pid() + " exited before connecting back");
            }
            return new Child(process, control);
        } finally {
            synchronized (open) {
                open[0] = false;
                Posix.close(listener);
            }
        }
    }

    int live() {
        return live.size();
    }

    /** How long {@link #stopAll()} waits for the children to be gone: well inside serve's 2 s promise. */
    static final Duration STOP_LIMIT = Duration.ofMillis(1000);

    /** The same with {@code --profile}: each worker writes its flame graph as it exits (serve waits 30 s). */
    static final Duration PROFILE_STOP_LIMIT = Duration.ofSeconds(25);

    /**
     * Ends every child at once and waits, up to {@link #STOP_LIMIT} in all, until each is reaped. SIGKILL,
     * not SIGTERM: a worker keeps nothing but its sockets, which the kernel closes either way (a FIN, or a
     * reset if the client's bytes were still unread, exactly as on a clean exit). SIGTERM would make each
     * JVM run its shutdown sequence, and 64 JVMs doing that on 2 cores took up to 1.5 s; the kernel tears
     * down a killed process without running it at all. With {@code --profile}, SIGTERM after all: a killed
     * JVM writes no profile, and one that exits writes its own.
     */
    void stopAll() {
        List<Process> all = List.copyOf(live);
        Duration limit = profileAgent == null ? STOP_LIMIT : PROFILE_STOP_LIMIT;
        all.forEach(profileAgent == null ? Process::destroyForcibly : Process::destroy);
        try {
            CompletableFuture.allOf(all.stream().map(Process::onExit).toArray(CompletableFuture[]::new))
                    .get(limit.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException | ExecutionException e) {
            System.err.println("children: " + all.stream().filter(Process::isAlive).count()
                    + " still exiting after " + limit.toMillis() + " ms");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        // The onExit hooks that drop a child from live may run after allOf has completed: drop the reaped here.
        all.stream().filter(p -> !p.isAlive()).forEach(live::remove);
    }

    /**
     * The parent's blocking accept, for the rungs whose parent accepts: the next client, or -1 once
     * {@code closing} says the server is stopping (close() shuts the listener down, which wakes accept
     * with an error). A client that left before it was taken, or a signal, just means: accept again; out of
     * descriptors, {@code accepts} turns the waiting client away (or pauses) and we accept again.
     */
    int accept(int listenFd, int flags, BooleanSupplier closing, AcceptPolicy accepts)
            throws IOException {
        // Blocking listener: the turn-away asks poll first, or it could block on the spare's number.
        AcceptPolicy.AcceptAndClose turnAway = AcceptPolicy.closingAcceptIfWaiting(listenFd);
        while (true) {
            int client = reserve.accept(listenFd, flags | Posix.SOCK_CLOEXEC);
            if (client >= 0) {
                return client;
            }
            if (closing.getAsBoolean()) {
                return -1;
            }
            AcceptPolicy.Next next;
            reserve.numbers.lock(); // a turn-away takes a number too
            try {
                next = accepts.failed(-client, turnAway);
            } finally {
                reserve.numbers.unlock();
            }
            if (next == AcceptPolicy.Next.PAUSE) {
                accepts.sleepPause();
            }
        }
    }

    /**
     * Descriptor numbers held for the next child's start. {@code ProcessBuilder.start} takes up to seven at
     * once (the redirects' /dev/null, two pipes of the JDK's launch helper, /proc/PID/stat), and when it
     * runs out halfway, JDK 25 closes numbers it never opened: seen with strace on a parent at its limit,
     * {@code pipe2} failing with EMFILE, then {@code close(0)}, and on the next try the close of a client
     * socket that had since been accepted into number 0. So a parent must never start a child short of
     * descriptors. It holds {@link #SIZE} numbers on /dev/null; a start lets go of them, starts, and takes
     * them back. Every other number the process rungs' parents take while they run (each accept, the Unix
     * socket to a child) is taken under the same lock, so none lands on a reserved number in between. A
     * reserve left short (some other part of the JVM took a number) is topped up before the next start,
     * and a start it cannot top up fails with EMFILE, touching nothing.
     */
    static final class Reserve {

        /** What a start needs, seven, and room for the recording worker's extra redirect and a margin. */
        static final int SIZE = 10;

        final ReentrantLock numbers = new ReentrantLock();
        private final int[] held = new int[SIZE];
        private final MemorySegment devNull =
                Arena.ofAuto().allocateFrom("/dev/null");

        Reserve() {
            Arrays.fill(held, -1);
            numbers.lock();
            try {
                topUp();
            } finally {
                numbers.unlock();
            }
        }

        /** Holds every number it can up to {@link #SIZE}; whether it holds them all. Under the lock. */
        private boolean topUp() {
            boolean full = true;
            for (int i = 0; i < SIZE; i++) {
                if (held[i] < 0) {
                    held[i] = (int) Syscall.call(Syscall.SYS_openat, AT_FDCWD, devNull.address(),
                            O_RDONLY | O_CLOEXEC);
                    full &= held[i] >= 0;
                }
            }
            return full;
        }

        Process start(ProcessBuilder builder) throws IOException {
            numbers.lock();
            try {
                if (!topUp()) {
                    throw Native.exception("start of a worker JVM (descriptors held for it)", Native.EMFILE);
                }
                for (int i = 0; i < SIZE; i++) {
                    Syscall.call(Syscall.SYS_close, held[i], 0, 0);
                    held[i] = -1;
                }
                try {
                    return builder.start();
                } finally {
                    topUp();
                }
            } finally {
                numbers.unlock();
            }
        }

        /**
         * accept4 on a blocking listener, without holding the lock while it waits: poll waits for a
         * connection (or for the shutdown that stops the server), then accept takes its number under the
         * lock. The caller is the listener's only acceptor, so the connection poll saw is still there.
         */
        int accept(int listenFd, int flags) throws IOException {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment pollfd = Poll.allocate(arena, 1);
                Poll.set(pollfd, 0, listenFd, Poll.POLLIN);
                while (Poll.poll(pollfd, 1, -1) == 0) {
                    // a signal: wait again
                }
            }
            numbers.lock();
            try {
                return Posix.accept4(listenFd, flags);
            } finally {
                numbers.unlock();
            }
        }

        private static final int O_RDONLY = 0;
        private static final int O_CLOEXEC = 0x80000;
        private static final int AT_FDCWD = -100;
    }
}
