package io.echoladder.epoll;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.echoladder.common.AcceptPolicy;
import io.echoladder.common.ServerConfig;
import io.echoladder.common.Stats;
import io.echoladder.common.linux.Posix;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * nio-selector's constructor binds the listener, then opens a Selector. When a step after the bind
 * failed, the listener stayed open (only a BindException closed it): the port stayed taken by a server
 * that never served.
 */
class SelectorConstructorTest {

    @Test
    void aConstructorThatFailsAfterTheBindLeavesThePortFree() throws Exception {
        int port;
        try (ServerSocket probe = new ServerSocket(0)) {
            port = probe.getLocalPort();
        }
        ServerConfig defaults = ServerConfig.defaults();
        ServerConfig config = new ServerConfig("127.0.0.1", port, 0, 0, defaults.idleTimeout(), defaults.statsInterval(),
                false, true, defaults.work(), defaults.workTimeout(), 0, null);
        long pid = ProcessHandle.current().pid();
        // Every class the constructor needs, loaded while a descriptor to read a class file with is left.
        AcceptPolicy.forJdkSockets(new Stats("loop", 1)).close();
        // Room for exactly one more descriptor, the listener's: the Selector (an epoll fd and an eventfd)
        // cannot be opened after it.
        long old = Posix.setOpenFilesLimit(pid, lowestFreeFd() + 1);
        Throwable failure;
        try {
            failure = catchThrowable(() -> new SelectorEchoServer.Provider().bind(config));
        } finally {
            Posix.setOpenFilesLimit(pid, old);
        }
        assertThat(failure).as("the constructor, one descriptor short").isInstanceOf(IOException.class);
        try (ServerSocket again = new ServerSocket()) {
            again.bind(new InetSocketAddress("127.0.0.1", port)); // a leaked listener would hold the port
        }
    }

    private static long lowestFreeFd() throws IOException {
        Set<Long> open;
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            open = fds.map(p -> Long.parseLong(p.getFileName().toString())).collect(Collectors.toSet());
        }
        long fd = 0;
        while (open.contains(fd)) {
            fd++;
        }
        return fd;
    }
}
