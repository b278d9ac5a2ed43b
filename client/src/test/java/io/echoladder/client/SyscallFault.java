package io.echoladder.client;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import io.echoladder.common.ServeCommand;
import io.echoladder.common.linux.Syscall;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A JVM in which one system call fails the way the kernel can make it fail, and nothing else changes: a
 * seccomp filter returns the errno given for every call of that number (from every thread), or only for
 * the calls whose first arguments match. Then it runs {@code ./ladder serve ARGS...}. It is how a test
 * reaches an error path that a healthy machine never takes (a setsockopt that fails for one client, an
 * io_uring that is refused), for real, without a switch in the rung.
 *
 * <pre>{@code
 * java -cp TEST_CLASSPATH io.echoladder.client.SyscallFault NR:ERRNO[:ARG=VALUE...] serve-args...
 * }</pre>
 * e.g. {@code 54:1:1=6:2=1}: {@code setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, ...)} fails with EPERM on x86-64.
 */
public final class SyscallFault {

    private SyscallFault() {
    }

    private static final boolean X86_64 = System.getProperty("os.arch").equals("amd64");
    private static final long SYS_prctl = X86_64 ? 157 : 167;
    private static final long SYS_seccomp = X86_64 ? 317 : 277;
    /** {@code setsockopt}'s number, for tests that fail it. */
    public static final long SYS_setsockopt = X86_64 ? 54 : 208;
    /** {@code epoll_ctl}'s number. */
    public static final long SYS_epoll_ctl = X86_64 ? 233 : 21;
    private static final int PR_SET_NO_NEW_PRIVS = 38;
    private static final int SECCOMP_SET_MODE_FILTER = 1;
    private static final int SECCOMP_FILTER_FLAG_TSYNC = 1; // every thread of the process, not just this one

    // <linux/audit.h>: the architecture seccomp_data.arch reports.
    private static final int AUDIT_ARCH = X86_64 ? 0xC000003E : 0xC00000B7;
    // struct seccomp_data { int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6]; }
    private static final int DATA_NR = 0;
    private static final int DATA_ARCH = 4;
    private static final int DATA_ARGS = 16; // args[i]'s low 32 bits at 16 + 8 * i (little-endian)
    // <linux/filter.h> classic BPF
    private static final short LD_W_ABS = 0x20; // BPF_LD | BPF_W | BPF_ABS
    private static final short JEQ_K = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
    private static final short RET_K = 0x06; // BPF_RET | BPF_K
    private static final int SECCOMP_RET_ERRNO = 0x0005_0000;
    private static final int SECCOMP_RET_ALLOW = 0x7fff_0000;

    /** One failing call: its number, the errno, and argument index/value pairs that must all match. */
    public record Fault(long nr, int errno, int[][] args) {

        /** {@code NR:ERRNO[:ARG=VALUE...]}. */
        public static Fault parse(String spec) {
            String[] parts = spec.split(":");
            int[][] args = new int[parts.length - 2][];
            for (int i = 2; i < parts.length; i++) {
                String[] pair = parts[i].split("=");
                args[i - 2] = new int[] {Integer.parseInt(pair[0]), Integer.parseInt(pair[1])};
            }
            return new Fault(Long.parseLong(parts[0]), Integer.parseInt(parts[1]), args);
        }

        /** The spec {@link #parse} reads. */
        public String spec() {
            StringBuilder text = new StringBuilder(nr + ":" + errno);
            for (int[] arg : args) {
                text.append(':').append(arg[0]).append('=').append(arg[1]);
            }
            return text.toString();
        }
    }

    public static void main(String[] args) {
        install(Fault.parse(args[0]));
        ServeCommand.main(Arrays.copyOfRange(args, 1, args.length));
    }

    /** The command line of a {@code serve} whose JVM has {@code fault}: for {@link RungProcess#startCommand}. */
    public static List<String> serveCommand(Fault fault, List<String> serveArgs) {
        List<String> args = new ArrayList<>(List.of(fault.spec()));
        args.addAll(serveArgs);
        return RungProcess.javaCommand(SyscallFault.class.getName(), args);
    }

    /**
     * Installs the filter:
     * <pre>
     *   ld  [arch];       jne AUDIT_ARCH, allow
     *   ld  [nr];         jne NR, allow
     *   ld  [args[i]];    jne VALUE, allow     (for each argument given)
     *   ret ERRNO | errno
     * allow:
     *   ret ALLOW
     * </pre>
     */
    public static void install(Fault fault) {
        List<int[]> program = new ArrayList<>();
        int conditions = 2 + fault.args().length;
        // Each condition is a load and a jump; a failed jump skips to "allow", past the rest and the ret.
        program.add(new int[] {LD_W_ABS, 0, 0, DATA_ARCH});
        program.add(new int[] {JEQ_K, 0, 2 * (conditions - 1) + 1, AUDIT_ARCH});
        program.add(new int[] {LD_W_ABS, 0, 0, DATA_NR});
        program.add(new int[] {JEQ_K, 0, 2 * (conditions - 2) + 1, (int) fault.nr()});
        for (int i = 0; i < fault.args().length; i++) {
            int left = conditions - 3 - i;
            program.add(new int[] {LD_W_ABS, 0, 0, DATA_ARGS + 8 * fault.args()[i][0]});
            program.add(new int[] {JEQ_K, 0, 2 * left + 1, fault.args()[i][1]});
        }
        program.add(new int[] {RET_K, 0, 0, SECCOMP_RET_ERRNO | fault.errno()});
        program.add(new int[] {RET_K, 0, 0, SECCOMP_RET_ALLOW});
        try (Arena arena = Arena.ofConfined()) {
            // struct sock_filter { __u16 code; __u8 jt; __u8 jf; __u32 k; }: 8 bytes each
            MemorySegment filter = arena.allocate(8L * program.size(), 8);
            for (int i = 0; i < program.size(); i++) {
                int[] op = program.get(i);
                filter.set(JAVA_SHORT, 8L * i, (short) op[0]);
                filter.set(JAVA_BYTE, 8L * i + 2, (byte) op[1]);
                filter.set(JAVA_BYTE, 8L * i + 3, (byte) op[2]);
                filter.set(JAVA_INT, 8L * i + 4, op[3]);
            }
            // struct sock_fprog { unsigned short len; struct sock_filter *filter; }
            MemorySegment fprog = arena.allocate(16, 8);
            fprog.set(JAVA_SHORT, 0, (short) program.size());
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
