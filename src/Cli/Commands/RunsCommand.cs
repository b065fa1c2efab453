using System.CommandLine;
using SamCluster.Coordinator.Serving;
using SamCluster.Messages;

namespace SamCluster.Cli.Commands;

/// <summary>`samcluster runs DIR…`: the index `serve` shows, one row per run found under the folders given, on stdout.</summary>
public static class RunsCommand
{
    public static Command Create()
    {
        var folders = new Argument<string[]>("dir")
        {
            Description = "Run folders, or folders with run folders anywhere below them.",
            Arity = ArgumentArity.OneOrMore,
        };
        var format = new Option<string>("--format") { Description = "Output format: table, csv or json.", DefaultValueFactory = _ => "table" };
        var command = new Command("runs", "List the runs under the folders given, one row each: name, grid, state, trials done and failed, started, wall time, each comparison's verdict.")
        {
            folders, format,
        };
        command.SetAction(parse => Program.Run(() =>
        {
            var outputFormat = parse.GetValue(format)!.Trim().ToLowerInvariant();
            if (outputFormat is not ("table" or "csv" or "json"))
                throw new UserInputException($"--format must be table, csv or json, got '{parse.GetValue(format)}'");
            var now = DateTimeOffset.UtcNow;
            var runs = RunIndex.FindAll(parse.GetValue(folders)!.Select(d => FlagChecks.Folder(d, "DIR")).ToList())
                .Select(r => RunSummary.From(RunSnapshot.Read(r), now)).ToList();
            // Names and verdicts come from the file system and its files: shown, never obeyed by a terminal.
            Console.Out.Write(outputFormat switch
            {
                "csv" => ConsoleText.EscapeLines(RunsTable.WriteCsv(runs)),
                "json" => RunsTable.WriteJson(runs),
                _ => ConsoleText.EscapeLines(RunsTable.WriteText(runs)),
            });
            return Program.Ok;
        }));
        return command;
    }
}
