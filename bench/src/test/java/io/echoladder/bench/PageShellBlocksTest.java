package io.echoladder.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Every shell block on README.md and the module pages works when pasted: each {@code ```sh} block runs
 * verbatim, as a learner's fresh bash would run it from the checkout root, and must exit 0 within
 * {@link #CAP}, leaving nothing running behind it (a server left running would hold the port the next
 * block, or the learner's next paste, wants).
 *
 * <p>How a block runs: {@code setsid bash BLOCK} (a session, and so a process group, of its own; no
 * {@code -e}, since a terminal goes on past a failed command too, so the block's exit status is its last
 * command's, and a block ends with the command that shows it worked), cwd the checkout root, stdin /dev/null, with {@code JAVA_TOOL_OPTIONS=-Xlog:gc}
 * so that GC lines come before every JVM's first line, as they do for a learner who logs GC: a block
 * that waits by reading a server's first line breaks here as it would there. When it ends, or its time
 * is up, every process left in its session is listed (a failure) and killed by PID, then reaped.
 *
 * <p>A block that takes minutes, or needs what the machine may lack, says so where the reader sees it:
 * the paragraph before it holds {@code (REASON; the page test skips it)}, and the test skips it printing
 * that reason.
 *
 * <p>It runs in the bench module's integration-test phase of {@code mvn verify}, after the jars that
 * {@code ./ladder} runs on are packaged (see bench/pom.xml), and nowhere else.
 */
class PageShellBlocksTest {

    /** The longest a block may take; the slowest that runs (the epoll page's descriptor limit) takes ~25 s. */
    static final Duration CAP = Duration.ofSeconds(90);

    /** The marker, in the paragraph before a block: {@code (takes 5 minutes; the page test skips it)}. */
    static final Pattern SKIP = Pattern.compile("\\(([^()]*?);? the page test skips it\\)");

    /** Set by the bench module's integration-test execution, once the jars exist. */
    private static final String RUN = "pages.shell";

    @TestFactory
    Stream<DynamicTest> everyShellBlockRunsAsPasted() throws IOException {
        Assumptions.assumeTrue(Boolean.getBoolean(RUN), "runs in mvn verify's integration-test phase, after the jars"
                + " ./ladder runs on are packaged (-D" + RUN + "=true there)");
        Path root = Pages.root();
        // Maven packaged bench.jar and target/lib moments ago, in this same run: tell ./ladder they are
        // current, as `touch bench/target/.ladder-built` after a build does, or it would build again.
        Path stamp = root.resolve("bench/target/.ladder-built");
        if (!Files.exists(stamp)) {
            Files.createFile(stamp);
        }
        Files.setLastModifiedTime(stamp, FileTime.from(Instant.now()));
        return shellBlocks().stream().map(block -> DynamicTest.dynamicTest(block.where(), () -> {
            Optional<String> skip = skipReason(block);
            if (skip.isPresent()) {
                System.out.println("SKIP " + block.where() + ": " + skip.get());
                Assumptions.abort(skip.get());
            }
            long start = System.nanoTime();
            Result result = run(block, root);
            System.out.printf("RAN  %s in %.1f s: %s%n", block.where(), (System.nanoTime() - start) / 1e9, result.verdict());
            assertThat(result.verdict()).as("%s%n--- the block:%n%s%n--- its output (last 60 lines):%n%s",
                    block.where(), block.text(), result.tail()).isEqualTo("exit 0");
        }));
    }

    /** What a shell block's run came to: "exit 0", or what went wrong. */
    record Result(String verdict, String tail) {
    }

    static List<Pages.Block> shellBlocks() {
        return Pages.blocks().stream().filter(b -> b.language().equals("sh")).toList();
    }

    static Optional<String> skipReason(Pages.Block block) {
        Matcher m = SKIP.matcher(block.before().replace('\n', ' '));
        return m.find() ? Optional.of(m.group(1).strip()) : Optional.empty();
    }

    /** Runs one block in a session of its own, then kills and reaps whatever it left in that session. */
    static Result run(Pages.Block block, Path root) throws IOException, InterruptedException {
        Path script = Files.createTempFile("page-block-", ".sh");
        // Kept for whoever reads a failure, or wants a block's output for its page: target/page-blocks/.
        Path output = Files.createDirectories(root.resolve("bench/target/page-blocks"))
                .resolve(block.where().replaceAll("[/:]", "-") + ".out");
        try {
            Files.writeString(script, block.text() + "\n");
            ProcessBuilder pb = new ProcessBuilder("setsid", "bash", script.toString()).directory(root.toFile())
                    .redirectErrorStream(true).redirectOutput(output.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
            Map<String, String> env = pb.environment();
            env.put("JAVA_TOOL_OPTIONS", "-Xlog:gc");
            // setsid execs bash in place (a child of this JVM leads no group), so the session is the child's pid.
            Process bash = pb.start();
            long session = bash.pid();
            String verdict;
            if (!bash.waitFor(CAP.toSeconds(), TimeUnit.SECONDS)) {
                verdict = "still running after " + CAP.toSeconds() + " s (a hang, or a block that needs the skip marker)";
            } else if (bash.exitValue() != 0) {
                verdict = "exit " + bash.exitValue();
            } else {
                verdict = "exit 0";
            }
            List<Long> left = inSession(session);
            if (!left.isEmpty() && verdict.equals("exit 0")) {
                verdict = "left running: " + describe(left) + " (end the block by killing what it started)";
            }
            reap(session);
            return new Result(verdict, tail(output, 60));
        } finally {
            Files.deleteIfExists(script);
        }
    }

    /** The processes whose session id is {@code session}, read from /proc (field 6 of /proc/PID/stat). */
    static List<Long> inSession(long session) {
        List<Long> pids = new ArrayList<>();
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            for (Path p : procs.filter(p -> p.getFileName().toString().matches("\\d+")).toList()) {
                try {
                    String stat = Files.readString(p.resolve("stat"));
                    // pid (comm) state ppid pgrp session ...: comm may hold spaces, so count from its ')'.
                    String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                    if (Long.parseLong(fields[3]) == session && !fields[0].equals("Z")) {
                        pids.add(Long.parseLong(p.getFileName().toString()));
                    }
                } catch (IOException | RuntimeException gone) {
                    // exited while we looked
                }
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return pids;
    }

    /** SIGTERM to every process left in the session, by PID; SIGKILL to those still there 5 s later; then reaped. */
    static void reap(long session) throws InterruptedException {
        List<ProcessHandle> left = inSession(session).stream().map(ProcessHandle::of).flatMap(Optional::stream).toList();
        left.forEach(ProcessHandle::destroy);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!inSession(session).isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        inSession(session).stream().map(ProcessHandle::of).flatMap(Optional::stream).forEach(ProcessHandle::destroyForcibly);
        deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!inSession(session).isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
    }

    private static String describe(List<Long> pids) {
        return String.join(", ", pids.stream().map(pid -> pid + " " + ProcessHandle.of(pid)
                .flatMap(h -> h.info().commandLine()).map(c -> c.length() > 100 ? c.substring(0, 100) + "..." : c)
                .orElse("")).toList());
    }

    private static String tail(Path file, int lines) throws IOException {
        List<String> all = List.of(new String(Files.readAllBytes(file), StandardCharsets.UTF_8).split("\n", -1));
        return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    }

    /** The test of the test: a failing command, a hang and a process left running each fail a block. */
    @Test
    void aBlockFailsOnAnErrorAHangOrWhatItLeavesRunning() throws Exception {
        Path root = Pages.root();
        assertThat(run(block("true"), root).verdict()).isEqualTo("exit 0");
        assertThat(run(block("echo before\nfalse"), root).verdict()).isEqualTo("exit 1");
        Result left = run(block("sleep 300 &"), root);
        assertThat(left.verdict()).startsWith("left running: ").contains("sleep 300");
    }

    @Test
    void theSkipMarkerIsReadFromTheParagraphBefore() {
        assertThat(skipReason(new Pages.Block(Path.of("x"), 1, "sh", Map.of(), "./ladder bench --quick",
                "Run it all\n(takes about 5 minutes; the page test skips it):", ""))).contains("takes about 5 minutes");
        assertThat(skipReason(block("true"))).isEmpty();
    }

    private static Pages.Block block(String text) {
        return new Pages.Block(Pages.root().resolve("README.md"), 1, "sh", Map.of(), text, "", "");
    }
}
