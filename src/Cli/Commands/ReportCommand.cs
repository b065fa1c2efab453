using System.CommandLine;
using SamCluster.Reporting;
using SamCluster.Messages;
using SamCluster.RunStore;
using SamCluster.Experiment;

namespace SamCluster.Cli.Commands;

/// <summary>`samcluster report RUN_DIR|trials.csv`: the statistics table of a run folder (or a trials.csv) on stdout; with --write,
/// also (re)writes report.md/csv/json and curves/*.png into the run folder, as the coordinator does at the end of a run.
/// A run folder of a sequential run (run.json's `sequential`) is reported with its looks.</summary>
public static class ReportCommand
{
    public static Command Create()
    {
        var path = new Argument<string[]>("run-dir|trials.csv")
        {
            Description = "A run folder (its trials.csv is read) or a trials.csv file; two of them with --compare.",
            Arity = new ArgumentArity(1, 2),
        };
        // A second run folder may be taken from a stray flag ("--tls-password=…" given to report): refused as the parser
        // refuses an unknown flag, its value masked, rather than read as a run.
        path.Validators.Add(result =>
        {
            if (result.Tokens.Skip(1).FirstOrDefault(t => t.Value.StartsWith('-')) is { } flag)
                result.AddError($"Unrecognized command or argument '{SecretOptions.MaskUnmatched(flag.Value)}'.");
        });
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

        var compare = new Option<bool>("--compare")
        {
            Description = "With two run folders: both runs' comparisons side by side (Markdown), each with its verdict.",
        };

        var command = new Command("report", "Statistics of a run: per (dataset, model) mean ± std per optimizer and a test of each optimizer vs SGD, with its power (smallest detectable difference now, repeats needed for the observed one).")
        {
            path, format, alternative, test, write, compare,
        };
        command.SetAction(parse => Program.Run(() =>
        {
            var options = new ReportOptions(
                ReportOptions.ParseAlternative(parse.GetValue(alternative)!),
                ReportOptions.ParseTest(parse.GetValue(test)!));
            var outputFormat = parse.GetValue(format)!.Trim().ToLowerInvariant();
            if (outputFormat is not ("md" or "csv" or "json"))
                throw new UserInputException($"--format must be md, csv or json, got '{parse.GetValue(format)}'");
            var paths = parse.GetValue(path)!;
            if (parse.GetValue(compare))
            {
                if (paths.Length != 2) throw new UserInputException("--compare needs two runs: report DIR_A DIR_B --compare");
                if (outputFormat != "md") throw new UserInputException("--compare writes Markdown only; leave out --format");
                if (parse.GetValue(write)) throw new UserInputException("--compare writes to stdout only; leave out --write");
                var (a, b) = (Build(paths[0], options), Build(paths[1], options));
                Console.Out.Write(ConsoleText.EscapeLines(TwoRunComparison.Markdown(paths[0], a, paths[1], b)));
                return Program.Ok;
            }
            if (paths.Length != 1) throw new UserInputException("two run folders are compared with --compare; give one otherwise");
            var target = paths[0];
            var run = Manifest(target);
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

    /// <summary>A run folder's run.json, which says whether the run followed a sequential design; null for a trials.csv
    /// alone (it has none).</summary>
    static RunManifest? Manifest(string target)
    {
        var run = Directory.Exists(target) ? RunManifestFile.TryRead(target) : null;
        if (run?.Sequential?.Problem() is { } problem)
            throw new UserInputException($"{Path.Combine(target, RunManifestFile.FileName)}: its 'sequential' is no design ({problem}); refusing to state looks from it");
        return run;
    }

    /// <summary>The report of a run folder or trials.csv, with its own sequential design.</summary>
    static Report Build(string target, ReportOptions options) =>
        RunReport.Build(target, options with { Sequential = Manifest(target)?.Sequential });
}
