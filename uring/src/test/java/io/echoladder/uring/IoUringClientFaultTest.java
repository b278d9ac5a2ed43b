package io.echoladder.uring;

import static org.assertj.core.api.Assertions.assertThat;

import io.echoladder.client.RungProcess;
import io.echoladder.client.SyscallFault;
import io.echoladder.client.conformance.EchoCases;
import io.echoladder.client.conformance.EchoSession;
import io.echoladder.client.conformance.RungConformanceSuite;
import io.echoladder.common.Stats;
import io.echoladder.common.linux.IoUring;
import io.echoladder.common.linux.Syscall;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * One client's error closes that client only. The io-uring rung sets TCP_NODELAY on each accepted socket
 * and puts it in the ring's file table; either failing used to end serve() with an IllegalStateException
 * (and leak the fd). The failures are real: a seccomp filter ({@link SyscallFault}) fails exactly that call
 * for every client, and nothing else.
 */
@ExtendWith(IoUringAvailable.class)
class IoUringClientFaultTest {

    private static final int EPERM = 1;
    private static final int IPPROTO_TCP = 6;
    private static final int TCP_NODELAY = 1;

    @ParameterizedTest
    @ValueSource(strings = {"setsockopt(TCP_NODELAY)", "io_uring_register(IORING_REGISTER_FILES_UPDATE)"})
    void aClientWhoseSetUpFailsIsClosedAndCountedAndTheRingServesOn(String call) throws Exception {
        SyscallFault.Fault fault = call.startsWith("setsockopt")
                ? new SyscallFault.Fault(SyscallFault.SYS_setsockopt, EPERM, new int[][] {{1, IPPROTO_TCP}, {2, TCP_NODELAY}})
                : new SyscallFault.Fault(Syscall.SYS_io_uring_register, EPERM,
                        new int[][] {{1, IoUring.IORING_REGISTER_FILES_UPDATE}});
        List<String> command = SyscallFault.serveCommand(fault, RungProcess.serveArguments("io-uring", List.of()));
        try (RungProcess server = RungProcess.startCommand("io-uring", command)) {
            EchoCases on = new EchoCases(server.address());
            for (int i = 0; i < 3; i++) {
                try (EchoSession client = on.connect("client " + i)) {
                    client.send(new byte[] {(byte) i});
                    assertThat(client.awaitClose(Duration.ofSeconds(10))).as("client %d when %s fails; %s", i, call,
                            server.diagnostics()).isNotNull();
                }
            }
            assertThat(server.process().isAlive()).as("the ring after three clients' %s failed; %s", call,
                    server.diagnostics()).isTrue();
            assertThat(server.terminate(Duration.ofSeconds(5))).as(server.diagnostics()).isZero();
            assertThat(RungConformanceSuite.exitStats(server).get("counted").get(Stats.FAILED).asLong()).isEqualTo(3);
        }
    }
}
