package io.echoladder.common;

import java.io.InterruptedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.zip.CRC32;
import picocli.CommandLine;

/**
 * The per-message work of {@code --work KIND:DURATION}: what a real handler does between reading a
 * request and answering it. An echo server does nothing there, which flatters every event loop; this
 * puts a cost back, in one of two kinds:
 * <ul>
 *   <li>{@code cpu:D}: D of computation on this thread (a CRC32 of the bytes, over and over, until D has
 *       passed), standing for parsing or computing an answer. It occupies a core for D.
 *   <li>{@code sleep:D}: a blocking pause of D, standing for a call to another service. It occupies the
 *       thread for D and no core.
 * </ul>
 *
 * <p>Each rung calls it at the one place its handler runs: after each read, before echoing those bytes,
 * and on exactly the bytes it read (which it only reads, so the echo stays byte-exact). Every form takes
 * the region just read:
 * <pre>{@code
 * config.work().apply(buffer, 0, n);          // byte[]
 * config.work().apply(readable);              // ByteBuffer: position to limit, neither moved
 * config.work().apply(segment.asSlice(0, n)); // MemorySegment
 * }</pre>
 * A thread rung calls {@link Connections.Tracked#work} instead, which runs this under the
 * {@code --work-timeout} watchdog.
 *
 * <p>Both kinds give up when the calling thread is interrupted, by throwing
 * {@link InterruptedIOException}: that is how the watchdog stops a handler that has worked too long (the
 * sleep wakes; the spin checks between passes). The handler then treats it like any I/O error on that
 * connection.
 */
public final class Work {

    /** The two kinds of {@code --work}. */
    public enum Kind {
        CPU, SLEEP
    }

    /** No work: the plain echo server. {@link #apply} returns at once. */
    public static final Work NONE = new Work(Kind.CPU, Duration.ZERO);

    /** Bytes checksummed between two looks at the clock (and at the interrupt flag): about a microsecond. */
    private static final int SPIN_CHUNK = 1024;

    /**
     * Where each checksum goes, so the JIT cannot prove the spin useless and remove it. Written once per
     * call, not per pass.
     */
    @SuppressWarnings("unused")
    private static volatile long sink;

    private final Kind kind;
    private final Duration duration;
    private final long nanos;

    private Work(Kind kind, Duration duration) {
        this.kind = kind;
        this.duration = duration;
        this.nanos = duration.toNanos();
    }

    /**
     * Parses {@code cpu:100us} or {@code sleep:1ms} (durations as {@link Cli#parseDuration} reads them).
     *
     * @throws IllegalArgumentException with a one-line message, for anything else or a duration that is
     *                                  not longer than zero
     */
    public static Work parse(String text) {
        int colon = text.indexOf(':');
        String kindText = colon < 0 ? text : text.substring(0, colon);
        Kind kind = switch (kindText.strip().toLowerCase(java.util.Locale.ROOT)) {
            case "cpu" -> Kind.CPU;
            case "sleep" -> Kind.SLEEP;
            default -> throw new IllegalArgumentException(
                    "'" + text + "' is not KIND:DURATION with KIND cpu or sleep (e.g. cpu:100us, sleep:1ms)");
        };
        if (colon < 0) {
            throw new IllegalArgumentException("'" + text + "' has no duration (e.g. " + kindText + ":1ms)");
        }
        Duration duration = Cli.parseDuration(text.substring(colon + 1));
        if (duration.isZero() || duration.isNegative()) {
            throw new IllegalArgumentException("the duration in '" + text + "' must be longer than zero");
        }
        return new Work(kind, duration);
    }

    public Kind kind() {
        return kind;
    }

    public Duration duration() {
        return duration;
    }

    /** Whether there is any work to do: false only for {@link #NONE}. */
    public boolean isSome() {
        return nanos > 0;
    }

    /** Does the work for the bytes of {@code bytes} from {@code offset}, {@code length} of them. */
    public void apply(byte[] bytes, int offset, int length) throws InterruptedIOException {
        if (nanos > 0) {
            apply(ByteBuffer.wrap(bytes, offset, length));
        }
    }

    /** Does the work for the bytes of {@code segment}, all of them. */
    public void apply(MemorySegment segment) throws InterruptedIOException {
        if (nanos > 0) {
            apply(segment.asByteBuffer());
        }
    }

    /**
     * Does the work for the bytes between {@code bytes}' position and limit; neither moves, no byte
     * changes.
     *
     * @throws InterruptedIOException if this thread is interrupted before the work is done
     */
    public void apply(ByteBuffer bytes) throws InterruptedIOException {
        if (nanos == 0) {
            return;
        }
        long start = System.nanoTime();
        try {
            switch (kind) {
                case SLEEP -> Thread.sleep(duration); // blocks this thread, as a call to another service would
                case CPU -> spin(bytes.duplicate(), start);
            }
        } catch (InterruptedException e) {
            throw interrupted(start);
        }
    }

    private void spin(ByteBuffer bytes, long start) throws InterruptedIOException {
        CRC32 crc = new CRC32();
        int from = bytes.position();
        int to = bytes.limit();
        int at = from;
        long spins = 0;
        while (System.nanoTime() - start < nanos) {
            if (Thread.currentThread().isInterrupted()) {
                throw interrupted(start);
            }
            if (from == to) {
                spins++; // nothing to checksum (an empty read): the clock alone is the work
                continue;
            }
            int end = Math.min(to, at + SPIN_CHUNK);
            crc.update(bytes.limit(end).position(at));
            at = end == to ? from : end;
        }
        sink = crc.getValue() + spins;
    }

    private InterruptedIOException interrupted(long start) {
        return new InterruptedIOException(this + " interrupted after "
                + (System.nanoTime() - start) / 1_000_000 + " ms");
    }

    /** {@code cpu:100us}: the form {@link #parse} reads back. */
    @Override
    public String toString() {
        if (nanos == 0) {
            return "none";
        }
        String amount;
        if (nanos % 1_000_000_000 == 0) {
            amount = nanos / 1_000_000_000 + "s";
        } else if (nanos % 1_000_000 == 0) {
            amount = nanos / 1_000_000 + "ms";
        } else if (nanos % 1_000 == 0) {
            amount = nanos / 1_000 + "us";
        } else {
            amount = duration.toString();
        }
        return kind.name().toLowerCase(java.util.Locale.ROOT) + ":" + amount;
    }

    /** picocli converter for {@link #parse}: a bad value is one line and exit 2. */
    public static final class Converter implements CommandLine.ITypeConverter<Work> {
        @Override
        public Work convert(String value) {
            try {
                return parse(value);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }
}
