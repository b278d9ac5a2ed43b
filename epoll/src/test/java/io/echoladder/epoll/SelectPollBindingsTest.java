package io.echoladder.epoll;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.echoladder.common.linux.Poll;
import io.echoladder.common.linux.Posix;
import io.echoladder.common.linux.Select;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/**
 * The select and poll bindings against what C says: the bitmap bytes glibc's macros produce (taken from a
 * C program printing {@code FD_SET(65)}), the struct layouts, and the calls on a real eventfd.
 */
class SelectPollBindingsTest {

    @Test
    void fdSetIsGlibcsBitmap() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment set = Select.allocateFdSet(arena);
            assertThat(set.byteSize()).isEqualTo(128);
            Select.FD_SET(65, set);
            // glibc on x86-64: FD_SET(65) sets bit 1 of the second 64-bit word, i.e. byte 8 = 0x02.
            byte[] bytes = set.toArray(ValueLayout.JAVA_BYTE);
            byte[] expected = new byte[128];
            expected[8] = 0x02;
            assertThat(bytes).isEqualTo(expected);
            Select.FD_SET(0, set);
            Select.FD_SET(1023, set);
            assertThat(set.get(ValueLayout.JAVA_BYTE, 0)).isEqualTo((byte) 0x01);
            assertThat(set.get(ValueLayout.JAVA_BYTE, 127)).isEqualTo((byte) 0x80);
            assertThat(Select.FD_ISSET(65, set)).isTrue();
            assertThat(Select.FD_ISSET(64, set)).isFalse();
            assertThat(Select.FD_ISSET(1023, set)).isTrue();
            Select.FD_ZERO(set);
            assertThat(set.toArray(ValueLayout.JAVA_BYTE)).isEqualTo(new byte[128]);
        }
    }

    @Test
    void fdSetNeverWritesPastItsEnd() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment set = Select.allocateFdSet(arena);
            assertThatThrownBy(() -> Select.FD_SET(Select.FD_SETSIZE, set))
                    .isInstanceOf(IndexOutOfBoundsException.class).hasMessageContaining("1024");
            assertThatThrownBy(() -> Select.FD_SET(-1, set)).isInstanceOf(IndexOutOfBoundsException.class);
            assertThat(set.toArray(ValueLayout.JAVA_BYTE)).isEqualTo(new byte[128]);
        }
    }

    @Test
    void pollfdIsEightBytes() {
        assertThat(Poll.POLLFD.byteSize()).isEqualTo(8);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment fds = Poll.allocate(arena, 2);
            Poll.set(fds, 1, 7, Poll.POLLIN | Poll.POLLOUT);
            // int fd at 8, short events at 12, short revents at 14 (little-endian on x86-64 and aarch64)
            assertThat(fds.get(ValueLayout.JAVA_INT, 8)).isEqualTo(7);
            assertThat(fds.get(ValueLayout.JAVA_SHORT, 12)).isEqualTo((short) 0x005);
            assertThat(Poll.fd(fds, 1)).isEqualTo(7);
            assertThat(Poll.events(fds, 1)).isEqualTo(0x005);
        }
    }

    @Test
    void selectAndPollSeeAnEventfdBecomeReadable() throws Exception {
        int fd = Posix.eventfd(0, Posix.EFD_NONBLOCK | Posix.EFD_CLOEXEC);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment read = Select.allocateFdSet(arena);
            MemorySegment write = Select.allocateFdSet(arena);
            MemorySegment timeval = Select.allocateTimeval(arena);
            MemorySegment fds = Poll.allocate(arena, 1);

            Select.FD_SET(fd, read);
            assertThat(Select.select(fd + 1, read, write, 0, timeval)).as("select on an empty eventfd").isZero();
            assertThat(Select.FD_ISSET(fd, read)).as("select clears what is not ready").isFalse();
            Poll.set(fds, 0, fd, Poll.POLLIN);
            assertThat(Poll.poll(fds, 1, 0)).as("poll on an empty eventfd").isZero();

            assertThat(Posix.write(fd, arena.allocateFrom(ValueLayout.JAVA_LONG, 1), 8)).isEqualTo(8);
            Select.FD_SET(fd, read);
            assertThat(Select.select(fd + 1, read, write, 1000, timeval)).isEqualTo(1);
            assertThat(Select.FD_ISSET(fd, read)).isTrue();
            assertThat(Poll.poll(fds, 1, 1000)).isEqualTo(1);
            assertThat(Poll.revents(fds, 0) & Poll.POLLIN).isEqualTo(Poll.POLLIN);

            Poll.set(fds, 0, -1, Poll.POLLIN);
            assertThat(Poll.poll(fds, 1, 0)).as("a negative fd is skipped").isZero();
        } finally {
            Posix.close(fd);
        }
    }

    @Test
    void pollReportsAClosedFdAsPollnval() throws Exception {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment fds = Poll.allocate(arena, 1); // classes loaded first: nothing opens a file between
            int fd = Posix.eventfd(0, Posix.EFD_NONBLOCK | Posix.EFD_CLOEXEC);
            Posix.close(fd);
            Poll.set(fds, 0, fd, Poll.POLLIN);
            assertThat(Poll.poll(fds, 1, 0)).isEqualTo(1);
            assertThat(Poll.revents(fds, 0)).isEqualTo(Poll.POLLNVAL);
        }
    }
}
