using SamCluster.Messages;
using SamCluster.Training;
using SamCluster.Training.Checkpoints;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;
using SamCluster.Experiment;

namespace SamCluster.Tests.Training;

/// <summary>A trial stopped after an epoch and resumed from its checkpoint by new model and optimizer objects (as a
/// new process would) ends bit for bit as the uninterrupted run.</summary>
[Collection(TorchGlobalState.Name)]
public sealed class ResumeTests(ITestOutputHelper log) : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("samcluster-resume-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static TrainingTensors Synthetic() => SyntheticTensors.Make(7);

    // Random labels and a large rate: the test loss soon stops improving, so patience 0 halves the rate mid-run.
    private static TrialSpec Spec(string optimizer, int epochs = 4) => new(
        new TrialKey("synthetic", "resnet18", optimizer, 1), Seed: 42,
        new DataSpec("synthetic", "", []),
        RecipeTable.Defaults(epochs) with { BatchSize = 16, LearningRate = 0.05, Momentum = 0.9, WeightDecay = 5e-4, PlateauPatience = 0, PlateauFactor = 0.5 });

    private static (double, double, double, double, double) Figures(EpochMetrics m) =>
        (m.TrainLoss, m.TrainAcc, m.TestLoss, m.TestAcc, m.LearningRate);

    /// <summary>Runs attempt <paramref name="attempt"/> and stops it (as a kill would) once epoch
    /// <paramref name="stopAfter"/> is reported; returns the epochs it reported.</summary>
    private static List<EpochMetrics> RunUntil(TrialSpec spec, TrainingTensors data, CheckpointStore store, int attempt, int stopAfter,
        IReadOnlyList<CheckpointRef>? resumeFrom = null)
    {
        var reported = new List<EpochMetrics>();
        using var stop = new CancellationTokenSource();
        Assert.ThrowsAny<OperationCanceledException>(() => TrialRunner.Run(spec, data, CPU, null, (m, _) =>
        {
            reported.Add(m);
            if (m.Epoch == stopAfter) stop.Cancel();
        }, new TrialCheckpointing(store, attempt, 1, resumeFrom ?? [], SaveWeights: false, PruneWhenSaved: true), stop.Token));   // as train-one
        return reported;
    }

    [Theory]
    [InlineData("sgd")]
    [InlineData("sam")]
    [InlineData("msam")]      // the checkpoint holds the descent point; the resumed run moves up to the ascent point again
    [InlineData("looksam")]   // the k-cycle restarts each epoch: no LookSAM state crosses an epoch
    public void AResumedRunEndsBitIdenticalToAnUninterruptedOne(string optimizer)
    {
        var spec = Spec(optimizer);
        var data = Synthetic();
        var uninterrupted = new List<EpochMetrics>();
        var whole = TrialRunner.Run(spec, data, CPU, uninterrupted.Add);
        log.WriteLine(string.Join("\n", uninterrupted));
        Assert.True(uninterrupted[^1].LearningRate < uninterrupted[0].LearningRate, "the plateau schedule should cut the rate during the run");

        var store = new CheckpointStore(_root);
        var beforeKill = RunUntil(spec, data, store, attempt: 1, stopAfter: 2);
        Assert.Equal([1, 2], beforeKill.Select(m => m.Epoch));
        var candidates = store.Find(spec.Key.Id);
        Assert.Equal([2], candidates.Select(c => c.Epoch));

        ResumeReport? resume = null;
        var resumed = new List<(EpochMetrics Metrics, CheckpointRef? Checkpoint)>();
        var result = TrialRunner.Run(spec, data, CPU, r => resume = r, (m, c) => resumed.Add((m, c)),
            new TrialCheckpointing(store, Attempt: 2, Every: 1, candidates, SaveWeights: true, PruneWhenSaved: true));

        Assert.Equal(new ResumeReport(candidates[0], 2, "resumed from epoch 2 (attempt 1's checkpoint)"), resume);
        Assert.Equal(resume, result.Resume);
        Assert.Equal([3, 4], resumed.Select(r => r.Metrics.Epoch));
        Assert.Equal(uninterrupted.Skip(2).Select(Figures), resumed.Select(r => Figures(r.Metrics)));
        Assert.Equal(beforeKill.Select(Figures), uninterrupted.Take(2).Select(Figures));
        Assert.Equal((whole.Epochs, whole.TrainAcc, whole.TestAcc, whole.TrainLoss, whole.TestLoss),
            (result.Summary.Epochs, result.Summary.TrainAcc, result.Summary.TestAcc, result.Summary.TrainLoss, result.Summary.TestLoss));
        Assert.Equal(beforeKill.Sum(m => m.Seconds) + resumed.Sum(r => r.Metrics.Seconds), result.Summary.Seconds, 9);

        Assert.Equal(["attempt-2-epoch-0003", "attempt-2-epoch-0004"], resumed.Select(r => CheckpointStore.DisplayName(r.Checkpoint!)));
        Assert.Equal("synthetic/resnet18/" + optimizer + "/1/weights-attempt-2.pt", result.Weights!.Location);
        var files = Directory.GetFiles(Path.Combine(_root, "synthetic", "resnet18", optimizer, "1")).Select(Path.GetFileName).Order();
        Assert.Equal(["attempt-1-epoch-0002.ckpt", "attempt-2-epoch-0004.ckpt", "weights-attempt-2.pt"], files);
    }

    [Fact]
    public void ACorruptNewestCheckpointFallsBackToTheNextOneAndSaysWhich()
    {
        var spec = Spec("sgd", epochs: 3);
        var data = Synthetic();
        var uninterrupted = new List<EpochMetrics>();
        TrialRunner.Run(spec, data, CPU, uninterrupted.Add);

        var store = new CheckpointStore(_root);
        RunUntil(spec, data, store, attempt: 1, stopAfter: 1);
        RunUntil(spec, data, store, attempt: 2, stopAfter: 2, resumeFrom: store.Find(spec.Key.Id));
        var candidates = store.Find(spec.Key.Id);
        Assert.Equal([(2, 2), (1, 1)], candidates.Select(c => (c.Attempt, c.Epoch)));
        var newest = store.PathOf(candidates[0].Location);
        var bytes = File.ReadAllBytes(newest);
        bytes[bytes.Length / 3] ^= 0x10;
        File.WriteAllBytes(newest, bytes);

        var notes = new List<ResumeReport>();
        var resumed = new List<EpochMetrics>();
        var result = TrialRunner.Run(spec, data, CPU, notes.Add, (m, _) => resumed.Add(m),
            new TrialCheckpointing(store, Attempt: 3, Every: 1, candidates, SaveWeights: false));

        var report = Assert.Single(notes);
        Assert.Equal("checkpoint attempt-2-epoch-0002 is corrupt (sha256 mismatch); resumed from epoch 1 (attempt 1's checkpoint)", report.Note);
        Assert.Equal((candidates[1], 1), (report.From, report.StartEpoch));
        Assert.Equal([2, 3], resumed.Select(m => m.Epoch));
        Assert.Equal(uninterrupted.Skip(1).Select(Figures), resumed.Select(Figures));
        Assert.Null(result.Weights);
    }

    [Fact]
    public void WithNoUsableCheckpointItStartsFromEpochZeroAndSaysWhy()
    {
        var spec = Spec("sam", epochs: 2);
        var data = Synthetic();
        var uninterrupted = new List<EpochMetrics>();
        TrialRunner.Run(spec, data, CPU, uninterrupted.Add);

        var store = new CheckpointStore(_root);
        RunUntil(spec, data, store, attempt: 1, stopAfter: 1);
        var truncated = store.Find(spec.Key.Id)[0];
        var path = store.PathOf(truncated.Location);
        File.WriteAllBytes(path, File.ReadAllBytes(path)[..^10]);
        var missing = new CheckpointRef(2, 1, $"{spec.Key.Id}/attempt-2-epoch-0001.ckpt", new string('a', 64));

        ResumeReport? report = null;
        var epochs = new List<EpochMetrics>();
        var result = TrialRunner.Run(spec, data, CPU, r => report = r, (m, _) => epochs.Add(m),
            new TrialCheckpointing(store, Attempt: 3, Every: 0, [truncated, missing], SaveWeights: false));

        Assert.Equal(new ResumeReport(null, 0,
            "no usable checkpoint (checkpoint attempt-2-epoch-0001 is missing; checkpoint attempt-1-epoch-0001 is corrupt (no trailer: torn or truncated, "
            + $"{new FileInfo(path).Length} bytes)); starting from epoch 0"), report);
        Assert.Equal(result.Resume, report);
        // A failed load leaves nothing behind: the run from epoch 0 is the uninterrupted one.
        Assert.Equal(uninterrupted.Select(Figures), epochs.Select(Figures));
        Assert.Equal([Path.GetFileName(path)], Directory.GetFiles(Path.GetDirectoryName(path)!).Select(Path.GetFileName));   // Every 0: none written
    }

    [Fact]
    public void ACheckpointOfTheLastEpochFinishesWithoutTraining()
    {
        var spec = Spec("sgd", epochs: 1);
        var data = Synthetic();
        var store = new CheckpointStore(_root);
        var first = TrialRunner.Run(spec, data, CPU, null, (_, _) => { }, new TrialCheckpointing(store, 1, 1, [], SaveWeights: false));
        Assert.Equal(new ResumeReport(null, 0, "no checkpoint to resume from; starting from epoch 0"), first.Resume);

        var epochs = new List<EpochMetrics>();
        var again = TrialRunner.Run(spec, data, CPU, null, (m, _) => epochs.Add(m),
            new TrialCheckpointing(store, 1, 1, store.Find(spec.Key.Id), SaveWeights: true));
        Assert.Empty(epochs);
        Assert.Equal(first.Summary, again.Summary);
        Assert.Equal(1, again.Resume!.StartEpoch);
        Assert.NotNull(again.Weights);
    }
}
