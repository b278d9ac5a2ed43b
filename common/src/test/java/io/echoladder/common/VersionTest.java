package io.echoladder.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code ladder VERSION (git COMMIT)}: the version from the build, the commit from git, {@code unknown} without. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class VersionTest {

    @Test
    void theVersionIsTheProjectsAsTheBuildWroteIt() {
        assertThat(Version.version()).matches("\\d+\\.\\d+\\.\\d+(-SNAPSHOT)?");
        assertThat(Version.line()).matches("ladder \\d+\\.\\d+\\.\\d+(-SNAPSHOT)? \\(git ([0-9a-f]{7,40}(-dirty)?|unknown)\\)");
    }

    @Test
    void withoutGitOrOutsideACheckoutTheCommitIsUnknown(@TempDir Path dir) {
        assertThat(Version.commit(dir, "/nonexistent/git")).isEqualTo("unknown");
        assertThat(Version.commit(null, "git")).isEqualTo("unknown");
        assumeThat(hasGit()).as("git on PATH").isTrue();
        assertThat(Version.commit(dir, "git")).as("a folder outside any repository").isEqualTo("unknown");
    }

    @Test
    void aCheckoutGivesItsCommitAndDirtyWhenATrackedFileChanged(@TempDir Path dir) throws Exception {
        assumeThat(hasGit()).as("git on PATH").isTrue();
        git(dir, "init", "-q");
        Files.writeString(dir.resolve("a.txt"), "one\n");
        git(dir, "add", "a.txt");
        git(dir, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "one");
        String head = git(dir, "rev-parse", "--short=12", "HEAD");
        assertThat(Version.commit(dir, "git")).isEqualTo(head);
        Files.writeString(dir.resolve("untracked.txt"), "not ours\n");
        assertThat(Version.commit(dir, "git")).as("untracked files do not count").isEqualTo(head);
        Files.writeString(dir.resolve("a.txt"), "two\n");
        assertThat(Version.commit(dir, "git")).isEqualTo(head + "-dirty");
    }

    private static boolean hasGit() {
        try {
            return new ProcessBuilder("git", "--version").start().waitFor() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    private static String git(Path dir, String... args) throws IOException, InterruptedException {
        List<String> command = new java.util.ArrayList<>(List.of("git", "-C", dir.toString()));
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().keySet().removeIf(k -> k.startsWith("GIT_"));
        Process p = builder.start();
        String out = new String(p.getInputStream().readAllBytes()).strip();
        assertThat(p.waitFor()).as(out).isZero();
        return out;
    }
}
