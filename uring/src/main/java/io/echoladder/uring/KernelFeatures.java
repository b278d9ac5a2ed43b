package io.echoladder.uring;

import static io.echoladder.common.linux.IoUring.IORING_ACCEPT_MULTISHOT;
import static io.echoladder.common.linux.IoUring.IORING_CQE_F_MORE;
import static io.echoladder.common.linux.IoUring.IORING_OP_ACCEPT;
import static io.echoladder.common.linux.IoUring.IORING_OP_TIMEOUT;
import static io.echoladder.common.linux.IoUring.IORING_RECV_MULTISHOT;
import static io.echoladder.common.linux.IoUring.IOSQE_BUFFER_SELECT;

import io.echoladder.common.linux.IoUring;
import io.echoladder.common.linux.Native;
import io.echoladder.common.linux.Posix;
import io.echoladder.common.linux.UnixSockets;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.EnumMap;
import java.util.Map;
import java.util.Optional;

/**
 * What the io-uring rung needs from the kernel beyond io_uring itself, checked at start-up by asking for
 * each feature on a small ring of its own, not by reading the version (a distribution kernel may carry a
 * feature back, or a custom one leave it out). Each arrived in a known release, and a kernel without one
 * refuses it with EINVAL; without the check the rung would start, accept every client and then fail
 * each one's first receive.
 */
final class KernelFeatures {

    private KernelFeatures() {
    }

    /** A feature the rung uses, and the first Linux release that has it. */
    enum Feature {
        BUFFER_RING("buffer rings (IORING_REGISTER_PBUF_RING)", "5.19"),
        MULTISHOT_ACCEPT("multishot accept (IORING_ACCEPT_MULTISHOT)", "5.19"),
        MULTISHOT_RECV("multishot receive (IORING_RECV_MULTISHOT)", "6.0");

        final String what;
        final String since;

        Feature(String what, String since) {
            this.what = what;
            this.since = since;
        }
    }

    /** How long the probe waits for the kernel's answers before it calls the feature missing. */
    private static final long PROBE_TIMEOUT_SECONDS = 5;

    private static final long ACCEPT = 1;
    private static final long RECV = 2;
    private static final long TIMEOUT = 3;

    /**
     * The decision: empty if every feature was granted (an answer of 0), else one line naming the first
     * feature the kernel refused and why.
     */
    static Optional<String> missing(Map<Feature, Integer> answers) {
        for (Feature feature : Feature.values()) {
            int answer = answers.getOrDefault(feature, -IoUring.ETIME);
            if (answer == -Native.EINVAL) {
                return Optional.of("this kernel has no " + feature.what + ", which came in Linux " + feature.since
                        + " (the kernel answered EINVAL)");
            }
            if (answer != 0) {
                return Optional.of("this kernel did not grant " + feature.what + " (Linux " + feature.since + "+): "
                        + (answer == -IoUring.ETIME ? "no answer within " + PROBE_TIMEOUT_SECONDS + " s"
                                : Native.strerror(-answer)));
            }
        }
        return Optional.empty();
    }

    /**
     * The real check on this kernel: {@link #missing} of what {@link #probe} finds. The probe runs on a
     * thread of its own, which ends with it: the io_uring context the kernel attaches to a thread that
     * submits (its task context, its io-wq) then goes with that thread, and the thread that will run the
     * server's ring starts with none of the probe's.
     */
    static Optional<String> check() {
        java.util.concurrent.atomic.AtomicReference<Optional<String>> result = new java.util.concurrent.atomic.AtomicReference<>(
                Optional.of("the feature check did not finish"));
        Thread prober = Thread.ofPlatform().name("io-uring-probe").start(() -> {
            try {
                result.set(missing(probe(IORING_RECV_MULTISHOT)));
            } catch (IOException | RuntimeException e) {
                result.set(Optional.of("the feature check failed: " + e.getMessage()));
            }
        });
        try {
            prober.join((PROBE_TIMEOUT_SECONDS + 5) * 1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return result.get();
    }

    /**
     * Asks the kernel for each feature, the way the rung uses it: registers a buffer ring, arms a
     * multishot accept on a Unix socket and connects to it, arms a receive with {@code recvFlags} in
     * {@code ioprio} ({@link IoUring#IORING_RECV_MULTISHOT}, as the rung does) on the accepted socket and
     * sends it a byte. Each answer is 0 if the feature worked, or the kernel's {@code -errno}; a feature not
     * reached is absent. At most {@link #PROBE_TIMEOUT_SECONDS} of waiting.
     *
     * @throws IOException if the probe cannot be set up at all (no ring: {@link IoUring#refusal} says why)
     */
    static Map<Feature, Integer> probe(short recvFlags) throws IOException {
        Map<Feature, Integer> answers = new EnumMap<>(Feature.class);
        String name = "echoladder/uring-probe/" + ProcessHandle.current().pid() + "/" + System.nanoTime();
        int listener = -1;
        int client = -1;
        int[] accepted = {-1};
        try (Arena arena = Arena.ofConfined(); Ring ring = new Ring(8)) {
            ring.enable();
            try {
                new ProvidedBuffers(ring, arena, 4, 64);
                answers.put(Feature.BUFFER_RING, 0);
            } catch (Native.NativeException e) {
                answers.put(Feature.BUFFER_RING, -e.errno());
                return answers; // the receive cannot be asked for without a buffer ring
            }
            MemorySegment timeout = arena.allocate(IoUring.KERNEL_TIMESPEC);
            timeout.set(ValueLayout.JAVA_LONG, 0, PROBE_TIMEOUT_SECONDS);
            ring.prepare(IORING_OP_TIMEOUT, (byte) 0, (short) 0, -1, 0, timeout.address(), 1, 0, TIMEOUT);

            listener = UnixSockets.listen(name);
            ring.prepare(IORING_OP_ACCEPT, (byte) 0, IORING_ACCEPT_MULTISHOT, listener, 0, 0, 0, Posix.SOCK_CLOEXEC,
                    ACCEPT);
            ring.submit(0);
            client = UnixSockets.connect(name);
            boolean[] timedOut = {false};
            Ring.Completion answer = (userData, res, flags) -> {
                if (userData == ACCEPT && !answers.containsKey(Feature.MULTISHOT_ACCEPT)) {
                    // A multishot accept that works hands over the client and stays armed (F_MORE).
                    answers.put(Feature.MULTISHOT_ACCEPT, res >= 0 && (flags & IORING_CQE_F_MORE) != 0 ? 0
                            : res < 0 ? res : -Native.EINVAL);
                    accepted[0] = res;
                } else if (userData == RECV && !answers.containsKey(Feature.MULTISHOT_RECV)) {
                    answers.put(Feature.MULTISHOT_RECV, res > 0 && (flags & IORING_CQE_F_MORE) != 0 ? 0
                            : res < 0 ? res : -Native.EINVAL);
                } else if (userData == TIMEOUT) {
                    timedOut[0] = true;
                }
            };
            while (!answers.containsKey(Feature.MULTISHOT_ACCEPT) && !timedOut[0]) {
                ring.submit(1);
                ring.drain(answer);
            }
            if (answers.get(Feature.MULTISHOT_ACCEPT) == null || answers.get(Feature.MULTISHOT_ACCEPT) != 0) {
                return answers;
            }
            ring.prepareRecv(accepted[0], ProvidedBuffers.GROUP, IOSQE_BUFFER_SELECT, recvFlags, RECV);
            ring.submit(0);
            MemorySegment one = arena.allocate(1);
            Posix.write(client, one, 1);
            while (!answers.containsKey(Feature.MULTISHOT_RECV) && !timedOut[0]) {
                ring.submit(1);
                ring.drain(answer);
            }
            return answers;
        } finally {
            // The ring is closed first (try-with-resources), which cancels what is still armed on these.
            for (int fd : new int[] {accepted[0], client, listener}) {
                if (fd >= 0) {
                    Posix.close(fd);
                }
            }
        }
    }
}
