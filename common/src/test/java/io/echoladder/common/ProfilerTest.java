package io.echoladder.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What {@code serve --profile} decides before anything runs: the format, the workers' files, a bad library. */
class ProfilerTest {

    @Test
    void theFormatFollowsTheExtensionAndAnyOtherIsBadInput() {
        assertThat(Profiler.format(Path.of("out.html"))).isEqualTo("flamegraph");
        assertThat(Profiler.format(Path.of("out.txt"))).isEqualTo("collapsed,ann");
        assertThat(Profiler.format(Path.of("out.collapsed"))).isEqualTo("collapsed,ann");

        LadderException refused = catchThrowableOfType(LadderException.class, () -> Profiler.format(Path.of("out.jfr")));
        assertThat(refused.exitCode()).isEqualTo(LadderException.USAGE);
        assertThat(refused.getMessage()).doesNotContain("\n").contains(".html").contains("out.jfr");
        assertThat(catchThrowableOfType(LadderException.class, () -> Profiler.format(Path.of("a,b.html"))).exitCode())
                .isEqualTo(LadderException.USAGE);
    }

    @Test
    void aWorkersFileIsTheServersWithItsPidBeforeTheExtension() {
        assertThat(Profiler.workerFile(Path.of("/tmp/p/prefork.html"), "4711")).isEqualTo(Path.of("/tmp/p/prefork-4711.html"));
        assertThat(Profiler.workerAgent(Path.of("/tmp/p/prefork.collapsed")))
                .startsWith("-agentpath:").endsWith("=start,event=cpu,interval=1ms,collapsed,ann,file=/tmp/p/prefork-%p.collapsed");
    }

    @Test
    void theLibraryComesOutOfTheJarAndLoads() {
        Path library = Profiler.library();
        assertThat(library).exists().hasFileName("libasyncProfiler.so");
        assertThat(Profiler.load(library).getVersion()).startsWith("4.");
    }

    @Test
    void aLibraryThatCannotLoadIsOneLineAndExitOne(@TempDir Path dir) throws Exception {
        Path notALibrary = Files.writeString(dir.resolve("libasyncProfiler.so"), "not an ELF file");

        LadderException failure = catchThrowableOfType(LadderException.class, () -> Profiler.load(notALibrary));

        assertThat(failure.exitCode()).isEqualTo(LadderException.FAILURE);
        assertThat(failure.getMessage()).startsWith("profile: cannot load async-profiler from " + notALibrary)
                .doesNotContain("\n");
    }
}
