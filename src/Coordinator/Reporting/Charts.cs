using ScottPlot;

namespace SamCluster.Coordinator.Reporting;

/// <summary>The report's pictures (ScottPlot 5): learning curves like the study's Figures 9/10 and a bar chart of test
/// accuracy per (dataset, model, optimizer).</summary>
public static class Charts
{
    const int Width = 1200, Height = 500;

    /// <summary>Left: train accuracy per epoch, right: test accuracy; per optimizer the mean over repeats and a ±1 std band.</summary>
    public static byte[] LearningCurvePng(string dataset, string model, IReadOnlyList<LearningCurve> curves, IReadOnlyList<string> optimizers)
    {
        EnsureFont();
        var multiplot = new Multiplot();
        multiplot.AddPlots(2);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Columns();
        var panels = new[] { (Plot: multiplot.GetPlot(0), Train: true), (Plot: multiplot.GetPlot(1), Train: false) };
        foreach (var (plot, train) in panels)
        {
            foreach (var curve in curves.OrderBy(c => OrderOf(c.Optimizer, optimizers)))
            {
                var color = ColorOf(curve.Optimizer, optimizers);
                var xs = curve.Points.Select(p => (double)p.Epoch).ToArray();
                var mean = curve.Points.Select(p => train ? p.TrainMean : p.TestMean).ToArray();
                var sd = curve.Points.Select(p => (train ? p.TrainSd : p.TestSd) ?? 0).ToArray();
                var band = plot.Add.FillY(xs, mean.Zip(sd, (m, s) => m - s).ToArray(), mean.Zip(sd, (m, s) => m + s).ToArray());
                band.FillColor = color.WithAlpha(0.2);
                band.LineColor = Colors.Transparent;
                var line = plot.Add.Scatter(xs, mean);
                line.Color = color;
                line.LineWidth = 2;
                line.MarkerSize = 4;
                line.LegendText = $"{curve.Optimizer.ToUpperInvariant()} (n = {curve.Repeats})";
            }
            plot.Title($"{dataset} / {model}: {(train ? "train" : "test")} accuracy, mean ± std over repeats");
            plot.XLabel("epoch");
            plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true }; // epochs are whole
            plot.YLabel("accuracy (%)");
            plot.ShowLegend(Alignment.LowerRight);
            Style(plot);
        }
        return multiplot.Render(Width, Height).GetImageBytes(ImageFormat.Png);
    }

    /// <summary>Bars: mean test accuracy per model and optimizer, error bars ±1 std, one panel per dataset. Each panel's
    /// y axis starts just below its lowest bar (said in its title) so differences of a fraction of a point stay visible.</summary>
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
            double low = double.MaxValue, high = double.MinValue;
            for (var gi = 0; gi < groups.Count; gi++)
            {
                ticks.Add(new Tick(gi * (perGroup + 1) + (perGroup - 1) / 2.0, groups[gi].Model));
                for (var oi = 0; oi < perGroup; oi++)
                {
                    if (groups[gi].Arm(report.Optimizers[oi])?.Test is not { } test) continue;
                    var sd = test.N > 1 ? test.Sd : 0;
                    plot.Add.Bar(new Bar
                    {
                        Position = gi * (perGroup + 1) + oi,
                        Value = test.Mean,
                        Error = sd,
                        FillColor = ColorOf(report.Optimizers[oi], report.Optimizers),
                    });
                    low = Math.Min(low, test.Mean - sd);
                    high = Math.Max(high, test.Mean + sd);
                }
            }
            plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks.ToArray());
            plot.Axes.Bottom.MajorTickStyle.Length = 0;
            plot.YLabel("test accuracy (%), mean ± std");
            plot.Legend.ManualItems.AddRange(report.Optimizers.Select(o => new LegendItem
            {
                LabelText = o.ToUpperInvariant(),
                FillColor = ColorOf(o, report.Optimizers),
            }));
            plot.ShowLegend(Edge.Bottom);
            Style(plot);
            var title = $"{datasets[di]}: test accuracy";
            if (low <= high)
            {
                var pad = Math.Max(0.2, (high - low) * 0.25);
                var bottom = Math.Max(0, low - pad);
                plot.Axes.SetLimitsY(bottom, high + pad);
                if (bottom > 0) title += $" (axis from {bottom.ToString("0.#", System.Globalization.CultureInfo.InvariantCulture)})";
            }
            plot.Title(title);
        }
        return multiplot.Render(Math.Max(600, 560 * datasets.Count), Height).GetImageBytes(ImageFormat.Png);
    }

    static void Style(Plot plot)
    {
        if (fontName is not null) plot.Font.Set(fontName);
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
    static bool fontChecked;
    static string? fontName;

    static void EnsureFont()
    {
        lock (FontLock)
        {
            if (fontChecked) return;
            fontChecked = true;
            var file = FontCandidates.FirstOrDefault(File.Exists)
                       ?? (Directory.Exists("/usr/share/fonts")
                           ? Directory.EnumerateFiles("/usr/share/fonts", "*.ttf", SearchOption.AllDirectories).Order().FirstOrDefault()
                           : null);
            if (file is null) return;
            fontName = "SamClusterReportFont";
            Fonts.AddFontFile(fontName, file);
        }
    }

    /// <summary>Says so in the report when no font file was found (text in the PNGs may then be missing).</summary>
    public static IEnumerable<string> FontNotes()
    {
        EnsureFont();
        return fontName is null && !OperatingSystem.IsWindows() && !OperatingSystem.IsMacOS()
            ? ["no TrueType font found under /usr/share/fonts: text in the PNGs may not render (install fonts-dejavu-core)"]
            : [];
    }
}
