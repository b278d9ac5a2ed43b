package io.echoladder.bench;

import io.echoladder.common.Rung;
import io.echoladder.common.Rungs;
import io.echoladder.common.Setting;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.Shape;
import java.awt.geom.Ellipse2D;
import java.awt.geom.Path2D;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.imageio.ImageIO;
import org.knowm.xchart.AnnotationLine;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.Marker;

/**
 * The bench's charts, drawn with XChart and laid out as small multiples: one panel per family of rungs,
 * all panels of a figure on the same axes, each rung in one colour and marker on every chart.
 *
 * <p>The rule every figure keeps: a rung that left clients unanswered never looks faster than one that
 * answered them all. Such a point is drawn hollow, and on a speed axis at the slow end: at the floor of a
 * throughput chart, at the ceiling (the longest latency the run can observe) of a latency chart.
 */
final class Charts {

    private Charts() {
    }

    /** Families of rungs, one panel each, in ladder order. */
    enum Family {
        ONE_AT_A_TIME("one at a time, and pools"),
        THREADS("a thread per client"),
        EVENT_LOOPS("event loops"),
        PROCESSES("processes"),
        EXTERNAL("outside servers (--also)");

        final String title;

        Family(String title) {
            this.title = title;
        }

        /** The family of a rung id (or an outside server's name). */
        static Family of(String name) {
            // "epoll --offload 8" belongs with epoll.
            Optional<Rung> rung = Rungs.find(name.split(" ", 2)[0]);
            if (rung.isEmpty()) {
                return EXTERNAL;
            }
            return switch (rung.get().module()) {
                case "blocking" -> ONE_AT_A_TIME;
                // The pooled thread rungs serve N clients at a time, like the iterative one serves one.
                case "threaded" -> rung.get().settings().contains(Setting.WORKERS) ? ONE_AT_A_TIME : THREADS;
                case "forked" -> PROCESSES;
                default -> EVENT_LOOPS;
            };
        }
    }

    /** Where a point of a rung that left clients unanswered is drawn. */
    enum Unanswered {
        /** At the bottom of the axis: a throughput that did not serve everyone. */
        FLOOR,
        /** Where its value is: the caller has put it at the ceiling (a censored latency). */
        CEILING,
        /** At its value, hollow: a cost, not a speed. */
        AS_IS
    }

    /**
     * One point of a rung's line.
     *
     * @param unanswered    the rung left clients unanswered here: drawn hollow, where {@link Unanswered} says
     * @param clientLimited the client could not keep to its schedule here: ringed in grey
     */
    record Mark(double x, double y, boolean unanswered, boolean clientLimited) {
        Mark(double x, double y, boolean unanswered) {
            this(x, y, unanswered, false);
        }
    }

    /** A rung's line in a figure. */
    record Line(String rung, List<Mark> marks) {
    }

    /**
     * A figure of small multiples.
     *
     * @param title     what it shows
     * @param xTitle    x axis title (the x axis is logarithmic: connections or msgs/s)
     * @param yTitle    y axis title
     * @param unanswered where points of rungs that left clients unanswered go
     * @param ceiling   the censored latency value (drawn as a line), or 0
     * @param ceilingLabel what the ceiling line means, e.g. "no reply within 1 s"
     */
    record Figure(String title, String xTitle, String yTitle, Unanswered unanswered, double ceiling, String ceilingLabel) {
    }

    private static final int PANEL_WIDTH = 760;
    private static final int PANEL_HEIGHT = 430;
    private static final int COLUMNS = 2;
    private static final int HEADER = 64;

    /** Ten colours that stay apart from each other (Tableau 10), given out in ladder order per family. */
    private static final Color[] PALETTE = {
            new Color(0x4E79A7), new Color(0xF28E2B), new Color(0xE15759), new Color(0x76B7B2), new Color(0x59A14F),
            new Color(0xEDC948), new Color(0xB07AA1), new Color(0xFF9DA7), new Color(0x9C755F), new Color(0xBAB0AC)};

    /** The one colour and marker of a rung on every chart: the colour by its place in its family, the shape by family. */
    record Style(Color colour, Form form) {
    }

    enum Form {
        CIRCLE, SQUARE, DIAMOND, TRIANGLE, CROSS
    }

    static Style style(String rung) {
        Family family = Family.of(rung);
        List<String> members = new ArrayList<>(Rungs.all().stream().map(Rung::id).filter(id -> Family.of(id) == family).toList());
        int index = members.indexOf(rung);
        if (index < 0 && rung.contains(" ")) {
            // A rung with arguments: its rung's colour, one step along, so the two stay apart on one panel.
            index = members.indexOf(rung.split(" ", 2)[0]) + members.size();
        }
        if (index < 0) {
            index = Math.floorMod(rung.hashCode(), PALETTE.length); // an outside server: stable, if not unique
        }
        return new Style(PALETTE[index % PALETTE.length], Form.values()[family.ordinal()]);
    }

    /** Draws {@code lines} into {@code file} as one panel per family. */
    static void draw(Path file, Figure figure, List<Line> drawn) throws IOException {
        draw(file, figure, drawn, null, 0);
    }

    /**
     * {@link #draw(Path, Figure, List)} on a y axis fixed in advance, for a figure whose scale does not
     * depend on the run (an index from 0 to 1), with a horizontal rule at {@code rule} (none at 0).
     */
    static void draw(Path file, Figure figure, List<Line> drawn, Axis fixedY, double rule) throws IOException {
        // A point with no value of its own (nothing answered) can only be drawn at the floor.
        List<Line> lines = drawn.stream().map(l -> new Line(l.rung(), l.marks().stream()
                .filter(m -> m.y() > 0 || m.unanswered() && figure.unanswered() == Unanswered.FLOOR).toList())).toList();
        boolean anyLimited = lines.stream().flatMap(l -> l.marks().stream()).anyMatch(Mark::clientLimited);
        Map<Family, List<Line>> panels = new LinkedHashMap<>();
        for (Family family : Family.values()) {
            List<Line> members = lines.stream().filter(l -> Family.of(l.rung()) == family && !l.marks().isEmpty()).toList();
            if (!members.isEmpty()) {
                panels.put(family, members);
            }
        }
        if (panels.isEmpty()) {
            return;
        }
        Axis x = Axis.of(lines.stream().flatMap(l -> l.marks().stream()).map(Mark::x).toList(), true, false);
        List<Double> ys = new ArrayList<>(lines.stream().flatMap(l -> l.marks().stream())
                .filter(m -> !m.unanswered() || figure.unanswered() != Unanswered.FLOOR).map(Mark::y).toList());
        if (figure.ceiling() > 0) {
            ys.add(figure.ceiling());
        }
        Axis y = fixedY != null ? fixedY : Axis.of(ys, false, figure.unanswered() == Unanswered.FLOOR);
        boolean anyUnanswered = lines.stream().flatMap(l -> l.marks().stream()).anyMatch(Mark::unanswered);
        double floor = y.floor();

        List<BufferedImage> images = new ArrayList<>();
        for (Map.Entry<Family, List<Line>> panel : panels.entrySet()) {
            XYChart chart = new XYChartBuilder().width(PANEL_WIDTH).height(PANEL_HEIGHT).title(panel.getKey().title)
                    .xAxisTitle(figure.xTitle()).yAxisTitle(figure.yTitle()).build();
            var styler = chart.getStyler();
            styler.setLegendPosition(Styler.LegendPosition.OutsideE);
            styler.setMarkerSize(9);
            styler.setChartBackgroundColor(Color.WHITE);
            styler.setPlotGridLinesColor(new Color(0xEEEEEE));
            styler.setPlotGridVerticalLinesVisible(false);
            styler.setXAxisLogarithmic(x.log());
            styler.setYAxisLogarithmic(y.log());
            styler.setXAxisMin(x.min());
            styler.setXAxisMax(x.max());
            styler.setYAxisMin(y.min());
            styler.setYAxisMax(y.max());
            styler.setXAxisDecimalPattern(x.pattern());
            styler.setYAxisDecimalPattern(y.pattern());
            List<Line> members = panel.getValue();
            for (int index = 0; index < members.size(); index++) {
                Line line = members.get(index);
                Style style = style(line.rung());
                // Unanswered points of several rungs meet at the floor or ceiling: each rung's are set a
                // little apart sideways so that none hides another.
                double nudge = figure.unanswered() == Unanswered.AS_IS ? 1 : Math.pow(1.07, index - (members.size() - 1) / 2.0);
                List<Mark> answered = line.marks().stream().filter(m -> !m.unanswered()).toList();
                List<Mark> unanswered = line.marks().stream().filter(Mark::unanswered).toList();
                if (!answered.isEmpty()) {
                    XYSeries solid = chart.addSeries(line.rung(), answered.stream().mapToDouble(Mark::x).toArray(),
                            answered.stream().mapToDouble(Mark::y).toArray());
                    solid.setLineColor(style.colour());
                    solid.setMarkerColor(style.colour());
                    solid.setMarker(new Glyph(style.form(), false));
                }
                if (!unanswered.isEmpty()) {
                    // In the legend only when the rung has no answered point to stand for it.
                    XYSeries hollow = chart.addSeries(answered.isEmpty() ? line.rung() : line.rung() + " (unanswered)",
                            unanswered.stream().mapToDouble(m -> m.x() * nudge).toArray(),
                            unanswered.stream().mapToDouble(m -> figure.unanswered() == Unanswered.FLOOR ? floor : m.y()).toArray());
                    hollow.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
                    hollow.setMarkerColor(style.colour());
                    hollow.setMarker(new Glyph(style.form(), true));
                    hollow.setShowInLegend(answered.isEmpty());
                }
                List<Mark> limited = line.marks().stream().filter(m -> m.clientLimited() && !m.unanswered()).toList();
                if (!limited.isEmpty()) {
                    XYSeries ring = chart.addSeries(line.rung() + " (client-limited)",
                            limited.stream().mapToDouble(Mark::x).toArray(), limited.stream().mapToDouble(Mark::y).toArray());
                    ring.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
                    ring.setMarkerColor(Color.GRAY);
                    ring.setMarker(new Ring());
                    ring.setShowInLegend(false);
                }
            }
            if (figure.ceiling() > 0 && anyUnanswered) {
                chart.addAnnotation(new AnnotationLine(figure.ceiling(), false, false));
            }
            if (rule > 0) {
                chart.addAnnotation(new AnnotationLine(rule, false, false));
            }
            images.add(BitmapEncoder.getBufferedImage(chart));
        }
        write(file, figure, images, anyUnanswered, anyLimited);
    }

    /** Lays the panels out under a header that names the figure and says what a hollow marker means. */
    private static void write(Path file, Figure figure, List<BufferedImage> panels, boolean anyUnanswered,
                              boolean anyLimited) throws IOException {
        int columns = Math.min(COLUMNS, panels.size());
        int rows = (panels.size() + columns - 1) / columns;
        int header = HEADER + (anyLimited ? 20 : 0); // the grey ring's key gets a line of its own
        BufferedImage image = new BufferedImage(columns * PANEL_WIDTH, header + rows * PANEL_HEIGHT, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, image.getWidth(), image.getHeight());
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 20));
        g.drawString(figure.title(), 16, 28);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 14));
        String key = !anyUnanswered ? "Every rung answered every client at every point shown."
                : switch (figure.unanswered()) {
                    case FLOOR -> "Hollow marker: the rung left clients unanswered; drawn at the floor, whatever the rest got.";
                    case CEILING -> "Hollow marker on the line: the percentile fell among unanswered messages ("
                            + figure.ceilingLabel() + "), a lower bound.";
                    case AS_IS -> "Hollow marker: the rung left clients unanswered at that point (a cost of serving only some).";
                };
        g.drawString(key, 16, 52);
        if (anyLimited) {
            g.drawString("Grey ring: the client fell behind its own schedule there (half the p99 or more is its own lag).",
                    16, 72);
        }
        for (int i = 0; i < panels.size(); i++) {
            g.drawImage(panels.get(i), (i % columns) * PANEL_WIDTH, header + (i / columns) * PANEL_HEIGHT, null);
        }
        g.dispose();
        ImageIO.write(image, "png", file.toFile());
    }

    /**
     * A bar per rung, coloured as on every chart, on a log axis when the bars span more than a factor of
     * 20 (a process per connection costs thousands of times what an event loop does). A rung in
     * {@code unanswered} left clients without a reply: its bar is drawn pale at the floor and its name
     * marked with ✗, whatever the clients it did answer got.
     */
    static void bars(Path file, String title, String yTitle, Map<String, Double> values, java.util.Set<String> unanswered)
            throws IOException {
        Map<String, Double> shown = new LinkedHashMap<>();
        values.forEach((rung, v) -> {
            if (v > 0 || unanswered.contains(rung)) {
                shown.put(rung, v);
            }
        });
        if (shown.isEmpty()) {
            return;
        }
        Axis y = Axis.of(shown.entrySet().stream().filter(e -> !unanswered.contains(e.getKey())).map(Map.Entry::getValue)
                .toList(), false, !unanswered.isEmpty());
        CategoryChart chart = new CategoryChartBuilder().width(COLUMNS * PANEL_WIDTH).height(PANEL_HEIGHT + 80)
                .title(unanswered.isEmpty() ? title : title + "  (✗: left clients unanswered, drawn pale at the floor)")
                .yAxisTitle(yTitle).build();
        var styler = chart.getStyler();
        styler.setLegendVisible(false);
        styler.setChartBackgroundColor(Color.WHITE);
        styler.setXAxisLabelRotation(30);
        styler.setOverlapped(true);
        styler.setYAxisLogarithmic(y.log());
        styler.setYAxisMin(y.min());
        styler.setYAxisMax(y.max());
        styler.setYAxisDecimalPattern(y.pattern());
        List<String> rungs = List.copyOf(shown.keySet());
        List<String> labels = rungs.stream().map(r -> unanswered.contains(r) ? "✗ " + r : r).toList();
        for (String rung : rungs) {
            boolean starved = unanswered.contains(rung);
            List<Double> column = rungs.stream().map(r -> !r.equals(rung) ? null : starved ? y.floor() : shown.get(r)).toList();
            Color colour = style(rung).colour();
            chart.addSeries(labels.get(rungs.indexOf(rung)), labels, column)
                    .setFillColor(starved ? new Color(colour.getRed(), colour.getGreen(), colour.getBlue(), 70) : colour);
        }
        BitmapEncoder.saveBitmap(chart, file.toString(), BitmapEncoder.BitmapFormat.PNG);
    }

    /**
     * One axis for every panel of a figure. Logarithmic when the values span more than a factor of 20,
     * from decade to decade, so that at least two decades are labelled, with plain numbers.
     */
    record Axis(boolean log, double min, double max, String pattern) {

        static Axis of(List<Double> values, boolean alwaysLog, boolean roomForFloor) {
            List<Double> positive = values.stream().filter(v -> v > 0 && Double.isFinite(v)).toList();
            double lo = positive.stream().mapToDouble(Double::doubleValue).min().orElse(1);
            double hi = positive.stream().mapToDouble(Double::doubleValue).max().orElse(10);
            boolean log = alwaysLog || hi / lo > 20;
            if (log && !roomForFloor && alwaysLog) {
                // The x axis: just beyond the points, its decades labelled in between.
                return new Axis(true, lo / 1.6, hi * 1.6, lo < 1 ? "#,##0.##" : "#,###");
            }
            if (log) {
                double min = Math.pow(10, Math.floor(Math.log10(lo)));
                if (roomForFloor && lo / min < 1.5) {
                    min /= 10; // room below the lowest point for the floor
                }
                double max = Math.pow(10, Math.ceil(Math.log10(hi * 1.05)));
                return new Axis(true, min, max, min < 1 ? "#,##0.##" : "#,###");
            }
            double step = Math.pow(10, Math.floor(Math.log10(hi)));
            double max = Math.ceil(hi * 1.1 / step) * step;
            return new Axis(false, 0, max, max < 10 ? "#,##0.##" : "#,###");
        }

        /** Where a point that left clients unanswered is drawn on a throughput chart: just above the bottom. */
        double floor() {
            return log ? min * 1.25 : max * 0.02;
        }
    }

    /** A grey ring around a point the client could not keep to its schedule for. */
    private static final class Ring extends Marker {
        @Override
        public void paint(Graphics2D g, double x, double y, int size) {
            double r = size + 2;
            g.setStroke(new BasicStroke(1.5f));
            g.draw(new Ellipse2D.Double(x - r, y - r, 2 * r, 2 * r));
        }
    }

    /** A marker of one of the five forms, solid or hollow (white inside, outlined in the rung's colour). */
    private static final class Glyph extends Marker {
        private final Form form;
        private final boolean hollow;

        Glyph(Form form, boolean hollow) {
            this.form = form;
            this.hollow = hollow;
        }

        @Override
        public void paint(Graphics2D g, double x, double y, int size) {
            double r = size / 2.0 + (hollow ? 1.5 : 0);
            Shape shape = switch (form) {
                case CIRCLE -> new Ellipse2D.Double(x - r, y - r, 2 * r, 2 * r);
                case SQUARE -> new Rectangle2D.Double(x - r * 0.9, y - r * 0.9, 1.8 * r, 1.8 * r);
                case DIAMOND -> polygon(x, y - r * 1.2, x + r * 1.2, y, x, y + r * 1.2, x - r * 1.2, y);
                case TRIANGLE -> polygon(x, y - r * 1.2, x + r * 1.1, y + r * 0.8, x - r * 1.1, y + r * 0.8);
                case CROSS -> polygon(x - r, y - r * 0.3, x - r * 0.3, y - r * 0.3, x - r * 0.3, y - r, x + r * 0.3, y - r,
                        x + r * 0.3, y - r * 0.3, x + r, y - r * 0.3, x + r, y + r * 0.3, x + r * 0.3, y + r * 0.3,
                        x + r * 0.3, y + r, x - r * 0.3, y + r, x - r * 0.3, y + r * 0.3, x - r, y + r * 0.3);
            };
            if (hollow) {
                Color colour = g.getColor();
                g.setColor(Color.WHITE);
                g.fill(shape);
                g.setColor(colour);
                g.setStroke(new BasicStroke(2.2f));
                g.draw(shape);
            } else {
                g.fill(shape);
            }
        }

        private static Shape polygon(double... xy) {
            Path2D.Double path = new Path2D.Double();
            path.moveTo(xy[0], xy[1]);
            for (int i = 2; i < xy.length; i += 2) {
                path.lineTo(xy[i], xy[i + 1]);
            }
            path.closePath();
            return path;
        }
    }
}
