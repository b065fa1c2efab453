using SamCluster.Messages;
using SamCluster.Reporting;
using SamCluster.RunStore;
using SamCluster.Tests.Cluster;

namespace SamCluster.Tests.Serving;

/// <summary>
/// Run folders as the product writes them, for `serve`, `runs` and `report --compare`: run.json by
/// <see cref="RunFolder.Prepare"/>, trials.csv and epochs.csv by <see cref="ResultsCsv"/>'s writers (the coordinator's).
/// SGD and SAM × <c>repeats</c> on fashion-mnist/resnet18, 2 epochs each; SAM ahead by <c>samLead</c> points of test accuracy.
/// A running run keeps its folder's lock (as a coordinator does) and grows epoch by epoch.
/// </summary>
public sealed class RunFolders : IDisposable
{
    readonly List<RunFolder> _held = [];

    public string Top { get; } = Directory.CreateTempSubdirectory("samcluster-serve-").FullName;

    public static IReadOnlyList<TrialSpec> Trials(int repeats) =>
        Enumerable.Range(1, repeats).SelectMany(r => new[] { ClusterFixtures.Trial("sgd", r), ClusterFixtures.Trial("sam", r) }).ToList();

    /// <summary>A finished run at <paramref name="name"/> below <see cref="Top"/>: every trial completed, report.json written.</summary>
    public string Finished(string name, int repeats = 3, double samLead = 2)
    {
        var trials = Trials(repeats);
        using (var folder = Prepare(name, trials))
        {
            File.WriteAllText(folder.EpochsCsv, ResultsCsv.WriteEpochs(trials.SelectMany(t => Epochs(t, samLead, 2))));
            var rows = trials.Select(t => Row(t, samLead)).ToList();
            File.WriteAllText(folder.TrialsCsv, ResultsCsv.WriteTrials(rows));
            File.WriteAllText(Path.Combine(folder.Root, RunReport.Json), JsonReport.Write(ReportBuilder.Build(rows, new ReportOptions(Curves: false))));
            Directory.CreateDirectory(folder.LogsDir);
            foreach (var t in trials) Write(folder.TrialLog(t.Key.Id), $"trial {t.Key.Id} finished\n");
            return folder.Root;
        }
    }

    /// <summary>A run still going: its lock held, epoch 1 of the first two trials in epochs.csv, no trial finished.</summary>
    public RunFolder Running(string name, int repeats = 2)
    {
        var trials = Trials(repeats);
        var folder = Prepare(name, trials);
        _held.Add(folder);
        File.WriteAllText(folder.EpochsCsv, ResultsCsv.WriteEpochs(trials.Take(2).SelectMany(t => Epochs(t, 2, 1))));
        return folder;
    }

    /// <summary>Appends one epoch's row, as the coordinator's epochs table does.</summary>
    public static void AppendEpoch(RunFolder folder, TrialSpec trial, int epoch, double testAcc) =>
        File.AppendAllText(folder.EpochsCsv, ResultsCsv.EpochLine(EpochRow(trial, epoch, testAcc)));

    RunFolder Prepare(string name, IReadOnlyList<TrialSpec> trials)
    {
        var grid = Path.Combine(Top, Guid.NewGuid().ToString("N")[..8] + ".grid.yaml");
        File.WriteAllText(grid, "datasets: [fashion-mnist]\n");
        return RunFolder.Prepare(Path.Combine(Top, name), grid, trials);
    }

    static double TestAcc(TrialSpec t, double samLead) => 80 + t.Key.Repeat * 0.5 + (t.Key.Optimizer == "sam" ? samLead : 0);

    static IEnumerable<EpochResultRow> Epochs(TrialSpec t, double samLead, int epochs) =>
        Enumerable.Range(1, epochs).Select(e => EpochRow(t, e, TestAcc(t, samLead) - (epochs - e) * 5));

    public static EpochResultRow EpochRow(TrialSpec t, int epoch, double testAcc) =>
        new(t.Key.Dataset, t.Key.Model, t.Key.Optimizer, t.Key.Repeat, epoch, 90, testAcc, 0.3, 0.5, 0, null, 0.01)
        { Seconds = 2, ImagesPerSecond = 500, Attempt = 1 };

    static TrialResultRow Row(TrialSpec t, double samLead) =>
        new(t.Key.Dataset, t.Key.Model, t.Key.Optimizer, t.Key.Repeat, true, 90, TestAcc(t, samLead), 4, 2, null, 0)
        { Seed = t.Seed, Node = "node-1", Device = "cpu", Attempts = 1 };

    static void Write(string path, string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
    }

    public void Dispose()
    {
        foreach (var folder in _held) folder.Dispose();
        try { Directory.Delete(Top, recursive: true); } catch (IOException) { }
    }
}
