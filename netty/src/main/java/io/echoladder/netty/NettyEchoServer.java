package io.echoladder.netty;

import io.echoladder.common.AcceptPolicy;
import io.echoladder.common.EchoServer;
import io.echoladder.common.Listeners;
import io.echoladder.common.ServerConfig;
import io.echoladder.common.Stats;
import io.echoladder.common.Work;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.unix.Errors;
import io.netty.channel.unix.UnixChannel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.util.concurrent.DefaultEventExecutorGroup;
import io.netty.util.concurrent.EventExecutorGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.InetSocketAddress;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * The echo every Netty rung runs, whatever its transport: Netty's own model is the same on each (an event
 * loop per thread, pooled buffers, a pipeline), so the rungs differ only in the {@link IoHandlerFactory}
 * and server channel class they pass in ({@code netty-epoll}: epoll through JNI; {@code netty-io_uring}:
 * io_uring through JNI). Shared so that the two are measured on exactly the same handler.
 *
 * <p>The echo is a handler that writes back what it reads and flushes once per read burst; back-pressure
 * is the write-buffer water marks: past 256 KiB unsent a channel stops reading (auto-read off) until it
 * drains below 64 KiB. {@code --workers} event loops, default 1, so that each is compared with the
 * single-threaded raw rung like for like.
 *
 * <p>{@code --work} runs in {@code channelRead}, on the event loop: every other channel of that loop waits
 * meanwhile. {@code --offload N} is Netty's answer: the handler is added to the pipeline with an
 * {@link EventExecutorGroup} of N threads, so Netty runs it (and its work) there and hands each write back
 * to the channel's event loop; one channel's events all go to one executor of the group, so its bytes stay
 * in order.
 */
public final class NettyEchoServer implements EchoServer {

    private static final WriteBufferWaterMark WATER_MARKS = new WriteBufferWaterMark(64 * 1024, 256 * 1024);

    private final EventLoopGroup boss;
    private final EventLoopGroup loops;
    private final Channel listener;
    private final ChannelGroup clients = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    private final Map<EventLoop, Integer> loopIndex = new IdentityHashMap<>();
    private final Stats stats;
    private final AcceptPolicy accepts;
    private final AtomicInteger live = new AtomicInteger();
    private final int maxConnections;
    private final long idleNanos;
    private final Work work;
    /** {@code --offload N}: where the handler runs instead of the event loop, or null. */
    private final EventExecutorGroup offload;

    /**
     * Binds the listener on a boss loop and serves clients on {@code --workers} loops of the transport.
     *
     * @param transport the transport's I/O handler, e.g. {@code EpollIoHandler::newFactory}
     * @param channel   its server channel class, e.g. {@code EpollServerSocketChannel.class}
     */
    public NettyEchoServer(ServerConfig config, Supplier<IoHandlerFactory> transport,
                           Class<? extends ServerChannel> channel) throws IOException {
        InetSocketAddress address = Listeners.address(config); // a host that does not resolve: before any thread starts
        int workers = config.workersOr(1);
        this.maxConnections = config.maxConnections();
        this.idleNanos = config.idleTimeout().toNanos();
        this.work = config.work();
        this.offload = config.offload() > 0 ? new DefaultEventExecutorGroup(config.offload()) : null;
        this.stats = new Stats("loop-", workers);
        this.accepts = new AcceptPolicy(stats);
        loadWhatAnErrorPathNeeds();
        this.boss = new MultiThreadIoEventLoopGroup(1, transport.get());
        this.loops = new MultiThreadIoEventLoopGroup(workers, transport.get());
        int i = 0;
        for (var executor : loops) {
            loopIndex.put((EventLoop) executor, i++);
        }
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(boss, loops)
                .channel(channel)
                .option(ChannelOption.SO_BACKLOG, ServerConfig.BACKLOG)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARKS)
                .handler(new AcceptErrors())
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel client) {
                        if (offload != null) {
                            client.pipeline().addLast(offload, new Echo());
                        } else {
                            client.pipeline().addLast(new Echo());
                        }
                    }
                });
        try {
            this.listener = bootstrap.bind(address).syncUninterruptibly().channel();
            this.turnAway = AcceptPolicy.closingAcceptIfWaiting(((UnixChannel) listener).fd().intValue());
        } catch (Exception e) {
            // Netty rethrows the bind's checked exception as it is: a BindException (NIO), or its own
            // native IOException ("bind(..) failed with error(-99): ...") that this module cannot name.
            // Either way the listener cannot be had: the one line every rung gives.
            accepts.close();
            shutdownLoops();
            if (e instanceof IOException io) {
                throw Listeners.portTaken(config, io);
            }
            throw new IOException(e);
        }
    }

    private AcceptPolicy.AcceptAndClose turnAway;

    /**
     * At a descriptor limit, a JVM that loads a class or a data file lazily can die of it on any error
     * path: Netty logs through java.util.logging here, whose formatter reads the time-zone database
     * (lib/tzdb.dat) the first time it prints a date; that failed to open, and the event loop died with
     * it. So the formatter runs once now, while a descriptor is still to be had.
     */
    private static void loadWhatAnErrorPathNeeds() {
        new java.util.logging.SimpleFormatter().format(
                new java.util.logging.LogRecord(java.util.logging.Level.WARNING, "loaded"));
    }

    /**
     * On the listener's pipeline, ahead of Netty's acceptor: a failed accept goes to the ladder's policy
     * (out of descriptors, turn the waiting client away) instead of to Netty's default, which logs each
     * error and stops reading the listener for a second. When the policy says pause, the listener's read
     * requests are held back here until the pause is over: turning auto-read off is not enough, since
     * Netty has asked for the next read (at the end of the failed one) before the error reaches us, and
     * at the limit accept fails at once whether a client waits or not.
     */
    private final class AcceptErrors extends ChannelDuplexHandler {
        private boolean paused;
        private boolean readWanted;

        @Override
        public void read(ChannelHandlerContext ctx) {
            if (paused) {
                readWanted = true; // asked for again when the pause is over
                return;
            }
            ctx.read();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (!(cause instanceof IOException io)) {
                ctx.fireExceptionCaught(cause);
                return;
            }
            int errno = io instanceof Errors.NativeIoException n ? Math.abs(n.expectedErr()) : AcceptPolicy.errno(io);
            try {
                if (accepts.failed(errno, turnAway) == AcceptPolicy.Next.PAUSE && !paused) {
                    paused = true;
                    ctx.executor().schedule(() -> resume(ctx), accepts.pauseMillis(), TimeUnit.MILLISECONDS);
                }
            } catch (IOException fatal) {
                ctx.fireExceptionCaught(cause); // the listener is broken: Netty's default handling
            }
        }

        private void resume(ChannelHandlerContext ctx) {
            paused = false;
            if (readWanted) {
                readWanted = false;
                ctx.read();
            }
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
            stats.served().served(loopIndex.getOrDefault(ctx.channel().eventLoop(), 0));
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
            try {
                work.apply(((ByteBuf) msg).nioBuffer()); // --work: on the loop, or on the offload group's thread
            } catch (InterruptedIOException e) {
                ((ByteBuf) msg).release();
                ctx.close(); // the server is closing
                return;
            }
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
            stats.counter(Stats.FAILED).increment();
            ctx.close(); // a reset ends this client only
        }
    }

    @Override
    public void serve() {
        listener.closeFuture().syncUninterruptibly();
        clients.close().awaitUninterruptibly();
        shutdownLoops();
        accepts.close();
    }

    private void shutdownLoops() {
        boss.shutdownGracefully(0, 500, TimeUnit.MILLISECONDS).awaitUninterruptibly();
        loops.shutdownGracefully(0, 500, TimeUnit.MILLISECONDS).awaitUninterruptibly();
        if (offload != null) {
            offload.shutdownGracefully(0, 500, TimeUnit.MILLISECONDS).awaitUninterruptibly();
        }
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
    public Stats stats() {
        return stats;
    }
}
