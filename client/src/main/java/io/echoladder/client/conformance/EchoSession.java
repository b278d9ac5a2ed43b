package io.echoladder.client.conformance;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicReference;

/**
 * One client connection of the conformance suite, on plain blocking sockets: a writer thread sends while
 * the caller reads, so a server that must write before it can read more is never deadlocked by us.
 * Every byte that comes back is compared with what was sent; every problem becomes a {@link CaseFailure}
 * saying where it happened.
 */
public final class EchoSession implements AutoCloseable {

    /** Default for how long a read may wait for the next byte before the server is said to withhold data. */
    public static final Duration REPLY_TIMEOUT = Duration.ofSeconds(10);

    private final Socket socket;
    private final Duration timeout;
    private final InputStream in;
    private final OutputStream out;
    private final String label;
    private long received;

    private EchoSession(Socket socket, String label, Duration timeout) throws IOException {
        this.socket = socket;
        this.timeout = timeout;
        this.in = socket.getInputStream();
        this.out = socket.getOutputStream();
        this.label = label;
    }

    /** Connects, or fails with one line saying why. */
    public static EchoSession connect(InetSocketAddress address, String label, Duration timeout) throws CaseFailure {
        Socket socket = new Socket();
        try {
            socket.setTcpNoDelay(true);
            socket.connect(address, (int) timeout.toMillis());
            socket.setSoTimeout((int) timeout.toMillis());
            return new EchoSession(socket, label, timeout);
        } catch (ConnectException e) {
            closeQuietly(socket);
            throw new CaseFailure(CaseFailure.Kind.CLOSED, label + ": connection refused by " + address);
        } catch (IOException e) {
            closeQuietly(socket);
            throw new CaseFailure(label + ": cannot connect to " + address + ": " + e.getMessage());
        }
    }

    public Socket socket() {
        return socket;
    }

    /** Writes all of {@code data} in one call (the kernel may still split it). */
    public void send(byte[] data) throws CaseFailure {
        try {
            out.write(data);
            out.flush();
        } catch (IOException e) {
            throw new CaseFailure(CaseFailure.Kind.CLOSED, label + ": write failed: " + e.getMessage());
        }
    }

    /**
     * Sends {@code data} in chunks of 1 B to {@code maxChunk} (sizes drawn from {@code chunkSeed}) on a
     * second thread while this thread reads the echo back and compares every byte.
     *
     * @param halfClose shut down our output after the last byte, then require EOF after the echo
     */
    public void echo(byte[] data, int maxChunk, long chunkSeed, boolean halfClose) throws CaseFailure {
        AtomicReference<IOException> writeError = new AtomicReference<>();
        Thread writer = Thread.ofVirtual().name(label + "-writer").start(() -> {
            SplittableRandom sizes = new SplittableRandom(chunkSeed);
            try {
                for (int offset = 0; offset < data.length; ) {
                    int n = Math.min(data.length - offset, 1 + sizes.nextInt(maxChunk));
                    out.write(data, offset, n);
                    offset += n;
                }
                out.flush();
                if (halfClose) {
                    socket.shutdownOutput();
                }
            } catch (IOException e) {
                writeError.set(e);
            }
        });
        try {
            expect(data);
            if (halfClose) {
                expectEof();
            }
        } catch (CaseFailure failure) {
            // The verdict is in. Nobody reads any more, so the writer may be blocked on a full socket
            // buffer until the server gives up: closing the socket wakes it now instead.
            close();
            IOException w = writeError.get();
            throw w == null ? failure : new CaseFailure(failure.kind(), failure.getMessage() + " (writer: " + w.getMessage() + ")");
        } finally {
            try {
                writer.join(timeout);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (writeError.get() != null) {
            throw new CaseFailure(CaseFailure.Kind.CLOSED, label + ": write failed: " + writeError.get().getMessage());
        }
    }

    /** Reads exactly {@code expected.length} bytes and compares each with what was sent. */
    public void expect(byte[] expected) throws CaseFailure {
        byte[] buffer = new byte[64 * 1024];
        int matched = 0;
        while (matched < expected.length) {
            int n = read(buffer, Math.min(buffer.length, expected.length - matched), matched, expected.length);
            if (n < 0) {
                throw new CaseFailure(CaseFailure.Kind.CLOSED, label + ": server closed the connection after echoing " + EchoCases.n(matched)
                        + " of " + EchoCases.n(expected.length) + " bytes");
            }
            for (int i = 0; i < n; i++, matched++) {
                if (buffer[i] != expected[matched]) {
                    throw new CaseFailure(CaseFailure.Kind.WRONG_BYTES, String.format("%s: byte at offset %d differs: sent 0x%02x, got 0x%02x",
                            label, matched, expected[matched] & 0xff, buffer[i] & 0xff));
                }
            }
        }
    }

    /** After everything was echoed: the server must close, sending nothing more. */
    public void expectEof() throws CaseFailure {
        byte[] buffer = new byte[1024];
        int n = read(buffer, buffer.length, 0, 0);
        if (n >= 0) {
            throw new CaseFailure(CaseFailure.Kind.WRONG_BYTES, label + ": server sent " + EchoCases.n(n) + " bytes more than it was sent");
        }
    }

    /**
     * Waits up to {@code wait} for one byte of echo without failing on a timeout.
     *
     * @return the byte, or -1 if none came in time
     */
    public int poll(Duration wait) throws CaseFailure {
        try {
            socket.setSoTimeout((int) Math.max(1, wait.toMillis()));
            return in.read();
        } catch (SocketTimeoutException e) {
            return -1;
        } catch (IOException e) {
            throw new CaseFailure(label + ": " + e.getMessage());
        } finally {
            try {
                socket.setSoTimeout((int) timeout.toMillis());
            } catch (SocketException e) {
                // closed: the next call reports it
            }
        }
    }

    /**
     * Waits up to {@code wait} for the server to end the connection, sending nothing.
     *
     * @return {@code "closed"} (EOF) or {@code "reset"}, or null if it was still open when the wait ended
     * @throws CaseFailure if the server sent bytes it was never sent
     */
    public String awaitClose(Duration wait) throws CaseFailure {
        try {
            socket.setSoTimeout((int) Math.max(1, wait.toMillis()));
            int n = in.read(new byte[1024]);
            if (n > 0) {
                throw new CaseFailure(CaseFailure.Kind.WRONG_BYTES, label + ": server sent " + EchoCases.n(n) + " bytes nobody sent it");
            }
            return "closed";
        } catch (SocketTimeoutException e) {
            return null;
        } catch (IOException e) {
            return "reset";
        }
    }

    /** Closes with an RST instead of a FIN (SO_LINGER 0): the abrupt exit of a crashed client. */
    public void reset() {
        try {
            socket.setSoLinger(true, 0);
        } catch (SocketException e) {
            // already closed
        }
        close();
    }

    @Override
    public void close() {
        closeQuietly(socket);
    }

    private int read(byte[] buffer, int max, long matched, long expected) throws CaseFailure {
        try {
            int n = in.read(buffer, 0, max);
            if (n > 0) {
                received += n;
            }
            return n;
        } catch (SocketTimeoutException e) {
            throw new CaseFailure(CaseFailure.Kind.NO_REPLY, label + ": no reply for " + EchoCases.n(timeout.toMillis()) + " ms after "
                    + (expected == 0 ? "the last byte (expected EOF)" : EchoCases.n(matched) + " of " + EchoCases.n(expected) + " bytes"));
        } catch (IOException e) {
            throw new CaseFailure(CaseFailure.Kind.CLOSED, label + ": " + e.getMessage() + " after " + EchoCases.n(received) + " bytes echoed");
        }
    }

    private static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (IOException e) {
            // nothing left to release
        }
    }
}
