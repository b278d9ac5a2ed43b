package io.echoladder.bench.jmh;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.echoladder.common.linux.EPoll;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * What {@code Linker.Option.critical} buys per call: each libc function the event loops call on every
 * event, linked twice, exactly as {@code common/.../linux/Native.errnoCall} links it (errno captured),
 * once as an ordinary downcall and once critical. The difference between a pair is the thread-state
 * transition the JVM makes around an ordinary downcall (into "native", so that a safepoint need not wait
 * for the call, and back, checking for one): {@code labs} measures it alone, {@code getpid} against the
 * cheapest system call there is, the others against the calls the loops really make.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class CriticalDowncallBenchmark {

    private static final Linker LINKER = Linker.nativeLinker();
    private static final Linker.Option ERRNO = Linker.Option.captureCallState("errno");
    private static final FunctionDescriptor LABS = FunctionDescriptor.of(JAVA_LONG, JAVA_LONG);
    private static final FunctionDescriptor GETPID = FunctionDescriptor.of(JAVA_INT);
    private static final FunctionDescriptor READ_WRITE = FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG);
    private static final FunctionDescriptor EPOLL_CTL = FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
            ADDRESS);

    private static final MethodHandle LABS_ORDINARY = link("labs", LABS, false);
    private static final MethodHandle LABS_CRITICAL = link("labs", LABS, true);
    private static final MethodHandle GETPID_ORDINARY = link("getpid", GETPID, false);
    private static final MethodHandle GETPID_CRITICAL = link("getpid", GETPID, true);
    private static final MethodHandle READ_ORDINARY = link("read", READ_WRITE, false);
    private static final MethodHandle READ_CRITICAL = link("read", READ_WRITE, true);
    private static final MethodHandle WRITE_ORDINARY = link("write", READ_WRITE, false);
    private static final MethodHandle WRITE_CRITICAL = link("write", READ_WRITE, true);
    private static final MethodHandle CTL_ORDINARY = link("epoll_ctl", EPOLL_CTL, false);
    private static final MethodHandle CTL_CRITICAL = link("epoll_ctl", EPOLL_CTL, true);

    private static MethodHandle link(String name, FunctionDescriptor descriptor, boolean critical) {
        MemorySegment address = LINKER.defaultLookup().find(name).orElseThrow();
        return critical
                ? LINKER.downcallHandle(address, descriptor, ERRNO,
                        Linker.Option.critical(false))
                : LINKER.downcallHandle(address, descriptor, ERRNO);
    }

    private LoopbackPair pair;
    private Arena arena;
    private MemorySegment errno;
    private MemorySegment buffer;
    private MemorySegment event;
    private int epfd;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        pair = new LoopbackPair();
        arena = Arena.ofConfined();
        errno = arena.allocate(Linker.Option.captureStateLayout());
        buffer = arena.allocate(64);
        event = arena.allocate(EPoll.EPOLL_EVENT);
        epfd = EPoll.epoll_create1();
        if (EPoll.epoll_ctl(epfd, EPoll.EPOLL_CTL_ADD, pair.fdB, EPoll.EPOLLIN, event) < 0) {
            throw new IOException("epoll_ctl(EPOLL_CTL_ADD) failed");
        }
        // Every pair must do what its name says, or the comparison measures an error path.
        if (readWrite(WRITE_ORDINARY, READ_ORDINARY) != 64 || readWrite(WRITE_CRITICAL, READ_CRITICAL) != 64
                || read(READ_ORDINARY, pair.fdA) != -1 || read(READ_CRITICAL, pair.fdA) != -1
                || ctl(CTL_ORDINARY) != 0 || ctl(CTL_CRITICAL) != 0) {
            throw new IOException("a call did not do what the benchmark measures");
        }
    }

    private long readWrite(MethodHandle write, MethodHandle read) {
        try {
            long written = (long) write.invokeExact(errno, pair.fdA, buffer, 64L);
            long got = (long) read.invokeExact(errno, pair.fdB, buffer, 64L);
            return written == 64 ? got : -1;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    private long read(MethodHandle read, int fd) {
        try {
            return (long) read.invokeExact(errno, fd, buffer, 64L);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    private int ctl(MethodHandle ctl) {
        try {
            // EPOLL_CTL_MOD with the same interest: the kernel still takes ep->mtx and polls the socket.
            event.set(JAVA_INT, 0, EPoll.EPOLLIN);
            return (int) ctl.invokeExact(errno, epfd, EPoll.EPOLL_CTL_MOD, pair.fdB, event);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** No system call at all ({@code labs(3)}): the difference is the transition itself. */
    @Benchmark
    public long labsOrdinary() throws Throwable {
        return (long) LABS_ORDINARY.invokeExact(errno, -42L);
    }

    @Benchmark
    public long labsCritical() throws Throwable {
        return (long) LABS_CRITICAL.invokeExact(errno, -42L);
    }

    /** The cheapest system call there is. */
    @Benchmark
    public int getpidOrdinary() throws Throwable {
        return (int) GETPID_ORDINARY.invokeExact(errno);
    }

    @Benchmark
    public int getpidCritical() throws Throwable {
        return (int) GETPID_CRITICAL.invokeExact(errno);
    }

    /** A read that finds nothing (EAGAIN): how every edge-triggered read loop ends. */
    @Benchmark
    public long readEagainOrdinary() {
        return read(READ_ORDINARY, pair.fdA);
    }

    @Benchmark
    public long readEagainCritical() {
        return read(READ_CRITICAL, pair.fdA);
    }

    /** An echo's two calls: 64 bytes written on one end of a loopback connection, read on the other. */
    @Benchmark
    public long write64Read64Ordinary() {
        return readWrite(WRITE_ORDINARY, READ_ORDINARY);
    }

    @Benchmark
    public long write64Read64Critical() {
        return readWrite(WRITE_CRITICAL, READ_CRITICAL);
    }

    /** The re-arm {@code epoll-oneshot} makes per event, and the interest change of the other loops. */
    @Benchmark
    public int epollCtlModOrdinary() {
        return ctl(CTL_ORDINARY);
    }

    @Benchmark
    public int epollCtlModCritical() {
        return ctl(CTL_CRITICAL);
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        io.echoladder.common.linux.Posix.close(epfd);
        pair.close();
        arena.close();
    }
}
