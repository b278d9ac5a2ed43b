package io.echoladder.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The project's pages as a reader meets them: the top README.md and each module's README.md, and in them
 * every fenced code block with its language, its attributes, where it is, and the prose around it. Tests
 * that hold the pages to the code read them through this: {@link PageSnippetsTest} checks every quoted
 * snippet, and a test that runs the pages' shell blocks can take {@code language() == "sh"}.
 *
 * <p>A block opens with a fence of three or more backticks (or tildes), indented or not (a block inside a
 * list item is indented with it), and closes with a fence of the same character at least as long. The
 * fence's info string is the language, then {@code key=value} attributes separated by spaces (a bare
 * word is an attribute with an empty value): {@code ```java quote=src/main/java/.../Foo.java}. Markdown
 * renderers show only the language, so attributes are for tests.
 */
final class Pages {

    private Pages() {
    }

    private static final Pattern FENCE = Pattern.compile("^( *)(`{3,}|~{3,})(.*)$");

    /**
     * One fenced block.
     *
     * @param page       the page it is on
     * @param line       the line of its opening fence, from 1
     * @param language   the first word of the info string, or "" when there is none
     * @param attributes the rest of the info string: {@code key=value} (a bare word maps to "")
     * @param text       its content, the fence's indentation removed, lines joined with \n
     * @param before     the paragraph just above it (the prose that introduces it), or ""
     * @param after      the paragraph just below it, or ""
     */
    record Block(Path page, int line, String language, Map<String, String> attributes, String text,
                 String before, String after) {

        Optional<String> attribute(String name) {
            return Optional.ofNullable(attributes.get(name));
        }

        /** {@code page:line}, relative to the repository, for messages. */
        String where() {
            return root().relativize(page) + ":" + line;
        }
    }

    /** The repository: the nearest directory at or above the working directory with README.md and ./ladder. */
    static Path root() {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            if (Files.isRegularFile(dir.resolve("README.md")) && Files.isRegularFile(dir.resolve("ladder"))) {
                return dir;
            }
        }
        throw new IllegalStateException("no repository root (README.md and ladder) above " + Path.of("").toAbsolutePath());
    }

    /** README.md and every module's README.md (one directory down), in order. */
    static List<Path> pages() {
        Path root = root();
        try (Stream<Path> dirs = Files.list(root)) {
            List<Path> pages = new ArrayList<>(List.of(root.resolve("README.md")));
            dirs.filter(Files::isDirectory).filter(d -> !d.getFileName().toString().startsWith("."))
                    .map(d -> d.resolve("README.md")).filter(Files::isRegularFile).sorted().forEach(pages::add);
            return pages;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Every block of every page. */
    static List<Block> blocks() {
        return pages().stream().flatMap(page -> blocks(page).stream()).toList();
    }

    /** The blocks of one page, in order. An unclosed fence is an error: the rest of the page would vanish. */
    static List<Block> blocks(Path page) {
        List<String> lines;
        try {
            lines = Files.readAllLines(page);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        List<Block> blocks = new ArrayList<>();
        int i = 0;
        while (i < lines.size()) {
            Matcher open = FENCE.matcher(lines.get(i));
            if (!open.matches() || open.group(2).charAt(0) == '`' && open.group(3).contains("`")) {
                i++;
                continue;
            }
            int indent = open.group(1).length();
            String fence = open.group(2);
            int start = i;
            List<String> content = new ArrayList<>();
            i++;
            while (i < lines.size() && !closes(lines.get(i), fence)) {
                content.add(dedent(lines.get(i), indent));
                i++;
            }
            if (i == lines.size()) {
                throw new IllegalStateException(page + ":" + (start + 1) + ": the fence is never closed");
            }
            String[] info = open.group(3).strip().split("\\s+");
            Map<String, String> attributes = new LinkedHashMap<>();
            for (int a = 1; a < info.length; a++) {
                int eq = info[a].indexOf('=');
                attributes.put(eq < 0 ? info[a] : info[a].substring(0, eq), eq < 0 ? "" : info[a].substring(eq + 1));
            }
            blocks.add(new Block(page, start + 1, info[0], Map.copyOf(attributes), String.join("\n", content),
                    paragraph(lines, start - 1, -1), paragraph(lines, i + 1, +1)));
            i++;
        }
        return blocks;
    }

    private static boolean closes(String line, String fence) {
        String stripped = line.strip();
        return stripped.length() >= fence.length() && stripped.chars().allMatch(c -> c == fence.charAt(0));
    }

    private static String dedent(String line, int indent) {
        int n = 0;
        while (n < indent && n < line.length() && line.charAt(n) == ' ') {
            n++;
        }
        return line.substring(n);
    }

    /** The paragraph next to a block: skip blank lines from {@code from} in direction {@code step}, then take non-blank ones. */
    private static String paragraph(List<String> lines, int from, int step) {
        int i = from;
        while (i >= 0 && i < lines.size() && lines.get(i).isBlank()) {
            i += step;
        }
        List<String> paragraph = new ArrayList<>();
        while (i >= 0 && i < lines.size() && !lines.get(i).isBlank() && !FENCE.matcher(lines.get(i)).matches()) {
            paragraph.add(lines.get(i).strip());
            i += step;
        }
        if (step < 0) {
            java.util.Collections.reverse(paragraph);
        }
        return String.join("\n", paragraph);
    }
}
