package io.echoladder.common;

import static io.echoladder.common.linux.Native.EAGAIN;
import static io.echoladder.common.linux.Native.EBADF;
import static io.echoladder.common.linux.Native.ECONNABORTED;
import static io.echoladder.common.linux.Native.EINTR;
import static io.echoladder.common.linux.Native.EMFILE;
import static io.echoladder.common.linux.Native.ENFILE;
import static io.echoladder.common.linux.Native.ENOBUFS;
import static io.echoladder.common.linux.Native.ENOMEM;
import static io.echoladder.common.linux.Native.EPROTO;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.echoladder.common.AcceptPolicy.Kind;
import io.echoladder.common.AcceptPolicy.Next;
import io.echoladder.common.linux.Native;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class AcceptPolicyTest {

    private final Stats stats = new Stats("loop", 1);

    @Test
    void theErrnoSaysWhichOfFourThingsHappened() {
        assertThat(AcceptPolicy.classify(EAGAIN)).isEqualTo(Kind.AGAIN);
        for (int errno : new int[] {EINTR, ECONNABORTED, EPROTO}) {
            assertThat(AcceptPolicy.classify(errno)).as("errno %d", errno).isEqualTo(Kind.RETRY);
        }
        for (int errno : new int[] {EMFILE, ENFILE, ENOBUFS, ENOMEM}) {
            assertThat(AcceptPolicy.classify(errno)).as("errno %d", errno).isEqualTo(Kind.OUT_OF_RESOURCES);
        }
        assertThat(AcceptPolicy.classify(EBADF)).isEqualTo(Kind.FATAL);
        assertThat(AcceptPolicy.classify(Native.EINVAL)).isEqualTo(Kind.FATAL);
    }

    @Test
    void aBrokenListenerIsFatalInOneLineNamingAccept() throws IOException {
        try (AcceptPolicy policy = new AcceptPolicy(stats)) {
            assertThatThrownBy(() -> policy.failed(EBADF, () -> 0)).isInstanceOf(IOException.class)
                    .hasMessage("accept: Bad file descriptor");
            assertThat(policy.failed(ECONNABORTED, () -> 0)).isEqualTo(Next.ACCEPT);
            assertThat(policy.failed(EAGAIN, () -> 0)).isEqualTo(Next.WAIT);
        }
    }

    @Test
    void outOfDescriptorsTheSpareMakesRoomForTheWaitingClientWhichIsClosedAndCounted() throws IOException {
        try (AcceptPolicy policy = new AcceptPolicy(stats)) {
            long spares = devNulls();
            AtomicInteger during = new AtomicInteger(-1);
            Next next = policy.failed(EMFILE, () -> {
                try {
                    during.set((int) devNulls()); // the spare is closed while the client is accepted into its number
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
                return 0;
            });
            assertThat(next).isEqualTo(Next.ACCEPT); // more may wait behind it
            assertThat(during.get()).isEqualTo(spares - 1);
            assertThat(devNulls()).as("the spare, opened again").isEqualTo(spares);
            assertThat(policy.holdsSpare()).isTrue();
            assertThat(stats.counted().get(Stats.TURNED_AWAY)).isEqualTo(1);
        }
    }

    @Test
    void withNobodyWaitingItPausesWithABackOffThatDoublesToOneSecondAndResetsOnSuccess() throws IOException {
        try (AcceptPolicy policy = new AcceptPolicy(stats)) {
            // At the limit accept fails at once whether a client waits or not: an empty backlog means pause.
            assertThat(policy.failed(EMFILE, () -> -EAGAIN)).isEqualTo(Next.PAUSE);
            assertThat(policy.pauseMillis()).isEqualTo(10);
            policy.failed(EMFILE, () -> -EAGAIN);
            assertThat(policy.pauseMillis()).isEqualTo(20);
            for (int i = 0; i < 20; i++) {
                policy.failed(EMFILE, () -> -EAGAIN);
            }
            assertThat(policy.pauseMillis()).isEqualTo(1000);
            policy.failed(EMFILE, () -> 0);
            assertThat(policy.pauseMillis()).isEqualTo(10);
            assertThat(stats.counted().get(Stats.TURNED_AWAY)).isEqualTo(1);
        }
    }

    @Test
    void whenAnotherThreadTakesTheFreedNumberItPausesAndGetsTheSpareBackLater() throws IOException {
        try (AcceptPolicy policy = new AcceptPolicy(stats)) {
            Path file = Files.createTempFile("stolen", "");
            java.io.FileInputStream[] thief = new java.io.FileInputStream[1];
            Next next = policy.failed(EMFILE, () -> {
                try {
                    thief[0] = new java.io.FileInputStream(file.toFile()); // another thread's open, in between
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
                return -EMFILE;
            });
            assertThat(next).isEqualTo(Next.PAUSE);
            thief[0].close();
            Files.delete(file);
            assertThat(policy.failed(EMFILE, () -> 0)).isEqualTo(Next.ACCEPT);
            assertThat(policy.holdsSpare()).isTrue();
        }
    }

    @Test
    void closingGivesTheSpareBack() throws IOException {
        long before = devNulls();
        AcceptPolicy policy = new AcceptPolicy(stats);
        assertThat(devNulls()).isEqualTo(before + 1);
        policy.close();
        assertThat(devNulls()).isEqualTo(before);
    }

    @Test
    void theJdksWordsForAnErrnoAreReadBack() throws IOException {
        AcceptPolicy.forJdkSockets(stats).close();
        assertThat(AcceptPolicy.errno(new IOException("Too many open files"))).isEqualTo(EMFILE);
        assertThat(AcceptPolicy.errno(new IOException("Too many open files in system"))).isEqualTo(ENFILE);
        assertThat(AcceptPolicy.errno(new IOException("Socket closed"))).isEqualTo(EBADF);
    }

    /** Open descriptors of this JVM on /dev/null: the spare is one of them. */
    private static long devNulls() throws IOException {
        try (var fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.filter(fd -> {
                try {
                    return Files.readSymbolicLink(fd).toString().equals("/dev/null");
                } catch (IOException e) {
                    return false;
                }
            }).count();
        }
    }
}
