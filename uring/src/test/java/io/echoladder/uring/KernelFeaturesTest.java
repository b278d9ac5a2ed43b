package io.echoladder.uring;

import static org.assertj.core.api.Assertions.assertThat;

import io.echoladder.common.linux.IoUring;
import io.echoladder.common.linux.Native;
import io.echoladder.uring.KernelFeatures.Feature;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Assumptions;

/**
 * The start-up check of what io-uring needs from the kernel: the decision from the kernel's answers, and
 * the real probe on this kernel, granted and refused.
 */
class KernelFeaturesTest {

    @Test
    void aKernelThatGrantsEverythingPasses() {
        assertThat(KernelFeatures.missing(Map.of(Feature.BUFFER_RING, 0, Feature.MULTISHOT_ACCEPT, 0,
                Feature.MULTISHOT_RECV, 0))).isEmpty();
    }

    @Test
    void aFiveNineteenKernelIsRefusedNamingMultishotReceive() {
        // What 5.19 answers: buffer rings and multishot accept work, a multishot receive is EINVAL.
        var refusal = KernelFeatures.missing(Map.of(Feature.BUFFER_RING, 0, Feature.MULTISHOT_ACCEPT, 0,
                Feature.MULTISHOT_RECV, -Native.EINVAL));

        assertThat(refusal).hasValueSatisfying(line -> assertThat(line)
                .isEqualTo("this kernel has no multishot receive (IORING_RECV_MULTISHOT), which came in Linux 6.0"
                        + " (the kernel answered EINVAL)"));
    }

    @Test
    void anOlderKernelIsRefusedNamingTheFirstMissingFeature() {
        // Before 5.19 the buffer ring cannot be registered, and nothing after it is asked for.
        var refusal = KernelFeatures.missing(Map.of(Feature.BUFFER_RING, -Native.EINVAL));

        assertThat(refusal).hasValueSatisfying(line -> assertThat(line)
                .startsWith("this kernel has no buffer rings (IORING_REGISTER_PBUF_RING), which came in Linux 5.19"));
    }

    @Test
    void aFeatureThatNeverAnsweredIsRefusedToo() {
        var refusal = KernelFeatures.missing(Map.of(Feature.BUFFER_RING, 0));

        assertThat(refusal).hasValueSatisfying(line -> assertThat(line)
                .startsWith("this kernel did not grant multishot accept (IORING_ACCEPT_MULTISHOT) (Linux 5.19+): ")
                .contains("no answer"));
    }

    @Test
    void thisKernelGrantsEveryFeature() throws Exception {
        assumeIoUring();
        Map<Feature, Integer> answers = KernelFeatures.probe(IoUring.IORING_RECV_MULTISHOT);

        assertThat(answers).containsExactlyInAnyOrderEntriesOf(Map.of(Feature.BUFFER_RING, 0,
                Feature.MULTISHOT_ACCEPT, 0, Feature.MULTISHOT_RECV, 0));
        assertThat(KernelFeatures.check()).isEmpty();
    }

    @Test
    void aReceiveFlagThisKernelDoesNotKnowIsFoundMissing() throws Exception {
        assumeIoUring();
        // A receive flag no kernel knows gets the answer a 5.19 kernel gives IORING_RECV_MULTISHOT: EINVAL,
        // from the same check the kernel makes in io_recvmsg_prep. The probe must see it and say so.
        short unknown = (short) (IoUring.IORING_RECV_MULTISHOT | 1 << 14);

        Map<Feature, Integer> answers = KernelFeatures.probe(unknown);

        assertThat(answers).containsEntry(Feature.BUFFER_RING, 0).containsEntry(Feature.MULTISHOT_ACCEPT, 0)
                .containsEntry(Feature.MULTISHOT_RECV, -Native.EINVAL);
        assertThat(KernelFeatures.missing(answers)).hasValueSatisfying(line -> assertThat(line)
                .contains("multishot receive (IORING_RECV_MULTISHOT), which came in Linux 6.0"));
    }

    /**
     * Only io_uring itself is assumed (not {@link IoUringAvailable}, which asks this very check): on a kernel
     * that lacks a feature these tests fail, and say which.
     */
    private static void assumeIoUring() {
        var refusal = IoUring.refusal();
        Assumptions.assumeTrue(refusal.isEmpty(), () -> "this machine refuses io_uring: " + refusal.orElse(""));
    }
}
