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
    /// drawn, so overlapping bands stay apart), loss (train dashed, test solid) and the learning rate (log scale).</summary>
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
            foreach (var curve in ordered)
            {
                var color = ColorOf(curve.Optimizer, optimizers);
                var xs = Epochs(curve);
                var mean = curve.Points.Select(p => train ? p.TrainMean : p.TestMean).ToArray();
                var sd = curve.Points.Select(p => (train ? p.TrainSd : p.TestSd) ?? 0).ToArray();
                var low = mean.Zip(sd, (m, s) => m - s).ToArray();
                var high = mean.Zip(sd, (m, s) => m + s).ToArray();
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
                }
                Line(plot, xs, mean, color, $"{MarkdownReport.Up(curve.Optimizer)} (n = {curve.Repeats})", LinePattern.Solid);
            }
            Finish(plot, $"{title}: {(train ? "train" : "test")} accuracy, mean ± std", "accuracy (%)");
        }

        var loss = multiplot.GetPlot(2);
        foreach (var curve in ordered.Where(c => c.Points.All(p => p.TrainLoss is not null && p.TestLoss is not null)))
        {
            var color = ColorOf(curve.Optimizer, optimizers);
            Line(loss, Epochs(curve), curve.Points.Select(p => p.TrainLoss!.Value).ToArray(), color, $"{MarkdownReport.Up(curve.Optimizer)} train", LinePattern.Dashed);
            Line(loss, Epochs(curve), curve.Points.Select(p => p.TestLoss!.Value).ToArray(), color, $"{MarkdownReport.Up(curve.Optimizer)} test", LinePattern.Solid);
        }
        Finish(loss, $"{title}: cross-entropy loss, mean", "loss");

        var lr = multiplot.GetPlot(3);
        foreach (var curve in ordered.Where(c => c.Points.All(p => p.LearningRate is > 0)))
            Line(lr, Epochs(curve), curve.Points.Select(p => Math.Log10(p.LearningRate!.Value)).ToArray(),
                ColorOf(curve.Optimizer, optimizers), MarkdownReport.Up(curve.Optimizer), LinePattern.Solid);
        lr.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
        {
            IntegerTicksOnly = true,
            LabelFormatter = y => Math.Pow(10, y).ToString("0.#e+0", System.Globalization.CultureInfo.InvariantCulture),
        };
        Finish(lr, $"{title}: learning rate, mean (log scale)", "learning rate");
        return multiplot.Render(Width, 2 * Height).GetImageBytes(ImageFormat.Png);
    }

    static double[] Epochs(LearningCurve curve) => curve.Points.Select(p => (double)p.Epoch).ToArray();

    static void Line(Plot plot, double[] xs, double[] ys, Color color, string legend, LinePattern pattern)
    {
        var line = plot.Add.Scatter(xs, ys);
        line.Color = color;
        line.LineWidth = 2;
        line.MarkerSize = 4;
        line.LinePattern = pattern;
        line.LegendText = legend;
    }

    static void Finish(Plot plot, string title, string yLabel)
    {
        plot.Title(title);
        plot.XLabel("epoch");
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true }; // epochs are whole
        plot.YLabel(yLabel);
        plot.ShowLegend(Alignment.UpperRight);
        Style(plot);
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
