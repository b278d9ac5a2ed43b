package io.echoladder.uring;

import io.echoladder.common.linux.IoUring;
import java.util.Optional;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Runs a test only where the kernel grants io_uring and the features the rung is built on; elsewhere the
 * test is reported skipped with the reason (the errno of io_uring_setup, and the sysctl if it is set, or
 * the feature this kernel lacks), never passed silently.
 */
final class IoUringAvailable implements ExecutionCondition {

    private static final Optional<String> REFUSAL = IoUring.refusal().or(KernelFeatures::check);

    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
        return REFUSAL.map(reason -> ConditionEvaluationResult.disabled("this machine refuses io_uring: " + reason))
                .orElse(ConditionEvaluationResult.enabled("io_uring_setup works here"));
    }
}
