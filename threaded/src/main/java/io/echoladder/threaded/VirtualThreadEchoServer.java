package io.echoladder.threaded;

import io.echoladder.common.RungProvider;
import io.echoladder.common.Setting;
import java.util.EnumSet;

/**
 * A virtual thread per connection: {@link ThreadPerConnectionEchoServer} with {@code Thread.ofVirtual()}
 * in place of {@code Thread.ofPlatform()}, and nothing else changed, so this file is only that choice.
 * The same blocking read now parks a continuation (a few hundred bytes of heap) instead of blocking a
 * kernel thread; the JDK's poller, which registers the socket with epoll and unparks the thread when it
 * is readable, does underneath what the epoll rungs do by hand. It costs a heap-allocated stack per
 * client and the JDK's scheduling in between.
 */
public final class VirtualThreadEchoServer {

    private VirtualThreadEchoServer() {
    }

    /** The ladder entry for this rung. */
    public static final class Provider extends RungProvider {
        public Provider() {
            super("virtual-threads", 50, "threaded",
                    "a virtual thread per client: blocking code, parked continuations, the JDK's epoll poller",
                    EnumSet.of(Setting.MAX_CONNECTIONS, Setting.IDLE_TIMEOUT, Setting.STATS, Setting.WORK,
                            Setting.WORK_TIMEOUT),
                    config -> new ThreadPerConnectionEchoServer(config,
                            // The one line that differs from thread-per-connection.
                            Thread.ofVirtual().name("echo-", 0)));
        }
    }
}
