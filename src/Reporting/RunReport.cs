using SamCluster.Messages;
using SamCluster.Experiment.Grid;
using SamCluster.Experiment;

namespace SamCluster.Reporting;

/// <summary>What a report is built from: every finished trial's row and, for the curves, every epoch's (null: none known).</summary>
public sealed record ReportRows(IReadOnlyList<TrialResultRow> Trials, IReadOnlyList<EpochResultRow>? Epochs);

/// <summary>The one entry point of reporting: from a run's rows (in memory at the end of a grid; read from trials.csv and
/// epochs.csv by `samcluster report`) to report.md, report.csv, report.json and curves/*.png.</summary>
public static class RunReport
{
    public const string Markdown = "report.md", Csv = "report.csv", Json = "report.json", CurvesFolder = "curves";

    /// <summary>Writes the report of <paramref name="rows"/> into <paramref name="folder"/> and returns it; report.md ends
    /// with the run's provenance (its run.json) when given.</summary>
    public static Report WriteAll(string folder, ReportRows rows, ReportOptions options, RunManifest? provenance = null)
    {
        var report = ReportBuilder.Build(rows.Trials, options);
        if (options.Curves)
        {
            var (notes, pictures) = WriteCurves(folder, rows, report);
            report = report with { Notes = [.. report.Notes, .. notes], Pictures = pictures };
        }
        DurableFile.WriteAllText(Path.Combine(folder, Csv), CsvReport.Write(report));
        DurableFile.WriteAllText(Path.Combine(folder, Json), JsonReport.Write(report));
        DurableFile.WriteAllText(Path.Combine(folder, Markdown), MarkdownReport.Write(report, provenance));
        return report;
    }

    /// <summary>As <see cref="WriteAll(string, ReportRows, ReportOptions, RunManifest?)"/>, from the folder's own tables
    /// (`samcluster report DIR --write`). Throws <see cref="UserInputException"/> for a missing or malformed table.</summary>
    public static Report WriteAll(string runDir, ReportOptions options, RunManifest? provenance = null)
    {
        if (!Directory.Exists(runDir)) throw new UserInputException($"{runDir}: run folder not found");
        return WriteAll(runDir, ReadFolder(runDir), options, provenance);
    }

    /// <summary>A run folder's trials.csv, and its epochs.csv where there is one.</summary>
    public static ReportRows ReadFolder(string runDir)
    {
        var epochs = Path.Combine(runDir, RunFiles.EpochsTable);
        return new ReportRows(ResultsCsv.ReadTrials(Path.Combine(runDir, RunFiles.TrialsTable)),
            File.Exists(epochs) ? ResultsCsv.ReadEpochs(epochs) : null);
    }

    /// <summary>Reads a run folder or a trials.csv path, as the `report` command accepts either.</summary>
    public static Report Build(string path, ReportOptions options)
    {
        var file = Directory.Exists(path) ? Path.Combine(path, RunFiles.TrialsTable) : path;
        if (!File.Exists(file))
            throw new UserInputException(Directory.Exists(path) ? $"{path}: run folder has no {RunFiles.TrialsTable}" : $"{path}: no such file or folder");
        return ReportBuilder.Build(ResultsCsv.ReadTrials(file), options);
    }

    /// <summary>A failure to draw (e.g. SkiaSharp's native library missing on this machine) only costs the pictures and is
    /// stated in the report; a full disk is thrown (nothing written after it would fit either). Returns the notes and
    /// the pictures written, for report.md to link (only those that exist).</summary>
    static (List<string> Notes, List<ReportPicture> Pictures) WriteCurves(string runDir, ReportRows rows, Report report)
    {
        var epochs = rows.Epochs;
        var notes = new List<string>();
        var pictures = new List<ReportPicture>();
        void Write(string file, byte[] png, ReportPicture picture)
        {
            DurableFile.WriteAllBytes(Path.Combine(runDir, CurvesFolder, file), png);
            pictures.Add(picture with { Path = $"{CurvesFolder}/{file}" });
        }
        if (epochs is null) notes.Add($"no {RunFiles.EpochsTable} in the run folder: learning-curve plots skipped");
        try
        {
            var curvesDir = Path.Combine(runDir, CurvesFolder);
            Directory.CreateDirectory(curvesDir);
            var curves = epochs is null ? [] : LearningCurve.From(epochs, rows.Trials);
            foreach (var group in report.Groups.Where(_ => epochs is not null))
            {
                var mine = curves.Where(c => c.Dataset == group.Dataset && c.Model == group.Model
                                             && c.Cell == RecipeAxes.ArmCell(c.Optimizer, group.Cell)).ToList();
                if (mine.Count == 0) { notes.Add($"{group.Label}: no epochs in {RunFiles.EpochsTable}, no learning-curve plot"); continue; }
                Write($"{Stem(group)}.png", Charts.LearningCurvePng(group.Dataset, group.Model, group.Cell, mine, report.Optimizers),
                    new ReportPicture("", $"{group.Label}: learning curves", group.Label));
            }
            // A comparison's paired differences need no epochs: they come from trials.csv.
            foreach (var group in report.Groups)
                foreach (var c in group.Comparisons)
                {
                    var pairs = RepeatPair.Of(group, c);
                    if (pairs.All(p => p.Difference is null)) continue;
                    Write($"{Stem(group)}_{Safe(c.Treatment)}-{Safe(c.Control)}_paired.png",
                        Charts.PairedDifferencesPng(Charts.Title(group.Dataset, group.Model) + (group.Cell is null ? "" : $" [{group.Cell}]"), c.Treatment, c.Control, pairs),
                        new ReportPicture("", $"{group.Label}: {MarkdownReport.Up(c.Treatment)} − {MarkdownReport.Up(c.Control)} per repeat", group.Label, c.Treatment));
                }
            Write("test_accuracy.png", Charts.TestAccuracyBarsPng(report), new ReportPicture("", "Test accuracy, mean and 95 % CI"));
            notes.AddRange(Charts.FontNotes());
        }
        catch (Exception e) when (e is not UserInputException && !DiskFull.Is(e))
        {
            notes.Add($"pictures not drawn: {e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")}");
        }
        return (notes, pictures);
    }

    /// <summary>"fashion-mnist_resnet18", with "_lr_0.01" for a recipe cell: a group's file names start so.</summary>
    static string Stem(ReportGroup group) =>
        $"{Safe(group.Dataset)}_{Safe(group.Model)}" + (group.Cell is null ? "" : "_" + Safe(group.Cell));

    static string Safe(string name) => string.Concat(name.Select(c => char.IsLetterOrDigit(c) || c is '-' or '.' ? c : '_'));
}
