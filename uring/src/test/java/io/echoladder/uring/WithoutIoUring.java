package io.echoladder.uring;

import io.echoladder.client.SyscallFault;
import io.echoladder.common.ServeCommand;
import io.echoladder.common.linux.Syscall;
import java.util.Arrays;

/**
 * A JVM in which the kernel refuses io_uring the way a container policy does: a seccomp filter
 * ({@link SyscallFault}) makes every {@code io_uring_setup(2)} of every thread fail with the errno given,
 * and nothing else changes.
 * It then runs {@code ./ladder serve ARGS...}, or, with {@code --condition}, prints what
 * {@link IoUringAvailable} decides. The only way to take io_uring away from an unprivileged process;
 * {@code kernel.io_uring_disabled} needs root.
 *
 * <pre>{@code
 * java -cp TEST_CLASSPATH io.echoladder.uring.WithoutIoUring EPERM|ENOSYS serve-args... | --condition
 * }</pre>
 */
public final class WithoutIoUring {

    private WithoutIoUring() {
    }

    public static void main(String[] args) throws Exception {
        int errno = switch (args[0]) {
            case "EPERM" -> 1;
            case "ENOSYS" -> 38;
            default -> throw new IllegalArgumentException("EPERM or ENOSYS, not " + args[0]);
        };
        SyscallFault.install(new SyscallFault.Fault(Syscall.SYS_io_uring_setup, errno, new int[0][]));
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        if (rest.length == 1 && rest[0].equals("--condition")) {
            var result = new IoUringAvailable().evaluateExecutionCondition(null); // the context is not read
            System.out.println((result.isDisabled() ? "disabled: " : "enabled: ") + result.getReason().orElse(""));
            return;
        }
        ServeCommand.main(rest);
    }
}
