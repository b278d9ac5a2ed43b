package io.echoladder.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Where a rung's CPU samples went, by kind of work: the share of the samples of a profile (async-profiler's
 * collapsed stacks, {@code serve --profile FILE.collapsed}) in each of {@link #CATEGORIES}. A sample counts
 * once, in the first category of the table that claims its stack, so the shares add up to 100%.
 *
 * <p>Frames are annotated as async-profiler writes them with {@code ann}: {@code _[k]} a kernel function,
 * {@code _[j]} JIT-compiled Java, {@code _[i]} inlined, {@code _[0]} interpreted, {@code _[1]} C1; a
 * frame with {@code ::} and no suffix is the JVM's own C++.
 */
final class CpuBudget {

    /**
     * One row of the budget: a sample belongs to it if any frame of its stack matches {@code anyFrame}, or
     * its innermost frame matches {@code leaf}, or it is in user space (its innermost frame is not the
     * kernel's) below a frame that matches {@code userSpaceUnder} (each may be null).
     */
    record Category(String name, Pattern anyFrame, Pattern leaf, Pattern userSpaceUnder) {

        static Category any(String name, String regex) {
            return new Category(name, Pattern.compile(regex), null, null);
        }

        boolean claims(List<String> frames) {
            if (leaf != null && leaf.matcher(innermost(frames)).find()) {
                return true;
            }
            if (userSpaceUnder != null && !frames.getLast().endsWith(KERNEL)
                    && frames.stream().anyMatch(f -> userSpaceUnder.matcher(f).find())) {
                return true;
            }
            if (anyFrame != null) {
                for (String frame : frames) {
                    if (anyFrame.matcher(frame).find()) {
                        return true;
                    }
                }
            }
            return false;
        }
    }

    /**
     * The innermost frame that is not a helper of every kernel path (enabling interrupts, a return thunk):
     * a sample in {@code do_syscall_64 -> pvm_irq_enable} is in {@code do_syscall_64}'s own work.
     */
    static String innermost(List<String> frames) {
        for (int i = frames.size() - 1; i > 0; i--) {
            if (!HELPER.matcher(frames.get(i)).find()) {
                return frames.get(i);
            }
        }
        return frames.getFirst();
    }

    private static final Pattern HELPER = Pattern.compile("^(__raw_callee_save_|pvm_|native_irq_|native_restore_fl"
            + "|native_save_fl|__x86_return_thunk|srso_|retbleed_)");

    /**
     * The table, in the order a sample is offered to it. The kernel's TCP comes first, so that the loopback
     * delivery done inside a send (the receiver's half runs in the sender's system call) counts as the send,
     * and io_uring's sends and receives, done inside {@code io_uring_enter} or its task work, count as TCP,
     * not as waiting. The multiplexing call then takes the rest of its own time, sleeping included; the
     * scheduler what is left of switching threads; entry and exit what is spent crossing into the kernel
     * and back, and finding the file a read or write is for (the socket layer below that is TCP's). "Our Java code" is a sample in user space under a method of {@code io.echoladder} (the JDK
     * code it calls, such as a downcall's stub, included); the JVM's is its C++ (GC, the JIT compilers, the
     * runtime) and the interpreter.
     */
    static final List<Category> CATEGORIES = List.of(
            Category.any("kernel TCP send", "^(sock_write_iter|sock_sendmsg|inet_sendmsg|tcp_sendmsg|tcp_sendpage"
                    + "|tcp_write_xmit|__tcp_push_pending_frames|tcp_push)"),
            Category.any("kernel TCP receive", "^(sock_read_iter|sock_recvmsg|inet_recvmsg|tcp_recvmsg|tcp_read_sock"
                    + "|tcp_v4_rcv|tcp_v6_rcv|tcp_rcv_established|tcp_data_queue|tcp_cleanup_rbuf)"),
            Category.any("multiplexing call", "^(do_epoll_wait|ep_poll|do_sys_poll|core_sys_select|do_select"
                    + "|__do_sys_io_uring_enter|__x64_sys_io_uring_enter|__arm64_sys_io_uring_enter|io_submit_sqes"
                    + "|io_cqring_wait|tctx_task_work|io_run_task_work|io_handle_tw_list)"),
            Category.any("scheduler", "^(schedule|__schedule|preempt_schedule|finish_task_switch|__switch_to"
                    + "|try_to_wake_up|ttwu_|pick_next_task|psi_task_switch|dequeue_task|enqueue_task)"),
            new Category("syscall entry/exit", Pattern.compile("^(syscall_exit_to_user_mode|exit_to_user_mode"
                    + "|syscall_enter_from_user_mode|__syscall_enter_from_user_mode|syscall_trace_enter"
                    + "|syscall_return_via_sysret|entry_SYSCALL_64_safe_stack|el0_svc_common)"),
                    Pattern.compile("^(entry_SYSCALL_64|entry_SYSCALL_64_after_hwframe|do_syscall_64|x64_sys_call"
                            + "|el0_svc|invoke_syscall|ksys_read|ksys_write|vfs_read|vfs_write|__fdget_pos|fdget_pos"
                            + "|__x64_sys_read|__x64_sys_write|fput|fget)_\\[k]$"), null),
            new Category("our Java code (io.echoladder)", null, null, Pattern.compile("^io[/.]echoladder[/.]")),
            new Category("JVM (GC, compiler, runtime)", Pattern.compile("^(GCTaskThread|G1|ConcurrentGCThread"
                    + "|WorkerThread::run|CompileBroker::|VMThread::|SafepointSynchronize::)"),
                    Pattern.compile("(::|^Interpreter$|^\\[unknown_Java]$)"), null));

    /** async-profiler's suffix on a kernel frame. */
    private static final String KERNEL = "_[k]";

    /** What a sample that no category claims is counted as. */
    static final String REST = "rest";

    /** Every row of the table, {@link #REST} last. */
    static List<String> rows() {
        List<String> rows = new ArrayList<>(CATEGORIES.stream().map(Category::name).toList());
        rows.add(REST);
        return rows;
    }

    private final Map<String, Long> samples = new LinkedHashMap<>();
    private long total;

    CpuBudget() {
        rows().forEach(r -> samples.put(r, 0L));
    }

    /** The budget of collapsed-stack files (a process rung's server and workers together). */
    static CpuBudget of(List<Path> files) throws IOException {
        CpuBudget budget = new CpuBudget();
        for (Path file : files) {
            try (var lines = Files.lines(file)) {
                lines.forEach(budget::add);
            }
        }
        return budget;
    }

    /** One line of collapsed stacks: {@code root;frame;...;leaf COUNT}. */
    void add(String line) {
        int space = line.lastIndexOf(' ');
        if (space <= 0) {
            return;
        }
        long count = Long.parseLong(line.substring(space + 1).strip());
        List<String> frames = List.of(line.substring(0, space).split(";"));
        String row = REST;
        for (Category category : CATEGORIES) {
            if (category.claims(frames)) {
                row = category.name();
                break;
            }
        }
        samples.merge(row, count, Long::sum);
        total += count;
    }

    long total() {
        return total;
    }

    /** The share of the samples in {@code row}, 0 to 1; 0 for an empty profile. */
    double share(String row) {
        return total == 0 ? 0 : samples.getOrDefault(row, 0L) / (double) total;
    }

    /** Percent with one decimal. */
    static String percent(double share) {
        return String.format(Locale.ROOT, "%.1f%%", share * 100);
    }

    /**
     * The category whose share grew most from {@code base} to this one, in one sentence naming both shares;
     * or that none grew, if none did.
     */
    String grewMostAgainst(String name, CpuBudget base, String baseName) {
        String most = null;
        double growth = 0;
        for (String row : rows()) {
            double d = share(row) - base.share(row);
            if (d > growth) {
                growth = d;
                most = row;
            }
        }
        if (most == null) {
            return name + ": no category has a larger share than in " + baseName + ".";
        }
        return String.format(Locale.ROOT, "%s: %s grew most against %s, %s of the samples against %s (+%.1f points).",
                name, most, baseName, percent(share(most)), percent(base.share(most)), growth * 100);
    }

    /**
     * The report's section for {@code bench --profile}: a flame graph (SVG) per profile written beside its
     * stacks, the budget table with a link to each, and per point a sentence for each rung naming the
     * category that grew most against {@code epoll} at the same point.
     */
    static String section(List<Bench.Profiled> profiles, Path reportDir) throws IOException {
        StringBuilder md = new StringBuilder("\n## Where the CPU goes (--profile)\n\n");
        md.append("Each rung profiled by async-profiler (`serve --profile`, event=cpu, one sample per ms of CPU) over its"
                + " whole life on a fresh server: start, a warm-up of at least 5 s (a process rung's workers start in it) and"
                + " a window of at least 5 s, replies awaited up to 5 s. A process"
                + " rung's server and workers are added together. A sample counts in the first column whose frames it has (see"
                + " CpuBudget.CATEGORIES); the shares add up to 100%.\n\n");
        List<String> rows = rows();
        md.append("| rung | point | profiled run | samples | ").append(String.join(" | ", rows)).append(" | flame graph |\n");
        md.append("|---|---|--:|--:|").append("--:|".repeat(rows.size())).append("---|\n");
        Map<String, CpuBudget> budgets = new LinkedHashMap<>();
        for (Bench.Profiled p : profiles) {
            CpuBudget budget = of(p.files());
            budgets.put(p.target() + "\n" + p.point(), budget);
            Path first = p.files().getFirst();
            String name = first.getFileName().toString();
            Path svg = first.resolveSibling(name.substring(0, name.lastIndexOf('.')) + ".svg");
            FlameGraph.write(p.files(), p.target() + ", " + p.point().replace('-', ' '), svg);
            md.append("| ").append(p.target()).append(" | ").append(p.point().replace('-', ' ')).append(" | ")
                    .append(p.rate()).append(" | ").append(String.format(Locale.ROOT, "%,d", budget.total())).append(" | ");
            for (String row : rows) {
                md.append(percent(budget.share(row))).append(" | ");
            }
            md.append("[svg](").append(reportDir.relativize(svg).toString().replace('\\', '/')).append(") |\n");
        }
        md.append("\n");
        for (Bench.Profiled p : profiles) {
            CpuBudget base = budgets.get("epoll\n" + p.point());
            if (p.answered() == 0) {
                // A budget read against nothing served: say so before anything is compared.
                md.append("- ").append(p.target()).append(" (").append(p.point().replace('-', ' '))
                        .append("): answered no message in the profiled window, so its samples are its start-up and"
                                + " its clients' wait, not the cost of an echo.\n");
            } else if (base != null && !p.target().equals("epoll")) {
                md.append("- ").append(budgets.get(p.target() + "\n" + p.point())
                        .grewMostAgainst(p.target() + " (" + p.point().replace('-', ' ') + ")", base, "epoll")).append("\n");
            }
        }
        return md.toString();
    }
}
