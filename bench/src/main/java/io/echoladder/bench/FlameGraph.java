package io.echoladder.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A flame graph as a plain SVG picture, drawn from collapsed stacks: the bench merges a process rung's
 * server and worker profiles into one, and a page can show an SVG where it cannot run async-profiler's
 * HTML. Each box is a frame, as wide as the share of samples it was on the stack for, its callers below
 * it; hovering one shows its name and share. Colours by kind: kernel orange, Java green, the JVM's C++
 * yellow, anything else red.
 */
final class FlameGraph {

    private static final int WIDTH = 1200;
    private static final int ROW = 16;
    /**
     * Boxes narrower than this many pixels (a share of 1/600) are left out, and so is everything above them:
     * with every sliver drawn, a profile's picture took 2 MB.
     */
    private static final double NARROWEST = 2;

    private static final class Node {
        final Map<String, Node> children = new LinkedHashMap<>();
        long samples;
    }

    private FlameGraph() {
    }

    /** Writes the flame graph of {@code files} (collapsed stacks) to {@code svg}, titled {@code title}. */
    static void write(List<Path> files, String title, Path svg) throws IOException {
        Node root = new Node();
        for (Path file : files) {
            for (String line : Files.readAllLines(file)) {
                int space = line.lastIndexOf(' ');
                if (space <= 0) {
                    continue;
                }
                long count = Long.parseLong(line.substring(space + 1).strip());
                root.samples += count;
                Node node = root;
                for (String frame : line.substring(0, space).split(";")) {
                    node = node.children.computeIfAbsent(frame, f -> new Node());
                    node.samples += count;
                }
            }
        }
        int depth = depth(root, root.samples);
        int height = (depth + 2) * ROW + 24;
        StringBuilder out = new StringBuilder();
        out.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                + "font-family=\"monospace\" font-size=\"11\">%n", WIDTH, height));
        out.append(String.format(Locale.ROOT, "<rect width=\"100%%\" height=\"100%%\" fill=\"#fdfdf5\"/>%n"
                + "<text x=\"%d\" y=\"16\" text-anchor=\"middle\" font-size=\"13\">%s (%,d samples)</text>%n",
                WIDTH / 2, escape(title), root.samples));
        box(out, "all", root.samples, root.samples, 0, height - ROW - 4);
        draw(out, root, root.samples, 0, height - 2 * ROW - 4);
        out.append("</svg>\n");
        Files.writeString(svg, out);
    }

    private static int depth(Node node, long total) {
        int deepest = 0;
        for (Node child : node.children.values()) {
            if (child.samples * WIDTH / (double) total >= NARROWEST) {
                deepest = Math.max(deepest, 1 + depth(child, total));
            }
        }
        return deepest;
    }

    private static void draw(StringBuilder out, Node node, long total, double x, int y) {
        double at = x;
        for (Map.Entry<String, Node> child : node.children.entrySet()) {
            double width = child.getValue().samples * WIDTH / (double) total;
            if (width >= NARROWEST) {
                box(out, child.getKey(), child.getValue().samples, total, at, y);
                draw(out, child.getValue(), total, at, y - ROW);
            }
            at += width;
        }
    }

    private static void box(StringBuilder out, String frame, long samples, long total, double x, int y) {
        double width = samples * WIDTH / (double) total;
        out.append(String.format(Locale.ROOT, "<g><title>%s (%,d samples, %.2f%%)</title>"
                        + "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\" stroke=\"#fdfdf5\"/>",
                escape(frame), samples, 100.0 * samples / total, x, y, width, ROW - 1, colour(frame)));
        int chars = (int) (width / 7) - 1;
        if (chars >= 3) {
            String text = frame.length() <= chars ? frame : frame.substring(0, chars - 2) + "..";
            out.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\">%s</text>", x + 3, y + ROW - 4, escape(text)));
        }
        out.append("</g>\n");
    }

    private static String colour(String frame) {
        if (frame.endsWith("_[k]")) {
            return "#f0a050";
        }
        if (frame.endsWith("_[j]") || frame.endsWith("_[i]") || frame.endsWith("_[0]") || frame.endsWith("_[1]")
                || frame.contains("/")) {
            return "#70c070";
        }
        if (frame.contains("::")) {
            return "#e0d050";
        }
        return "#e07060";
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
