package io.echoladder.common.linux;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.ref.WeakReference;
import org.junit.jupiter.api.Test;

/**
 * The errno capture segment each thread gets: a rung that starts a thread per client (process-per-
 * connection's hand-over threads) must not keep one per client for the life of the process.
 */
class NativeCaptureTest {

    @Test
    void aThreadsCaptureSegmentIsFreedWithTheThreadNotKeptInTheGlobalArena() throws Exception {
        MemorySegment[] seen = new MemorySegment[1];
        Thread t = Thread.ofPlatform().start(() -> seen[0] = Native.capture());
        t.join();
        assertThat(seen[0].scope()).as("the capture segment's scope").isNotEqualTo(Arena.global().scope());

        // And it does go: once the thread and the segment are unreachable, its scope is collected.
        WeakReference<Object> scope = new WeakReference<>(seen[0].scope());
        seen[0] = null;
        for (int i = 0; i < 50 && scope.get() != null; i++) {
            System.gc();
            Thread.sleep(20);
        }
        assertThat(scope.get()).as("the scope of a dead thread's capture segment, after GC").isNull();
    }
}
