package io.echoladder.uring;

import io.echoladder.common.LadderException;
import io.echoladder.common.RungProvider;
import io.echoladder.common.Setting;
import io.echoladder.netty.NettyEchoServer;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerSocketChannel;
import java.util.EnumSet;

/**
 * Netty's io_uring transport: the production reference for {@link IoUringEchoServer}. The same
 * completion model (a ring per event loop, provided buffers for receives) behind Netty's channel API,
 * through JNI; the echo handler and its water-mark back-pressure are {@link NettyEchoServer}, exactly
 * those of {@code netty-epoll}, so the two Netty rungs differ only in the transport.
 *
 * <p>One setting differs from Netty's default: accepts are single-shot. Out of descriptors, a multishot
 * accept ends with -EMFILE, and Netty 4.2 arms it again at once, whatever the channel's handlers asked
 * for; at the limit accept fails at once whether a client waits or not, so the event loop spun a core
 * (measured: 193 of 200 CPU ticks in 2 s). A single-shot accept is armed again only when the pipeline
 * asks to read, which the ladder's accept policy can hold back while it pauses.
 */
public final class NettyIoUringEchoServer {

    private NettyIoUringEchoServer() {
    }

    /** Read by Netty's IoUring class when it loads: set before the provider touches it. */
    private static final String ACCEPT_MULTISHOT = "io.netty.iouring.acceptMultiShotEnabled";

    public static final class Provider extends RungProvider {
        public Provider() {
            super("netty-io_uring", 150, "uring",
                    "Netty's io_uring transport: --workers N event loops (default 1), water-mark back-pressure",
                    EnumSet.of(Setting.WORKERS, Setting.MAX_CONNECTIONS, Setting.IDLE_TIMEOUT, Setting.STATS, Setting.WORK,
                            Setting.OFFLOAD),
                    config -> {
                        System.setProperty(ACCEPT_MULTISHOT, "false");
                        if (!IoUring.isAvailable()) {
                            // The kernel refuses io_uring, or the native library did not load: one line.
                            throw LadderException.failure("netty-io_uring: io_uring is not available: "
                                    + IoUring.unavailabilityCause().getMessage());
                        }
                        return new NettyEchoServer(config, IoUringIoHandler::newFactory,
                                IoUringServerSocketChannel.class);
                    });
        }
    }
}
