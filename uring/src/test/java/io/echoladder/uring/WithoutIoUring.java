package io.echoladder.uring;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import io.echoladder.common.ServeCommand;
import io.echoladder.common.linux.IoUring;
import io.echoladder.common.linux.Syscall;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * A JVM in which the kernel refuses io_uring the way a container policy does: a seccomp filter makes
 * every {@code io_uring_setup(2)} of every thread fail with the errno given, and nothing else changes; or
 * ({@code NO_PBUF_RING}) in which it answers like a kernel older than 5.19, which has no buffer rings:
 * {@code io_uring_register(IORING_REGISTER_PBUF_RING)} fails with EINVAL.
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

    private static final boolean X86_64 = System.getProperty("os.arch").equals("amd64");
    private static final long SYS_prctl = X86_64 ? 157 : 167;
    private static final long SYS_seccomp = X86_64 ? 317 : 277;
    private static final int PR_SET_NO_NEW_PRIVS = 38;
    private static final int SECCOMP_SET_MODE_FILTER = 1;
    private static final int SECCOMP_FILTER_FLAG_TSYNC = 1; // every thread of the process, not just this one

    // <linux/audit.h>: the architecture seccomp_data.arch reports.
    private static final int AUDIT_ARCH = X86_64 ? 0xC000003E : 0xC00000B7;
    // struct seccomp_data { int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6]; }
    private static final int DATA_NR = 0;
    private static final int DATA_ARCH = 4;
    private static final int DATA_ARG1_LOW = 24; // args[1], its low 32 bits (little-endian)
    // <linux/filter.h> classic BPF
    private static final short LD_W_ABS = 0x20; // BPF_LD | BPF_W | BPF_ABS
    private static final short JEQ_K = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
    private static final short RET_K = 0x06; // BPF_RET | BPF_K
    private static final int SECCOMP_RET_ERRNO = 0x0005_0000;
    private static final int SECCOMP_RET_ALLOW = 0x7fff_0000;

    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "EPERM" -> forbid(Syscall.SYS_io_uring_setup, -1, 1);
            case "ENOSYS" -> forbid(Syscall.SYS_io_uring_setup, -1, 38);
            // What a kernel before 5.19 answers an io_uring_register opcode it does not know.
            case "NO_PBUF_RING" -> forbid(Syscall.SYS_io_uring_register, IoUring.IORING_REGISTER_PBUF_RING, 22);
            default -> throw new IllegalArgumentException("EPERM, ENOSYS or NO_PBUF_RING, not " + args[0]);
        }
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        if (rest.length == 1 && rest[0].equals("--condition")) {
            var result = new IoUringAvailable().evaluateExecutionCondition(null); // the context is not read
            System.out.println((result.isDisabled() ? "disabled: " : "enabled: ") + result.getReason().orElse(""));
            return;
        }
        ServeCommand.main(rest);
    }

    /**
     * Installs the filter: system call {@code nr} fails with {@code errno}, or, if {@code arg1} is not -1,
     * only when its second argument is {@code arg1} (io_uring_register's opcode):
     * <pre>
     *   ld  [arch];    jne AUDIT_ARCH, allow
     *   ld  [nr];      jne nr, allow
     *   ld  [args[1]]; jne arg1, allow      (only with arg1)
     *   ret ERRNO | errno
     * allow:
     *   ret ALLOW
     * </pre>
     */
    private static void forbid(long nr, int arg1, int errno) {
        try (Arena arena = Arena.ofConfined()) {
            int[][] program = arg1 < 0 ? new int[][] {
                    {LD_W_ABS, 0, 0, DATA_ARCH},
                    {JEQ_K, 0, 3, AUDIT_ARCH},
                    {LD_W_ABS, 0, 0, DATA_NR},
                    {JEQ_K, 0, 1, (int) nr},
                    {RET_K, 0, 0, SECCOMP_RET_ERRNO | errno},
                    {RET_K, 0, 0, SECCOMP_RET_ALLOW},
            } : new int[][] {
                    {LD_W_ABS, 0, 0, DATA_ARCH},
                    {JEQ_K, 0, 5, AUDIT_ARCH},
                    {LD_W_ABS, 0, 0, DATA_NR},
                    {JEQ_K, 0, 3, (int) nr},
                    {LD_W_ABS, 0, 0, DATA_ARG1_LOW},
                    {JEQ_K, 0, 1, arg1},
                    {RET_K, 0, 0, SECCOMP_RET_ERRNO | errno},
                    {RET_K, 0, 0, SECCOMP_RET_ALLOW},
            };
            // struct sock_filter { __u16 code; __u8 jt; __u8 jf; __u32 k; }: 8 bytes each
            MemorySegment filter = arena.allocate(8L * program.length, 8);
            for (int i = 0; i < program.length; i++) {
                filter.set(JAVA_SHORT, 8L * i, (short) program[i][0]);
                filter.set(JAVA_BYTE, 8L * i + 2, (byte) program[i][1]);
                filter.set(JAVA_BYTE, 8L * i + 3, (byte) program[i][2]);
                filter.set(JAVA_INT, 8L * i + 4, program[i][3]);
            }
            // struct sock_fprog { unsigned short len; struct sock_filter *filter; }
            MemorySegment fprog = arena.allocate(16, 8);
            fprog.set(JAVA_SHORT, 0, (short) program.length);
            fprog.set(ADDRESS, 8, filter);
            // An unprivileged process may add a filter only once it can never gain privileges.
            check("prctl(PR_SET_NO_NEW_PRIVS)", Syscall.call(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0));
            check("seccomp", Syscall.call(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC,
                    fprog.address()));
        }
    }

    private static void check(String call, long rc) {
        if (rc != 0) {
            throw new IllegalStateException(call + " returned " + rc);
        }
    }
}
