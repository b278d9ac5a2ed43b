package io.echoladder.epoll;

import io.echoladder.client.conformance.RungConformanceSuite;
import java.util.List;
import org.junit.jupiter.api.Nested;

class EpollEchoServerTest extends RungConformanceSuite {

    @Override
    protected String rung() {
        return "epoll";
    }

    @Override
    protected boolean servesConcurrently() {
        return true;
    }

    /** The same suite with {@code --edge-triggered}: every event drained until EAGAIN. */
    @Nested
    class EdgeTriggered extends RungConformanceSuite {
        @Override
        protected String rung() {
            return "epoll";
        }

        @Override
        protected boolean servesConcurrently() {
            return true;
        }

        @Override
        protected List<String> serveArguments() {
            return List.of("--edge-triggered");
        }
    }
}
