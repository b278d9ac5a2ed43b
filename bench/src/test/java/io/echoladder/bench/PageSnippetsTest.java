package io.echoladder.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * A snippet on a page is a quotation (house style, rule 10): every code block on README.md and the module
 * pages that shows source code must occur in the file it names, so that a page cannot go on teaching
 * code that has changed.
 *
 * <p>The convention, on the block's opening fence: {@code ```java quote=PATH}, PATH relative to the page
 * (as the page's links are), e.g. {@code ```java quote=src/main/java/io/echoladder/epoll/EpollEchoServer.java}
 * on epoll/README.md. The snippet must occur in that file with whitespace normalised (indentation and line
 * breaks may differ; every other character must match). A line that is {@code ...} or starts with
 * {@code // ...} stands for lines left out: the pieces between such lines must occur in the file in that
 * order. A block that only sketches code and quotes no file says so with {@code sketch} instead
 * ({@code ```java sketch}); a block in a programming language with neither fails, so no snippet escapes
 * the check by forgetting the attribute. Shell commands, program output and diagrams are not quotations.
 */
class PageSnippetsTest {

    /** Languages whose blocks show source code: each must be a quotation or say it is a sketch. */
    private static final Set<String> SOURCE_LANGUAGES = Set.of("java", "c", "kotlin", "xml");

    private static final Pattern ELISION = Pattern.compile("^\\s*(\\.\\.\\.|//\\s*\\.\\.\\..*)$");

    @Test
    void everyQuotedSnippetOccursInTheFileItNames() throws IOException {
        List<String> failures = new ArrayList<>();
        int quotes = 0;
        for (Pages.Block block : Pages.blocks()) {
            if (block.attribute("quote").isEmpty()) {
                continue;
            }
            quotes++;
            Path file = block.page().getParent().resolve(block.attribute("quote").get()).normalize();
            if (!Files.isRegularFile(file)) {
                failures.add(block.where() + ": quotes " + block.attribute("quote").get() + ", which is not a file");
                continue;
            }
            String source = normalise(Files.readString(file));
            int from = 0;
            for (String piece : pieces(block.text())) {
                int at = source.indexOf(piece, from);
                if (at < 0) {
                    failures.add(block.where() + ": not in " + Pages.root().relativize(file)
                            + (source.contains(piece) ? " in this order" : "") + ": " + abbreviate(piece));
                    break;
                }
                from = at + piece.length();
            }
        }

        assertThat(failures).as("snippets that are not quotations of the file they name").isEmpty();
        assertThat(quotes).as("quoted snippets found (fewer means the pages or the parser changed)")
                .isGreaterThanOrEqualTo(5);
    }

    @Test
    void everySourceSnippetNamesItsFileOrSaysItIsASketch() {
        List<String> unnamed = Pages.blocks().stream()
                .filter(b -> SOURCE_LANGUAGES.contains(b.language()))
                .filter(b -> b.attribute("quote").isEmpty() && b.attribute("sketch").isEmpty())
                .map(b -> b.where() + ": ```" + b.language() + " without quote=PATH or sketch").toList();

        assertThat(unnamed).isEmpty();
    }

    @Test
    void theParserFindsBlocksWithTheirLanguageAttributesAndProse() {
        // The parser itself, on a page that is sure to stay: the top README's first command.
        Pages.Block first = Pages.blocks(Pages.root().resolve("README.md")).getFirst();

        assertThat(first.language()).isEqualTo("sh");
        assertThat(first.text()).isEqualTo("./ladder bench --quick");
        assertThat(first.before()).contains("Run the whole ladder");
        assertThat(first.line()).isGreaterThan(1);
        assertThat(Pages.pages()).contains(Pages.root().resolve("epoll/README.md"));
    }

    /** The snippet split at its elision lines, each piece whitespace-normalised; empty pieces dropped. */
    static List<String> pieces(String snippet) {
        List<String> pieces = new ArrayList<>();
        StringBuilder piece = new StringBuilder();
        for (String line : snippet.split("\n", -1)) {
            if (ELISION.matcher(line).matches()) {
                pieces.add(normalise(piece.toString()));
                piece.setLength(0);
            } else {
                piece.append(line).append('\n');
            }
        }
        pieces.add(normalise(piece.toString()));
        return pieces.stream().filter(p -> !p.isEmpty()).toList();
    }

    /** Every run of whitespace as one space, none at the ends. */
    static String normalise(String text) {
        return text.strip().replaceAll("\\s+", " ");
    }

    private static String abbreviate(String piece) {
        return piece.length() <= 100 ? piece : piece.substring(0, 100) + "...";
    }
}
