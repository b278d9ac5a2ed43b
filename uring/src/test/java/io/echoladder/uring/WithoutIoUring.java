package io.echoladder.uring;

import io.echoladder.client.SyscallFault;
import io.echoladder.common.ServeCommand;
import io.echoladder.common.linux.IoUring;
import io.echoladder.common.linux.Syscall;
import java.util.Arrays;

/**
 * A JVM in which the kernel refuses io_uring the way a container policy does: a seccomp filter
 * ({@link SyscallFault}) makes every {@code io_uring_setup(2)} of every thread fail with the errno given,
 * and nothing else changes; or ({@code NO_PBUF_RING}) in which it answers like a kernel older than 5.19,
 * which has no buffer rings: {@code io_uring_register(IORING_REGISTER_PBUF_RING)} fails with EINVAL.
 * It then runs {@code ./ladder serve ARGS...}, or, with {@code --condition}, prints what
 * {@link IoUringAvailable} decides. The only way to take io_uring away from an unprivileged process;
 * {@code kernel.io_uring_disabled} needs root.
 *
 * <pre>{@code
 * java -cp TEST_CLASSPATH io.echoladder.uring.WithoutIoUring EPERM|ENOSYS|NO_PBUF_RING serve-args... | --condition
 * }</pre>
 */
public final class WithoutIoUring {

    private WithoutIoUring() {
    }

    public static void main(String[] args) throws Exception {
        SyscallFault.install(switch (args[0]) {
            case "EPERM" -> new SyscallFault.Fault(Syscall.SYS_io_uring_setup, 1, new int[0][]);
            case "ENOSYS" -> new SyscallFault.Fault(Syscall.SYS_io_uring_setup, 38, new int[0][]);
            // What a kernel before 5.19 answers an io_uring_register opcode it does not know.
            case "NO_PBUF_RING" -> new SyscallFault.Fault(Syscall.SYS_io_uring_register, 22,
                    new int[][] {{1, IoUring.IORING_REGISTER_PBUF_RING}});
            default -> throw new IllegalArgumentException("EPERM, ENOSYS or NO_PBUF_RING, not " + args[0]);
        });
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        if (rest.length == 1 && rest[0].equals("--condition")) {
            var result = new IoUringAvailable().evaluateExecutionCondition(null); // the context is not read
            System.out.println((result.isDisabled() ? "disabled: " : "enabled: ") + result.getReason().orElse(""));
            return;
        }
        ServeCommand.main(rest);
    }
}
