using ScottPlot;
using SamCluster.Experiment;

namespace SamCluster.Reporting;

/// <summary>The report's pictures (ScottPlot 5): learning curves like the study's Figures 9/10 (with loss and learning
/// rate) and a dot plot of test accuracy with 95 % confidence intervals per (dataset, model, optimizer).</summary>
public static class Charts
{
    const int Width = 1200, Height = 500;

    /// <summary>"Fashion-MNIST · ResNet-18" (the vocabulary's titles; a name it does not know is shown as given).</summary>
    public static string Title(string dataset, string model) =>
        $"{Experiment.Vocabulary.FindDataset(dataset)?.Title ?? dataset} · {Experiment.Vocabulary.FindModel(model)?.Title ?? model}";

    /// <summary>Four panels: train and test accuracy (per optimizer the mean over repeats, a ±1 std band with its edges
    /// drawn, so overlapping bands stay apart), loss (train dashed, test solid) and the learning rate (log scale). Each
    /// legend states n; where n falls (a running repeat has not reached an epoch yet, <see cref="CurvePoint.Partial"/>)
    /// the mean goes on dashed with open markers and the new n is written at the point; a lone epoch shows its spread
    /// as an error bar; each legend sits where <see cref="LegendPlacement"/> finds no data.</summary>
    /// <param name="cell">The recipe values of this comparison, shown under the title; null when nothing varies.</param>
    public static byte[] LearningCurvePng(string dataset, string model, string? cell, IReadOnlyList<LearningCurve> curves,
        IReadOnlyList<string> optimizers)
    {
        EnsureFont();
        var multiplot = new Multiplot();
        multiplot.AddPlots(4);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Grid(2, 2);
        var title = Title(dataset, model) + (cell is null ? "" : $" [{cell}]");
        var ordered = curves.OrderBy(c => OrderOf(c.Optimizer, optimizers)).ToList();
        foreach (var (plot, train) in new[] { (multiplot.GetPlot(0), true), (multiplot.GetPlot(1), false) })
        {
            var drawn = new List<IReadOnlyList<(double, double)>>();
            var partialSaid = false;
            foreach (var (curve, index) in ordered.Select((c, i) => (c, i)))
            {
                var color = ColorOf(curve.Optimizer, optimizers);
                var xs = Epochs(curve);
                // Lone epochs side by side (a tenth of an epoch apart), so no error bar hides another.
                if (xs.Length == 1) xs = [xs[0] + (index - (ordered.Count - 1) / 2.0) * 0.1];
                var mean = curve.Points.Select(p => train ? p.TrainMean : p.TestMean).ToArray();
                var sd = curve.Points.Select(p => (train ? p.TrainSd : p.TestSd) ?? 0).ToArray();
                var low = mean.Zip(sd, (m, s) => m - s).ToArray();
                var high = mean.Zip(sd, (m, s) => m + s).ToArray();
                var legend = $"{MarkdownReport.Up(curve.Optimizer)} ({curve.NText})";
                if (xs.Length == 1)
                {
                    // One epoch: a band has no width, so the spread is an error bar.
                    var bar = plot.Add.ErrorBar(xs, mean, sd);
                    bar.Color = color;
                    bar.LineWidth = 2;
                    Line(plot, xs, mean, color, legend, LinePattern.Solid).MarkerSize = 9;
                    drawn.Add([(xs[0], low[0])]);
                    drawn.Add([(xs[0], high[0])]);
                    continue;
                }
                var band = plot.Add.FillY(xs, low, high);
                band.FillColor = color.WithAlpha(0.15);
                band.LineColor = Colors.Transparent;
                foreach (var edge in new[] { low, high })
                {
                    var line = plot.Add.Scatter(xs, edge);
                    line.Color = color.WithAlpha(0.6);
                    line.LineWidth = 1;
                    line.MarkerSize = 0;
                    line.LinePattern = LinePattern.Dotted;
                    drawn.Add(xs.Zip(edge).ToList());
                }
                // The mean over every repeat solid; from the first epoch some repeat has not reached, dashed and open.
                var full = curve.Points.TakeWhile(p => !p.Partial).Count();
                if (full > 0) Line(plot, xs[..full], mean[..full], color, legend, LinePattern.Solid);
                if (full < xs.Length)
                {
                    var from = Math.Max(0, full - 1);
                    var rest = plot.Add.Scatter(xs[from..], mean[from..]);
                    rest.Color = color;
                    rest.LineWidth = 2;
                    rest.LinePattern = LinePattern.Dashed;
                    rest.MarkerSize = 0;
                    if (full == 0) rest.LegendText = legend;
                    var open = plot.Add.Scatter(xs[full..], mean[full..]);
                    open.Color = color;
                    open.LineWidth = 0;
                    open.MarkerShape = MarkerShape.OpenCircle;
                    open.MarkerSize = 8;
                    if (!partialSaid) open.LegendText = "open, dashed: not every repeat yet";
                    partialSaid = true;
                }
                // Where n changes, the new n at the point.
                for (var i = 1; i < curve.Points.Count; i++)
                    if (curve.Points[i].N != curve.Points[i - 1].N)
                    {
                        var label = plot.Add.Text($"n = {curve.Points[i].N}", xs[i], mean[i]);
                        label.LabelFontColor = color;
                        label.LabelFontSize = 11;
                        label.LabelOffsetY = -18;
                        label.LabelBackgroundColor = Colors.White.WithAlpha(0.8);
                    }
                drawn.Add(xs.Zip(mean).ToList());
            }
            Finish(plot, $"{title}: {(train ? "train" : "test")} accuracy, mean ± std", "accuracy (%)", drawn);
        }

        var loss = multiplot.GetPlot(2);
        var lossDrawn = new List<IReadOnlyList<(double, double)>>();
        foreach (var curve in ordered.Where(c => c.Points.All(p => p.TrainLoss is not null && p.TestLoss is not null)))
        {
            var color = ColorOf(curve.Optimizer, optimizers);
            var (trainLoss, testLoss) = (curve.Points.Select(p => p.TrainLoss!.Value).ToArray(), curve.Points.Select(p => p.TestLoss!.Value).ToArray());
            Line(loss, Epochs(curve), trainLoss, color, $"{MarkdownReport.Up(curve.Optimizer)} train ({curve.NText})", LinePattern.Dashed);
            Line(loss, Epochs(curve), testLoss, color, $"{MarkdownReport.Up(curve.Optimizer)} test", LinePattern.Solid);
            lossDrawn.Add(Epochs(curve).Zip(trainLoss).ToList());
            lossDrawn.Add(Epochs(curve).Zip(testLoss).ToList());
            OpenMarkers(loss, curve, trainLoss, color);
            OpenMarkers(loss, curve, testLoss, color);
        }
        Finish(loss, $"{title}: cross-entropy loss, mean", "loss", lossDrawn);

        var lr = multiplot.GetPlot(3);
        var lrDrawn = new List<IReadOnlyList<(double, double)>>();
        foreach (var curve in ordered.Where(c => c.Points.All(p => p.LearningRate is > 0)))
        {
            var logs = curve.Points.Select(p => Math.Log10(p.LearningRate!.Value)).ToArray();
            Line(lr, Epochs(curve), logs, ColorOf(curve.Optimizer, optimizers), $"{MarkdownReport.Up(curve.Optimizer)} ({curve.NText})", LinePattern.Solid);
            lrDrawn.Add(Epochs(curve).Zip(logs).ToList());
            OpenMarkers(lr, curve, logs, ColorOf(curve.Optimizer, optimizers));
        }
        lr.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
        {
            IntegerTicksOnly = true,
            LabelFormatter = y => Math.Pow(10, y).ToString("0.#e+0", System.Globalization.CultureInfo.InvariantCulture),
        };
        Finish(lr, $"{title}: learning rate, mean (log scale)", "learning rate", lrDrawn);
        return multiplot.Render(Width, 2 * Height).GetImageBytes(ImageFormat.Png);
    }

    /// <summary>One comparison's paired differences (treatment − control test accuracy, pp), a dot per repeat (SGD and
    /// SAM of a repeat share seed, initial weights and data order), against a zero line, with the mean difference and
    /// its 95 % paired-t interval. The x axis names the repeats that have no pair.</summary>
    public static byte[] PairedDifferencesPng(string title, string treatment, string control, IReadOnlyList<RepeatPair> pairs)
    {
        EnsureFont();
        var plot = new Plot();
        var paired = pairs.Where(p => p.Difference is not null).ToList();
        var xs = paired.Select(p => (double)p.Repeat).ToArray();
        var ds = paired.Select(p => p.Difference!.Value).ToArray();
        var drawn = new List<IReadOnlyList<(double, double)>>();
        double lo = pairs.Count == 0 ? 0 : pairs.Min(p => p.Repeat) - 0.5, hi = pairs.Count == 0 ? 1 : pairs.Max(p => p.Repeat) + 0.5;
        var zero = plot.Add.Scatter(new[] { lo, hi }, new[] { 0.0, 0.0 });
        zero.Color = Colors.Gray;
        zero.LineWidth = 1;
        zero.MarkerSize = 0;
        zero.LinePattern = LinePattern.Dashed;
        zero.LegendText = "no difference";
        drawn.Add([(lo, 0), (hi, 0)]);
        var (t, c) = (MarkdownReport.Up(treatment), MarkdownReport.Up(control));
        if (ds.Length > 0)
        {
            var summary = SampleSummary.Of(ds);
            var mean = plot.Add.Scatter(new[] { lo, hi }, new[] { summary.Mean, summary.Mean });
            mean.Color = Colors.DarkOrange;
            mean.LineWidth = 2;
            mean.MarkerSize = 0;
            var label = $"mean {Verdict.Pp(summary.Mean)} pp";
            if (summary.N > 1)
            {
                var half = PowerAnalysis.TQuantile(summary.N - 1, 0.975) * summary.Sd / Math.Sqrt(summary.N);
                var band = plot.Add.FillY(new[] { lo, hi }, new[] { summary.Mean - half, summary.Mean - half }, new[] { summary.Mean + half, summary.Mean + half });
                band.FillColor = Colors.DarkOrange.WithAlpha(0.15);
                band.LineColor = Colors.Transparent;
                label += $", paired 95 % CI [{Verdict.Pp(summary.Mean - half)}, {Verdict.Pp(summary.Mean + half)}]";
                drawn.Add([(lo, summary.Mean - half), (hi, summary.Mean - half)]);
                drawn.Add([(lo, summary.Mean + half), (hi, summary.Mean + half)]);
            }
            mean.LegendText = label;
            drawn.Add([(lo, summary.Mean), (hi, summary.Mean)]);
            var dots = plot.Add.Scatter(xs, ds);
            dots.Color = Colors.SteelBlue;
            dots.LineWidth = 0;
            dots.MarkerSize = 9;
            dots.LegendText = $"one repeat (n = {ds.Length} pairs)";
            drawn.AddRange(xs.Zip(ds).Select(p => (IReadOnlyList<(double, double)>)[p]));
        }
        var missing = pairs.Where(p => p.Difference is null).Select(p => p.Repeat.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Finish(plot, $"{title}: {t} − {c} per repeat", $"{t} − {c} test accuracy (pp)", drawn, 800, 450);
        plot.XLabel(missing.Count == 0 ? "repeat" : $"repeat (no pair: {string.Join(", ", missing)})");
        return plot.GetImageBytes(800, 450, ImageFormat.Png);
    }

    /// <summary>Open markers on the points of a mean line that not every repeat has reached yet.</summary>
    static void OpenMarkers(Plot plot, LearningCurve curve, double[] ys, Color color)
    {
        var partial = curve.Points.Select((p, i) => (p, i)).Where(x => x.p.Partial).Select(x => x.i).ToList();
        if (partial.Count == 0) return;
        var open = plot.Add.Scatter(partial.Select(i => (double)curve.Points[i].Epoch).ToArray(), partial.Select(i => ys[i]).ToArray());
        open.Color = color;
        open.LineWidth = 0;
        open.MarkerShape = MarkerShape.OpenCircle;
        open.MarkerSize = 8;
    }

    static double[] Epochs(LearningCurve curve) => curve.Points.Select(p => (double)p.Epoch).ToArray();

    static ScottPlot.Plottables.Scatter Line(Plot plot, double[] xs, double[] ys, Color color, string legend, LinePattern pattern)
    {
        var line = plot.Add.Scatter(xs, ys);
        line.Color = color;
        line.LineWidth = 2;
        line.MarkerSize = 4;
        line.LinePattern = pattern;
        line.LegendText = legend;
        return line;
    }

    /// <param name="drawn">Every line drawn, in data units, for the legend's place.</param>
    /// <param name="width">The panel's size in pixels (a quarter of the learning-curve picture by default).</param>
    static void Finish(Plot plot, string title, string yLabel, IReadOnlyList<IReadOnlyList<(double X, double Y)>> drawn,
        int width = Width / 2, int height = Height)
    {
        plot.Title(title);
        plot.XLabel("epoch");
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true }; // epochs are whole
        plot.YLabel(yLabel);
        Style(plot);
        plot.Axes.AutoScale();
        var limits = plot.Axes.GetLimits();
        if (limits.Right - limits.Left < 1.5)   // a lone epoch: half an epoch of room each side, not the dodge's width
        {
            var center = Math.Round((limits.Left + limits.Right) / 2);
            plot.Axes.SetLimitsX(center - 0.6, center + 0.6);
            limits = plot.Axes.GetLimits();
        }
        double Fx(double x) => limits.Right > limits.Left ? (x - limits.Left) / (limits.Right - limits.Left) : 0.5;
        double Fy(double y) => limits.Top > limits.Bottom ? (y - limits.Bottom) / (limits.Top - limits.Bottom) : 0.5;
        var lines = drawn.Select(l => (IReadOnlyList<(double, double)>)l.Select(p => (Fx(p.X), Fy(p.Y))).ToList());
        // The legend's size, estimated from its text (ScottPlot lays it out only when rendering): rows of about 18 px,
        // about 7 px a character plus the swatch, over a data area of the panel less its axes and title.
        var labels = plot.GetPlottables().Select(p => p.LegendItems.Select(i => i.LabelText)).SelectMany(x => x)
            .Where(l => !string.IsNullOrEmpty(l)).ToList();
        if (labels.Count == 0) return;
        var (areaWidth, areaHeight) = (Math.Max(100, width - 90), Math.Max(100, height - 90));
        var spot = LegendPlacement.Choose(lines, (labels.Max(l => l.Length) * 7.0 + 45) / areaWidth, (labels.Count * 18.0 + 12) / areaHeight);
        switch (spot)
        {
            case LegendSpot.UpperLeft: plot.ShowLegend(Alignment.UpperLeft); break;
            case LegendSpot.LowerRight: plot.ShowLegend(Alignment.LowerRight); break;
            case LegendSpot.LowerLeft: plot.ShowLegend(Alignment.LowerLeft); break;
            case LegendSpot.UpperRight: plot.ShowLegend(Alignment.UpperRight); break;
            default: plot.ShowLegend(Edge.Bottom); break;   // below the data area: under the x label, on no data
        }
    }

    /// <summary>A dot per (model, optimizer) at the mean test accuracy with its 95 % confidence interval (t, n − 1 df),
    /// one panel per dataset. Dots carry no area, so an axis that does not start at zero does not exaggerate a gap the
    /// way bars would; the intervals show how far apart the arms really are.</summary>
    public static byte[] TestAccuracyBarsPng(Report report)
    {
        EnsureFont();
        var datasets = report.Groups.Select(g => g.Dataset).Distinct().ToList();
        var multiplot = new Multiplot();
        multiplot.AddPlots(Math.Max(1, datasets.Count));
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Columns();
        var perGroup = report.Optimizers.Count;
        for (var di = 0; di < datasets.Count; di++)
        {
            var plot = multiplot.GetPlot(di);
            var groups = report.Groups.Where(g => g.Dataset == datasets[di]).ToList();
            var ticks = new List<Tick>();
            for (var gi = 0; gi < groups.Count; gi++)
            {
                var label = Experiment.Vocabulary.FindModel(groups[gi].Model)?.Title ?? groups[gi].Model;
                ticks.Add(new Tick(gi * (perGroup + 1) + (perGroup - 1) / 2.0, groups[gi].Cell is null ? label : $"{label}\n{groups[gi].Cell}"));
                for (var oi = 0; oi < perGroup; oi++)
                {
                    if (groups[gi].Arm(report.Optimizers[oi])?.Test is not { } test) continue;
                    var x = gi * (perGroup + 1) + oi;
                    var color = ColorOf(report.Optimizers[oi], report.Optimizers);
                    var half = test.N > 1 ? MathNet.Numerics.Distributions.StudentT.InvCDF(0, 1, test.N - 1, 0.975) * test.Sd / Math.Sqrt(test.N) : 0;
                    var interval = plot.Add.ErrorBar(new double[] { x }, new double[] { test.Mean }, new double[] { half });
                    interval.Color = color;
                    interval.LineWidth = 2;
                    var dot = plot.Add.Scatter(new double[] { x }, new double[] { test.Mean });
                    dot.Color = color;
                    dot.MarkerSize = 10;
                    dot.LineWidth = 0;
                }
            }
            plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks.ToArray());
            plot.Axes.Bottom.MajorTickStyle.Length = 0;
            plot.YLabel("test accuracy (%), mean and 95% CI");
            plot.Legend.ManualItems.AddRange(report.Optimizers.Select(o => new LegendItem
            {
                LabelText = MarkdownReport.Up(o),
                FillColor = ColorOf(o, report.Optimizers),
            }));
            plot.ShowLegend(Edge.Bottom);
            Style(plot);
            plot.Title($"{Experiment.Vocabulary.FindDataset(datasets[di])?.Title ?? datasets[di]}: test accuracy");
            plot.Axes.Margins(bottom: 0.1, top: 0.1);
        }
        return multiplot.Render(Math.Max(600, 560 * datasets.Count), Height).GetImageBytes(ImageFormat.Png);
    }

    static void Style(Plot plot)
    {
        if (FontName is not null) plot.Font.Set(FontName);
        plot.Axes.Margins(bottom: 0.02, top: 0.05);
    }

    static readonly Color[] Palette = [Colors.SteelBlue, Colors.DarkOrange, Colors.SeaGreen, Colors.Crimson, Colors.Purple, Colors.SaddleBrown];

    static int OrderOf(string optimizer, IReadOnlyList<string> optimizers) =>
        optimizers.ToList().IndexOf(optimizer) is var i and >= 0 ? i : optimizers.Count;

    static Color ColorOf(string optimizer, IReadOnlyList<string> optimizers) =>
        Palette[OrderOf(optimizer, optimizers) % Palette.Length];

    // SkiaSharp's NoDependencies build has no fontconfig, so system font names may resolve to an empty typeface and
    // text would vanish; registering a font file by path makes text render wherever one of these fonts is installed.
    static readonly string[] FontCandidates =
    [
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/TTF/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
        "/usr/share/fonts/liberation-sans/LiberationSans-Regular.ttf",
    ];

    static readonly object FontLock = new();
    static bool FontChecked;
    static string? FontName;

    static void EnsureFont()
    {
        lock (FontLock)
        {
            if (FontChecked) return;
            FontChecked = true;
            var file = FontCandidates.FirstOrDefault(File.Exists)
                       ?? (Directory.Exists("/usr/share/fonts")
                           ? Directory.EnumerateFiles("/usr/share/fonts", "*.ttf", SearchOption.AllDirectories).Order().FirstOrDefault()
                           : null);
            if (file is null) return;
            FontName = "SamClusterReportFont";
            Fonts.AddFontFile(FontName, file);
        }
    }

    /// <summary>Says so in the report when no font file was found (text in the PNGs may then be missing).</summary>
    public static IEnumerable<string> FontNotes()
    {
        EnsureFont();
        return FontName is null && !OperatingSystem.IsWindows() && !OperatingSystem.IsMacOS()
            ? ["no TrueType font found under /usr/share/fonts: text in the PNGs may not render (install fonts-dejavu-core)"]
            : [];
    }
}
