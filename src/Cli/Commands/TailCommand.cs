using System.CommandLine;
using SamCluster.Experiment.Grid;
using SamCluster.Cli.Processes;
using SamCluster.Reporting;
using SamCluster.RunStore;
using SamCluster.Messages;
using SamCluster.Coordinator.Logging;

namespace SamCluster.Cli.Commands;

/// <summary>`samcluster tail RUN_DIR TRIAL_ID`: follows one trial's log like tail -f, until the trial finishes.</summary>
public static class TailCommand
{
    public static Command Create()
    {
        var runDir = new Argument<string>("run-dir") { Description = "The run folder (--out of coordinator/local)." };
        var trialId = new Argument<string>("trial-id") { Description = "The trial's id, dataset/model/optimizer/repeat: e.g. fashion-mnist/resnet18/sam/1." };
        var noFollow = new Option<bool>("--no-follow") { Description = "Print what is there and exit." };
        var command = new Command("tail", "Follow one trial's log (logs/<trial-id>.log) until the trial finishes.") { runDir, trialId, noFollow };
        command.SetAction((parse, _) =>
        {
            using var signal = new ShutdownSignal();
            return Task.FromResult(Program.Run(() =>
                Follow(parse.GetValue(runDir)!, parse.GetValue(trialId)!, !parse.GetValue(noFollow), Console.Out, signal.Token)));
        });
        return command;
    }

    public static int Follow(string runDir, string trialId, bool follow, TextWriter output, CancellationToken stop)
    {
        var folder = RunFolder.Open(runDir);
        TrialKey key;
        try { key = TrialKey.Parse(trialId); }
        catch (FormatException e) { throw new UserInputException(e.Message); }
        var trials = RunFolder.TrialsOf(folder.Root);
        if (trials.All(t => t.Key.Id != key.Id))
            throw new UserInputException($"no trial '{key.Id}' in {runDir} (e.g. {string.Join(", ", trials.Take(3).Select(t => t.Key.Id))})");

        var path = folder.TrialLog(key.Id);
        long position = 0;
        var pending = "";
        while (!stop.IsCancellationRequested)
        {
            if (File.Exists(path))
            {
                using var stream = OpenLog(path);
                if (stream.Length > position)
                {
                    stream.Seek(position, SeekOrigin.Begin);
                    using var reader = new StreamReader(stream);
                    var text = pending + reader.ReadToEnd();
                    position = stream.Length;
                    var lastNewline = text.LastIndexOf('\n');
                    pending = text[(lastNewline + 1)..];
                    if (lastNewline >= 0)
                    {
                        var complete = text[..(lastNewline + 1)];
                        output.Write(complete);
                        output.Flush();
                        if (complete.Contains(RunLog.TrialEndMarker)) return Program.Ok;
                    }
                }
            }
            else if (!follow)
            {
                throw new UserInputException($"trial '{key.Id}' has no log yet in {runDir} (it has not started)");
            }
            else if (position == 0 && NothingWillWrite(folder, key, runDir) is { } why)
            {
                // Following would wait for a log nobody is going to write.
                throw new UserInputException(why);
            }
            if (!follow) break;
            try { Task.Delay(250, stop).Wait(stop); } catch (OperationCanceledException) { break; }
        }
        if (pending.Length > 0) output.Write(pending);
        return Program.Ok;
    }

    /// <summary>The trial's log, opened without blocking: a pipe or a device in its place is refused at once.</summary>
    static FileStream OpenLog(string path)
    {
        try
        {
            return RegularFile.OpenRead(path);
        }
        catch (NotARegularFileException e)
        {
            throw new UserInputException($"{e.Message}, not a trial's log");
        }
    }

    /// <summary>Why a missing trial log will never appear, or null when a running coordinator may still write it.</summary>
    static string? NothingWillWrite(RunFolder folder, TrialKey key, string runDir)
    {
        var finished = File.Exists(folder.TrialsCsv) && ResultsCsv.ReadTrialIds(folder.TrialsCsv).Contains(key.Id);
        if (finished)
            return $"trial '{key.Id}' has finished but its log {folder.TrialLog(key.Id)} was removed (its results are in {folder.TrialsCsv})";
        if (!RunFolderLock.IsHeld(folder.Root))
            return $"trial '{key.Id}' has no log in {runDir} and no coordinator is running that folder; start the run again to resume it";
        return null;
    }
}
