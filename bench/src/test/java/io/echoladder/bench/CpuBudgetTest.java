package io.echoladder.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The budget's table of categories, on stacks written by hand and on a stored profile of a real run. */
class CpuBudgetTest {

    /**
     * The epoll rung's profile from {@code ./ladder bench --quick --scenario sweep,idle --connections 100
     * --idle 5000 --profile} (profiles/epoll-sweep-100.collapsed), 2026-12-05, 2 cores.
     */
    private static final Path STORED = Path.of("src/test/resources/profiles/epoll-100.collapsed");

    private static CpuBudget of(String... lines) {
        CpuBudget budget = new CpuBudget();
        for (String line : lines) {
            budget.add(line);
        }
        return budget;
    }

    @Test
    void aSampleCountsInTheFirstCategoryOfTheTableThatClaimsIt() {
        String java = "java/lang/Thread.run_[j];io/echoladder/epoll/EpollEchoServer.serve_[j];"
                + "io/echoladder/common/linux/Posix.write_[i];";
        CpuBudget budget = of(
                // the loopback delivery of the receiver's half runs inside the sender's send: the send
                java + "entry_SYSCALL_64_[k];do_syscall_64_[k];tcp_sendmsg_[k];tcp_v4_rcv_[k];_raw_spin_lock_[k] 10",
                java + "entry_SYSCALL_64_[k];do_syscall_64_[k];tcp_recvmsg_[k];copy_user_generic_[k] 5",
                // io_uring's send, done in io_uring_enter, is TCP; its waiting is the multiplexing call
                java + "entry_SYSCALL_64_[k];do_syscall_64_[k];__do_sys_io_uring_enter_[k];io_submit_sqes_[k];"
                        + "tcp_sendmsg_[k] 7",
                java + "entry_SYSCALL_64_[k];do_syscall_64_[k];do_epoll_wait_[k];schedule_[k];__schedule_[k] 4",
                "java/lang/Thread.run_[j];java/util/concurrent/locks/LockSupport.park_[j];entry_SYSCALL_64_[k];"
                        + "do_syscall_64_[k];futex_wait_[k];schedule_[k] 3",
                java + "entry_SYSCALL_64_[k];do_syscall_64_[k];syscall_exit_to_user_mode_[k] 2",
                java + "entry_SYSCALL_64_[k] 1",
                java + "jdk/internal/foreign/abi/DowncallStub.invoke_[j] 6",
                "[GC_active];GCTaskThread::run;G1ParScanThreadState::trim_queue 8",
                "thread_start;JavaThread::run;CompileBroker::compiler_thread_loop;C2Compiler::compile_method 9",
                // a kernel call of our code that no row names: the rest, not our Java
                java + "entry_SYSCALL_64_[k];do_syscall_64_[k];__x64_sys_getsockopt_[k] 20");

        assertThat(budget.total()).isEqualTo(75);
        assertThat(budget.share("kernel TCP send")).isEqualTo(17 / 75.0);
        assertThat(budget.share("kernel TCP receive")).isEqualTo(5 / 75.0);
        assertThat(budget.share("multiplexing call")).isEqualTo(4 / 75.0);
        assertThat(budget.share("scheduler")).isEqualTo(3 / 75.0);
        assertThat(budget.share("syscall entry/exit")).isEqualTo(3 / 75.0);
        assertThat(budget.share("our Java code (io.echoladder)")).isEqualTo(6 / 75.0);
        assertThat(budget.share("JVM (GC, compiler, runtime)")).isEqualTo(17 / 75.0);
        assertThat(budget.share(CpuBudget.REST)).isEqualTo(20 / 75.0);
    }

    @Test
    void theSentenceNamesTheCategoryThatGrewMost() {
        String java = "io/echoladder/epoll/PollEchoServer.serve_[j];entry_SYSCALL_64_[k];do_syscall_64_[k];";
        CpuBudget epoll = of(java + "tcp_sendmsg_[k] 80", java + "do_epoll_wait_[k] 20");
        CpuBudget poll = of(java + "tcp_sendmsg_[k] 40", java + "do_sys_poll_[k] 50", java + "schedule_[k] 10");

        assertThat(poll.grewMostAgainst("poll", epoll, "epoll")).isEqualTo(
                "poll: multiplexing call grew most against epoll, 50.0% of the samples against 20.0% (+30.0 points).");
        assertThat(epoll.grewMostAgainst("epoll", epoll, "epoll")).isEqualTo(
                "epoll: no category has a larger share than in epoll.");
    }

    @Test
    void aStoredProfileOfEpollIsMostlyTheKernelsTcpAndAddsUpToAll() throws Exception {
        CpuBudget budget = CpuBudget.of(List.of(STORED));

        assertThat(budget.total()).isGreaterThan(1000);
        double sum = CpuBudget.rows().stream().mapToDouble(budget::share).sum();
        assertThat(sum).isCloseTo(1.0, within(1e-9));
        // Every row but the rest is claimed by something in a real profile of an echoing event loop.
        for (String row : List.of("kernel TCP send", "kernel TCP receive", "multiplexing call",
                "our Java code (io.echoladder)")) {
            assertThat(budget.share(row)).as(row).isGreaterThan(0.01);
        }
        assertThat(budget.share("kernel TCP send")).as("the send").isGreaterThan(budget.share(CpuBudget.REST));
    }

    @Test
    void theFlameGraphOfTheStoredProfileIsAnSvgWithItsFrames(@TempDir Path dir) throws Exception {
        Path svg = dir.resolve("epoll.svg");
        FlameGraph.write(List.of(STORED), "epoll, sweep 100", svg);

        String text = Files.readString(svg);
        assertThat(text).startsWith("<svg ").endsWith("</svg>\n").contains("tcp_sendmsg")
                .contains("io/echoladder/epoll/EpollEchoServer");
    }

    @Test
    void theReportSectionLinksEachFlameGraphAndSaysWhatGrewAgainstEpoll(@TempDir Path dir) throws Exception {
        Path profiles = Files.createDirectories(dir.resolve("profiles"));
        Path epoll = Files.copy(STORED, profiles.resolve("epoll-sweep-100.collapsed"));
        Path poll = Files.writeString(profiles.resolve("poll-sweep-100.collapsed"),
                "io/echoladder/epoll/PollEchoServer.serve_[j];entry_SYSCALL_64_[k];do_syscall_64_[k];do_sys_poll_[k] 90\n"
                        + "io/echoladder/epoll/PollEchoServer.serve_[j];entry_SYSCALL_64_[k];do_syscall_64_[k];tcp_sendmsg_[k] 10\n");

        String section = CpuBudget.section(List.of(
                new Bench.Profiled("epoll", "sweep-100", "1,000 msgs/s", 5_000, List.of(epoll)),
                new Bench.Profiled("poll", "sweep-100", "500 msgs/s", 2_500, List.of(poll)),
                new Bench.Profiled("mute", "sweep-100", "0 msgs/s, 100 unanswered", 0, List.of(poll))), dir);

        assertThat(section).contains("| epoll | sweep 100 | 1,000 msgs/s | ")
                .contains("| poll | sweep 100 | 500 msgs/s | 100 | 10.0% | 0.0% | 90.0% |")
                .contains("[svg](profiles/poll-sweep-100.svg)")
                .contains("- poll (sweep 100): multiplexing call grew most against epoll, 90.0% of the samples against ")
                // A rung that answered nothing is not compared as if it had served.
                .contains("- mute (sweep 100): answered no message in the profiled window")
                .doesNotContain("- mute (sweep 100): multiplexing call");
        assertThat(profiles.resolve("epoll-sweep-100.svg")).exists();
    }
}
