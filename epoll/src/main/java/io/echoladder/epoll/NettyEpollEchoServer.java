package io.echoladder.epoll;

import io.echoladder.common.EchoServer;
import io.echoladder.common.Listeners;
import io.echoladder.common.RungProvider;
import io.echoladder.common.ServerConfig;
import io.echoladder.common.Setting;
import io.echoladder.common.WorkerCounts;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.io.IOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.util.EnumSet;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Netty's native epoll transport: the production reference the raw rungs are measured against. The same
 * model as {@link EpollEchoServer} (an event loop per thread, non-blocking sockets, epoll through JNI,
 * edge-triggered) with pooled buffers and a pipeline. The echo is a handler that writes back what it
 * reads; back-pressure is the write-buffer water marks: past 256 KiB unsent a channel stops reading
 * (auto-read off) until it drains below 64 KiB. {@code --workers} event loops, default 1, so that it is
 * compared with the single-threaded raw rung like for like.
 */
public final class NettyEpollEchoServer implements EchoServer {

    private static final WriteBufferWaterMark WATER_MARKS = new WriteBufferWaterMark(64 * 1024, 256 * 1024);

    private final EventLoopGroup boss;
    private final EventLoopGroup loops;
    private final Channel listener;
    private final ChannelGroup clients = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    private final Map<EventLoop, Integer> loopIndex = new IdentityHashMap<>();
    private final WorkerCounts served;
    private final AtomicInteger live = new AtomicInteger();
    private final int maxConnections;
    private final long idleNanos;

    private NettyEpollEchoServer(ServerConfig config) throws IOException {
        int workers = config.workersOr(1);
        this.maxConnections = config.maxConnections();
        this.idleNanos = config.idleTimeout().toNanos();
        this.served = new WorkerCounts("loop-", workers);
        this.boss = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        this.loops = new MultiThreadIoEventLoopGroup(workers, EpollIoHandler.newFactory());
        int i = 0;
        for (var executor : loops) {
            loopIndex.put((EventLoop) executor, i++);
        }
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(boss, loops)
                .channel(EpollServerSocketChannel.class)
                .option(ChannelOption.SO_BACKLOG, ServerConfig.BACKLOG)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARKS)
                .childHandler(new ChannelInitializer<EpollSocketChannel>() {
                    @Override
                    protected void initChannel(EpollSocketChannel channel) {
                        channel.pipeline().addLast(new Echo());
                    }
                });
        try {
            this.listener = bootstrap.bind(Listeners.address(config)).syncUninterruptibly().channel();
        } catch (Exception e) {
            // Netty rethrows the bind's checked exception as it is: a BindException, or its own
            // native IOException saying EADDRINUSE.
            shutdownLoops();
            if (e instanceof BindException || String.valueOf(e.getMessage()).contains("Address already in use")) {
                throw Listeners.portTaken(config, new IOException("Address already in use"));
            }
            throw e instanceof IOException io ? io : new IOException(e);
        }
    }

    /** One channel's echo: write back what is read, flush once per read burst. */
    private final class Echo extends ChannelInboundHandlerAdapter {
        private long lastActive = System.nanoTime();
        private ScheduledFuture<?> idleCheck;
        private boolean counted;

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            if (maxConnections > 0 && live.get() >= maxConnections) {
                ctx.close(); // past the cap: the client reads EOF at once
                return;
            }
            counted = true;
            live.incrementAndGet();
            served.served(loopIndex.getOrDefault(ctx.channel().eventLoop(), 0));
            clients.add(ctx.channel());
            if (idleNanos > 0) {
                long tick = Math.clamp(idleNanos / 4, TimeUnit.MILLISECONDS.toNanos(10), TimeUnit.SECONDS.toNanos(1));
                idleCheck = ctx.executor().scheduleAtFixedRate(() -> {
                    if (System.nanoTime() - lastActive > idleNanos) {
                        ctx.close();
                    }
                }, tick, tick, TimeUnit.NANOSECONDS);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (counted) {
                live.decrementAndGet();
            }
            if (idleCheck != null) {
                idleCheck.cancel(false);
            }
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            lastActive = System.nanoTime();
            ctx.write(msg); // the ByteBuf goes back out as it came in, released once written
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ctx.flush();
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            // Above the high water mark: stop reading until the client takes what is queued.
            ctx.channel().config().setAutoRead(ctx.channel().isWritable());
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
            if (event instanceof ChannelInputShutdownEvent) {
                // Half-close: everything read has been written; close once it is flushed.
                ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close(); // a reset ends this client only
        }
    }

    @Override
    public void serve() {
        listener.closeFuture().syncUninterruptibly();
        clients.close().awaitUninterruptibly();
        shutdownLoops();
    }

    private void shutdownLoops() {
        boss.shutdownGracefully(0, 500, TimeUnit.MILLISECONDS).awaitUninterruptibly();
        loops.shutdownGracefully(0, 500, TimeUnit.MILLISECONDS).awaitUninterruptibly();
    }

    @Override
    public InetSocketAddress localAddress() {
        return (InetSocketAddress) listener.localAddress();
    }

    @Override
    public void close() {
        listener.close();
    }

    @Override
    public Map<String, Long> servedPerWorker() {
        return served.toMap();
    }

    public static final class Provider extends RungProvider {
        public Provider() {
            super("netty-epoll", 90, "epoll",
                    "Netty's native epoll transport: --workers N event loops (default 1), water-mark back-pressure",
                    EnumSet.of(Setting.WORKERS, Setting.MAX_CONNECTIONS, Setting.IDLE_TIMEOUT, Setting.STATS),
                    NettyEpollEchoServer::new);
        }
    }
}
