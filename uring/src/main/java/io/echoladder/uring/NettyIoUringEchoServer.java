package io.echoladder.uring;

import io.echoladder.common.LadderException;
import io.echoladder.common.RungProvider;
import io.echoladder.common.Setting;
import io.echoladder.common.netty.NettyEchoServer;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerSocketChannel;
import java.util.EnumSet;

/**
 * Netty's io_uring transport: the production reference for {@link IoUringEchoServer}. The same
 * completion model (a ring per event loop, multishot accept, provided buffers for receives) behind
 * Netty's channel API, through JNI; the echo handler and its water-mark back-pressure are
 * {@link NettyEchoServer}, exactly those of {@code netty-epoll}, so the two Netty rungs differ only in
 * the transport.
 */
public final class NettyIoUringEchoServer {

    private NettyIoUringEchoServer() {
    }

    public static final class Provider extends RungProvider {
        public Provider() {
            super("netty-io_uring", 150, "uring",
                    "Netty's io_uring transport: --workers N event loops (default 1), water-mark back-pressure",
                    EnumSet.of(Setting.WORKERS, Setting.MAX_CONNECTIONS, Setting.IDLE_TIMEOUT, Setting.STATS, Setting.WORK,
                            Setting.OFFLOAD),
                    config -> {
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
