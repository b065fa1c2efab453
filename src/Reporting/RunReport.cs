using SamCluster.Messages;
using SamCluster.Experiment.Grid;
using SamCluster.Experiment;

namespace SamCluster.Reporting;

/// <summary>The one entry point of reporting: reads a run folder's trials.csv (and epochs.csv for the curves) and writes
/// report.md, report.csv, report.json and curves/*.png into it.</summary>
public static class RunReport
{
    public const string Markdown = "report.md", Csv = "report.csv", Json = "report.json", CurvesFolder = "curves";

    /// <summary>Returns the report it wrote; report.md ends with the run's provenance (its run.json) when given. Throws <see cref="UserInputException"/> for a missing or malformed input file.</summary>
    public static Report WriteAll(string runDir, ReportOptions options, RunManifest? provenance = null)
    {
        if (!Directory.Exists(runDir)) throw new UserInputException($"{runDir}: run folder not found");
        var trials = ResultsCsv.ReadTrials(Path.Combine(runDir, ResultsCsv.TrialsFile));
        var report = ReportBuilder.Build(trials, options);
        if (options.Curves)
            report = report with { Notes = [.. report.Notes, .. WriteCurves(runDir, trials, report)] };
        DurableFile.WriteAllText(Path.Combine(runDir, Csv), CsvReport.Write(report));
        DurableFile.WriteAllText(Path.Combine(runDir, Json), JsonReport.Write(report));
        DurableFile.WriteAllText(Path.Combine(runDir, Markdown), MarkdownReport.Write(report, provenance));
        return report;
    }

    /// <summary>Reads a run folder or a trials.csv path, as the `report` command accepts either.</summary>
    public static Report Build(string path, ReportOptions options)
    {
        var file = Directory.Exists(path) ? Path.Combine(path, ResultsCsv.TrialsFile) : path;
        if (!File.Exists(file))
            throw new UserInputException(Directory.Exists(path) ? $"{path}: run folder has no {ResultsCsv.TrialsFile}" : $"{path}: no such file or folder");
        return ReportBuilder.Build(ResultsCsv.ReadTrials(file), options);
    }

    /// <summary>Bad epochs.csv content is the user's to fix (thrown before anything is written); a failure to draw
    /// (e.g. SkiaSharp's native library missing on this machine) only costs the pictures and is stated in the report; a
    /// full disk is thrown (nothing written after it would fit either).</summary>
    static IEnumerable<string> WriteCurves(string runDir, IReadOnlyList<TrialResultRow> trials, Report report)
    {
        var epochsPath = Path.Combine(runDir, ResultsCsv.EpochsFile);
        var epochs = File.Exists(epochsPath) ? ResultsCsv.ReadEpochs(epochsPath) : null;
        var notes = new List<string>();
        if (epochs is null) notes.Add($"no {ResultsCsv.EpochsFile} in the run folder: learning-curve plots skipped");
        try
        {
            var curvesDir = Path.Combine(runDir, CurvesFolder);
            Directory.CreateDirectory(curvesDir);
            var curves = epochs is null ? [] : LearningCurve.From(epochs, trials);
            foreach (var group in report.Groups.Where(_ => epochs is not null))
            {
                var mine = curves.Where(c => c.Dataset == group.Dataset && c.Model == group.Model
                                             && c.Cell == RecipeAxes.ArmCell(c.Optimizer, group.Cell)).ToList();
                if (mine.Count == 0) { notes.Add($"{group.Label}: no epochs in {ResultsCsv.EpochsFile}, no learning-curve plot"); continue; }
                var cell = group.Cell is null ? "" : "_" + Safe(group.Cell);
                DurableFile.WriteAllBytes(Path.Combine(curvesDir, $"{Safe(group.Dataset)}_{Safe(group.Model)}{cell}.png"),
                    Charts.LearningCurvePng(group.Dataset, group.Model, group.Cell, mine, report.Optimizers));
            }
            DurableFile.WriteAllBytes(Path.Combine(curvesDir, "test_accuracy.png"), Charts.TestAccuracyBarsPng(report));
            notes.AddRange(Charts.FontNotes());
        }
        catch (Exception e) when (e is not UserInputException && !DiskFull.Is(e))
        {
            notes.Add($"pictures not drawn: {e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")}");
        }
        return notes;
    }

    static string Safe(string name) => string.Concat(name.Select(c => char.IsLetterOrDigit(c) || c is '-' or '.' ? c : '_'));
}
