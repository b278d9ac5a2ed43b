package io.echoladder.threaded;

import static org.assertj.core.api.Assertions.assertThat;

import io.echoladder.client.RungProcess;
import io.echoladder.client.SyscallFault;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A listener that breaks for good is fatal, said in one line, exit 1. The pre-threaded pool used to stop
 * its workers with close() and then take its own close for a requested stop: exit 0, every client
 * dropped, nothing said. The break is real: a seccomp filter fails every accept with EINVAL, as for a
 * socket that is not listening.
 */
class ThreadPoolBrokenListenerTest {

    /** accept(2): the JDK's ServerSocket calls it, not accept4. */
    private static final long SYS_accept = System.getProperty("os.arch").equals("amd64") ? 43 : 202;
    private static final int EINVAL = 22;

    @Test
    void aBrokenListenerEndsThePoolWithExitOneAndOneLine() throws Exception {
        List<String> command = SyscallFault.serveCommand(new SyscallFault.Fault(SYS_accept, EINVAL, new int[0][]),
                RungProcess.serveArguments("thread-pool", List.of("--workers", "2")));
        try (RungProcess server = RungProcess.startCommand("thread-pool", command)) {
            // Every worker's first accept fails at once: no client is needed.
            assertThat(server.process().waitFor(10, java.util.concurrent.TimeUnit.SECONDS))
                    .as("the pool exits after its listener broke; %s", server.diagnostics()).isTrue();
            assertThat(server.process().exitValue()).as(server.diagnostics()).isEqualTo(1);
            assertThat(server.stderr().strip()).doesNotContain("\n").startsWith("serve: ").contains("Invalid argument");
        }
    }
}
