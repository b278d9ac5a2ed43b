package io.echoladder.epoll;

import io.echoladder.common.RungProvider;
import io.echoladder.common.Setting;
import io.echoladder.netty.NettyEchoServer;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import java.util.EnumSet;

/**
 * Netty's native epoll transport: the production reference the raw rungs are measured against. The same
 * model as {@link EpollEchoServer} (an event loop per thread, non-blocking sockets, epoll through JNI,
 * edge-triggered) with pooled buffers and a pipeline. The echo handler and its water-mark back-pressure
 * are {@link NettyEchoServer}, shared with {@code netty-io_uring}: only the transport differs.
 */
public final class NettyEpollEchoServer {

    private NettyEpollEchoServer() {
    }

    public static final class Provider extends RungProvider {
        public Provider() {
            super("netty-epoll", 90, "epoll",
                    "Netty's native epoll transport: --workers N event loops (default 1), water-mark back-pressure",
                    EnumSet.of(Setting.WORKERS, Setting.MAX_CONNECTIONS, Setting.IDLE_TIMEOUT, Setting.STATS, Setting.WORK,
                            Setting.OFFLOAD),
                    config -> new NettyEchoServer(config, EpollIoHandler::newFactory, EpollServerSocketChannel.class));
        }
    }
}
