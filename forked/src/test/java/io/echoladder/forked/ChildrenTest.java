package io.echoladder.forked;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.echoladder.common.ServerConfig;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * A child that was started but could not be handed what it needs (its client's socket, the listener)
 * would wait for it forever. It used to be left running while its slot under the cap was given back,
 * so the cap no longer bounded the JVMs alive.
 */
class ChildrenTest {

    @Test
    void aChildWhoseSetUpFailsIsEndedAndReapedBeforeTheFailureIsReported() {
        ServerConfig d = ServerConfig.defaults();
        Children children = new Children(new ServerConfig(d.host(), 0, 0, 0, d.idleTimeout(), d.statsInterval(),
                false, false, d.work(), d.workTimeout(), 0, null));
        AtomicReference<Process> started = new AtomicReference<>();
        try {
            Throwable failure = catchThrowable(() -> children.start("prefork", List.of(), started::set, child -> {
                throw new IOException("sendmsg: the listener could not be passed");
            }));

            assertThat(failure).hasMessage("sendmsg: the listener could not be passed");
            assertThat(started.get()).as("the child that was started").isNotNull();
            assertThat(started.get().isAlive()).as("the child, once start() has failed").isFalse();
        } finally {
            if (started.get() != null) {
                started.get().destroyForcibly();
            }
            children.stopAll();
        }
    }

    @Test
    void aChildWhoseSetUpSucceedsIsLeftRunning() throws Exception {
        ServerConfig d = ServerConfig.defaults();
        Children children = new Children(new ServerConfig(d.host(), 0, 0, 0, d.idleTimeout(), d.statsInterval(),
                false, false, d.work(), d.workTimeout(), 0, null));
        try {
            Children.Child child = children.start("prefork", List.of(), p -> { }, c -> { });
            assertThat(child.process().isAlive()).isTrue();
        } finally {
            children.stopAll();
        }
        assertThat(children.live()).isZero();
    }
}
