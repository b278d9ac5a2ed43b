package io.echoladder.epoll;

import io.echoladder.client.conformance.RungConformanceSuite;
import java.util.List;
import org.junit.jupiter.api.Nested;

class NettyEpollEchoServerTest extends RungConformanceSuite {

    @Override
    protected String rung() {
        return "netty-epoll";
    }

    @Override
    protected boolean servesConcurrently() {
        return true;
    }

    /** The same suite with the handler on an {@code EventExecutorGroup} of 4 threads ({@code --offload 4}). */
    @Nested
    class Offloaded extends RungConformanceSuite {
        @Override
        protected String rung() {
            return "netty-epoll";
        }

        @Override
        protected boolean servesConcurrently() {
            return true;
        }

        @Override
        protected List<String> serveArguments() {
            return List.of("--offload", "4");
        }
    }
}
