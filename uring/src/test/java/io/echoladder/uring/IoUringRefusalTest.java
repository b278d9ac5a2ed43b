package io.echoladder.uring;

import static org.assertj.core.api.Assertions.assertThat;

import io.echoladder.client.RungProcess;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * What a machine that refuses io_uring sees: both rungs exit 1 with one line naming the reason, and the
 * rungs' tests are skipped with it. The refusal is real, not simulated in the rung: each case runs in a
 * JVM whose {@code io_uring_setup(2)} a seccomp filter fails ({@link WithoutIoUring}), as Docker's
 * default profile does with EPERM and a kernel built without io_uring does with ENOSYS; or whose
 * {@code io_uring_register(IORING_REGISTER_PBUF_RING)} fails with EINVAL, as on a kernel older than 5.19.
 */
class IoUringRefusalTest {

    @ParameterizedTest
    @CsvSource({
            "EPERM,  'serve: io-uring: io_uring_setup: Operation not permitted'",
            "ENOSYS, 'serve: io-uring: io_uring_setup: Function not implemented (this kernel was built without io_uring)'",
    })
    void theHandWrittenRungExitsWithOneLineNamingTheReason(String errno, String expected) throws Exception {
        RungProcess.Refusal run = run(errno, "io-uring", "--port", "0");

        assertThat(run.status()).as(run.output()).isEqualTo(1);
        assertThat(run.output()).doesNotContain("\n").startsWith(expected);
        if (errno.equals("EPERM")) {
            // Here nobody set the sysctl, so the reason is the other usual suspect.
            assertThat(run.output()).containsAnyOf("kernel.io_uring_disabled", "seccomp filter");
        }
    }

    @Test
    void onAKernelWithoutBufferRingsTheHandWrittenRungExitsNamingTheFeature() throws Exception {
        RungProcess.Refusal run = run("NO_PBUF_RING", "io-uring", "--port", "0");

        assertThat(run.status()).as(run.output()).isEqualTo(1);
        assertThat(run.output()).doesNotContain("\n").isEqualTo("serve: io-uring: this kernel has no buffer rings"
                + " (IORING_REGISTER_PBUF_RING), which came in Linux 5.19 (the kernel answered EINVAL)");
    }

    @Test
    void onAKernelWithoutBufferRingsTheRungsTestsAreSkippedNamingTheFeature() throws Exception {
        RungProcess.Refusal run = run("NO_PBUF_RING", "--condition");

        assertThat(run.status()).as(run.output()).isZero();
        assertThat(run.output()).startsWith("disabled: this machine refuses io_uring: this kernel has no buffer rings");
    }

    @ParameterizedTest
    @CsvSource({"EPERM", "ENOSYS"})
    void nettysRungExitsWithOneLineNamingTheReason(String errno) throws Exception {
        RungProcess.Refusal run = run(errno, "netty-io_uring", "--port", "0");

        assertThat(run.status()).as(run.output()).isEqualTo(1);
        assertThat(run.output()).doesNotContain("\n").startsWith("serve: netty-io_uring: io_uring is not available: ");
    }

    @ParameterizedTest
    @CsvSource({
            "EPERM,  'disabled: this machine refuses io_uring: io_uring_setup: Operation not permitted'",
            "ENOSYS, 'disabled: this machine refuses io_uring: io_uring_setup: Function not implemented'",
    })
    void theRungsTestsAreSkippedWithTheReason(String errno, String expected) throws Exception {
        RungProcess.Refusal run = run(errno, "--condition");

        assertThat(run.status()).as(run.output()).isZero();
        assertThat(run.output()).startsWith(expected);
    }

    /** {@code WithoutIoUring ERRNO ARGS...} in its own JVM, ended and reaped however the test goes. */
    private static RungProcess.Refusal run(String errno, String... args) throws IOException, InterruptedException {
        List<String> arguments = new ArrayList<>(List.of(errno));
        arguments.addAll(List.of(args));
        // A refusal is immediate; a server that started instead would never exit on its own.
        return RungProcess.runToExit(RungProcess.javaCommand(WithoutIoUring.class.getName(), arguments),
                Duration.ofSeconds(60));
    }
}
