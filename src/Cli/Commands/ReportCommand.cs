using System.CommandLine;
using SamCluster.Reporting;
using SamCluster.Messages;
using SamCluster.RunStore;

namespace SamCluster.Cli.Commands;

/// <summary>`samcluster report PATH`: the statistics table of a run folder (or a trials.csv) on stdout; with --write,
/// also (re)writes report.md/csv/json and curves/*.png into the run folder, as the coordinator does at the end of a run.
/// A run folder of a sequential run (run.json's `sequential`) is reported with its looks.</summary>
public static class ReportCommand
{
    public static Command Create()
    {
        var path = new Argument<string>("run-dir|trials.csv") { Description = "A run folder (its trials.csv is read) or a trials.csv file." };
        // Values are checked in the action, not with AcceptOnlyFromAmong, so a bad one is a single-line UserInputException.
        var format = new Option<string>("--format") { Description = "Output format: md, csv or json.", DefaultValueFactory = _ => "md" };
        var alternative = new Option<string>("--alternative")
        {
            Description = "Alternative hypothesis for each optimizer vs SGD on test accuracy: greater (one-sided SAM > SGD), two-sided or less.",
            DefaultValueFactory = _ => "greater",
        };
        var test = new Option<string>("--test")
        {
            Description = "Statistical test: welch, student (pooled), paired (by repeat) or mann-whitney.",
            DefaultValueFactory = _ => "welch",
        };
        var write = new Option<bool>("--write")
        {
            Description = "Also write report.md, report.csv, report.json and curves/*.png into the run folder.",
        };

        var command = new Command("report", "Statistics of a run: per (dataset, model) mean ± std per optimizer and a test of each optimizer vs SGD, with its power (smallest detectable difference now, repeats needed for the observed one).")
        {
            path, format, alternative, test, write,
        };
        command.SetAction(parse => Program.Run(() =>
        {
            var options = new ReportOptions(
                ReportOptions.ParseAlternative(parse.GetValue(alternative)!),
                ReportOptions.ParseTest(parse.GetValue(test)!));
            var outputFormat = parse.GetValue(format)!.Trim().ToLowerInvariant();
            if (outputFormat is not ("md" or "csv" or "json"))
                throw new UserInputException($"--format must be md, csv or json, got '{parse.GetValue(format)}'");
            var target = parse.GetValue(path)!;
            // A run folder's run.json says whether the run followed a sequential design; a trials.csv alone has none.
            var run = Directory.Exists(target) ? RunManifestFile.TryRead(target) : null;
            if (run?.Sequential?.Problem() is { } problem)
                throw new UserInputException($"{Path.Combine(target, RunManifestFile.FileName)}: its 'sequential' is no design ({problem}); refusing to state looks from it");
            options = options with { Sequential = run?.Sequential };
            Report report;
            if (parse.GetValue(write))
            {
                if (!Directory.Exists(target)) throw new UserInputException($"{target}: --write needs a run folder");
                report = RunReport.WriteAll(target, options, run);
                Console.Error.WriteLine(ConsoleText.Escape($"wrote {RunReport.Markdown}, {RunReport.Csv}, {RunReport.Json} and {RunReport.CurvesFolder}/*.png in {target}"));
            }
            else report = RunReport.Build(target, options);
            // Free text of the table (a failed trial's reason) may hold what a terminal obeys: shown, not obeyed. JSON
            // escapes control characters itself; its \u escapes must stay as they are.
            Console.Out.Write(outputFormat switch
            {
                "csv" => ConsoleText.EscapeLines(CsvReport.Write(report)),
                "json" => JsonReport.Write(report),
                _ => ConsoleText.EscapeLines(MarkdownReport.Write(report)),
            });
            return Program.Ok;
        }));
        return command;
    }
}
