package io.echoladder.common;

import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;

/**
 * {@code ladder VERSION (git COMMIT)}: what {@code --version} prints and every bench report records.
 *
 * <p>The version is the project's, written into {@code version.properties} by the build. The commit is
 * asked of git when it is first needed, in the checkout the classes were loaded from (the jars under
 * {@code bench/target}, or {@code target/classes} in a test), so it is the commit of the tree the
 * launcher last built, with {@code -dirty} when tracked files differ from it. Maven cannot run git
 * without a plugin, and a commit stamped at build time would go stale whenever a commit changes no
 * source (the launcher rebuilds only then). Without git, outside a checkout, or if git takes longer
 * than a few seconds, the commit is {@code unknown}.
 */
public final class Version {

    private static final String UNKNOWN = "unknown";
    private static final long GIT_LIMIT_SECONDS = 5;

    private Version() {
    }

    /** {@code ladder 0.1.0-SNAPSHOT (git 450a493c1d2e)}. */
    public static String line() {
        return "ladder " + version() + " (git " + commit() + ")";
    }

    /** The project version, or {@code unknown} if the build did not write it. */
    public static String version() {
        try (InputStream in = Version.class.getResourceAsStream("version.properties")) {
            if (in == null) {
                return UNKNOWN;
            }
            Properties properties = new Properties();
            properties.load(in);
            String version = properties.getProperty("version", UNKNOWN);
            return version.startsWith("${") ? UNKNOWN : version;
        } catch (IOException e) {
            return UNKNOWN;
        }
    }

    /** The commit of the checkout these classes came from (see the class comment); computed once. */
    public static String commit() {
        return Commit.VALUE;
    }

    private static final class Commit {
        static final String VALUE = commit(codeLocation(), "git");
    }

    /** Where this class was loaded from: a jar's folder or a classes folder; null if it cannot be told. */
    private static Path codeLocation() {
        try {
            Path location = Path.of(Version.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            return Files.isDirectory(location) ? location : location.getParent();
        } catch (URISyntaxException | RuntimeException e) {
            return null;
        }
    }

    /**
     * The abbreviated commit of the git checkout that holds {@code dir}, with {@code -dirty} if tracked
     * files differ from it; {@code unknown} if {@code git} cannot say.
     */
    static String commit(Path dir, String git) {
        if (dir == null) {
            return UNKNOWN;
        }
        String head = run(dir, git, "rev-parse", "--short=12", "HEAD");
        if (head == null || !head.matches("[0-9a-f]{7,40}")) {
            return UNKNOWN;
        }
        String changes = run(dir, git, "status", "--porcelain", "--untracked-files=no");
        return changes == null || changes.isEmpty() ? head : head + "-dirty";
    }

    /** {@code git -C dir ARGS...}: its stdout, stripped; null if it failed, is missing or took too long. */
    private static String run(Path dir, String git, String... args) {
        List<String> command = new ArrayList<>(List.of(git, "-C", dir.toString()));
        command.addAll(List.of(args));
        Path out = null;
        Process process = null;
        try {
            // To a file, not a pipe: a git that hangs cannot hold this thread past the limit.
            out = Files.createTempFile("ladder-git-", ".out");
            ProcessBuilder builder = new ProcessBuilder(command).redirectOutput(out.toFile())
                    .redirectError(ProcessBuilder.Redirect.DISCARD)
                    .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
            // A caller's GIT_DIR (a hook, a script inside another repository) would point git elsewhere.
            builder.environment().keySet().removeIf(k -> k.startsWith("GIT_"));
            process = builder.start();
            if (!process.waitFor(GIT_LIMIT_SECONDS, TimeUnit.SECONDS)) {
                return null;
            }
            return process.exitValue() == 0 ? Files.readString(out, StandardCharsets.UTF_8).strip() : null;
        } catch (IOException e) {
            return null; // no git on this machine
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        } finally {
            if (process != null && process.isAlive()) {
                process.destroyForcibly();
            }
            if (out != null) {
                try {
                    Files.deleteIfExists(out);
                } catch (IOException e) {
                    // a temporary file: the OS cleans up after us
                }
            }
        }
    }

    /** picocli's {@code --version} / {@code -V}. */
    public static final class Provider implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {line()};
        }
    }
}
