using SamCluster.Experiment;
using SamCluster.Messages;
using SamCluster.Training;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace SamCluster.Tests.Training;

/// <summary>Trials side by side in one process — a node with several slots, or this test host running collections in
/// parallel — each end bit for bit as they do alone. Meanwhile the garbage collector runs without pause, as other
/// threads' allocations make it run in a busy process: an object libtorch is still reading that .NET no longer holds (a
/// temporary TorchSharp Scalar or Tensor) is then finalized in the middle of its native call. Before training passed its
/// Scalars through <see cref="KeptScalars"/> this failed within a round or two with "Expected false to be true … toFloat"
/// from add_ (or with wrong figures); before FlatBuffer.Slice held its narrowed temporary, it sometimes crashed the
/// process (a segfault under view(); TensorLifetimeTests checks that case deterministically). Two rounds keep it to
/// well under a minute on 2 cores.</summary>
[Collection(TorchGlobalState.Name)]
public sealed class ConcurrentTrialsTests(ITestOutputHelper log)
{
    private const int Rounds = 2;

    private static TrainingTensors Synthetic() => SyntheticTensors.Make(11);

    // Weight decay and momentum on, so every Scalar the SGD step passes is used; patience 0 moves the rate mid-run.
    private static TrialSpec Spec(string optimizer, int seed) => new(
        new TrialKey("synthetic", "resnet18", optimizer, seed), Seed: seed,
        new DataSpec("synthetic", "", []),
        RecipeTable.Defaults(2) with { BatchSize = 16, LearningRate = 0.05, Momentum = 0.9, WeightDecay = 5e-4, PlateauPatience = 0 });

    private static string Figures(TrialSpec spec, TrainingTensors data)
    {
        var epochs = new List<EpochMetrics>();
        TrialRunner.Run(spec, data, CPU, epochs.Add);
        // Seconds and images/s differ from run to run; everything else must not.
        return string.Join("; ", epochs.Select(m => $"{m.Epoch}: {m.TrainLoss:R} {m.TrainAcc:R} {m.TestLoss:R} {m.TestAcc:R} {m.LearningRate:R}"));
    }

    [Fact]
    public void TrialsSideBySideEndBitIdenticalToTheirSoloRuns()
    {
        var data = Synthetic();
        TrialSpec[] specs = [Spec("sgd", 1), Spec("sam", 2), Spec("asam", 3), Spec("sgd", 4)];
        var solo = specs.Select(s => Figures(s, data)).ToArray();

        using var stop = new CancellationTokenSource();
        var collections = 0;
        var collector = new Thread(() =>
        {
            // Generation 0 is where the temporaries are; waiting for the finalizers frees them as soon as they are found.
            while (!stop.IsCancellationRequested)
            {
                GC.Collect(0);
                GC.WaitForPendingFinalizers();
                collections++;
            }
        }) { IsBackground = true };
        collector.Start();
        var failures = new List<string>();
        try
        {
            for (int round = 1; round <= Rounds; round++)
            {
                var results = new string?[specs.Length];
                var threads = specs.Select((spec, i) => new Thread(() =>
                {
                    try { results[i] = Figures(spec, data); }
                    catch (Exception e) { results[i] = $"{e.GetType().Name}: {e.Message}"; }
                })).ToArray();
                foreach (var thread in threads) thread.Start();
                foreach (var thread in threads) thread.Join();
                for (int i = 0; i < specs.Length; i++)
                    if (results[i] != solo[i])
                        failures.Add($"round {round}, {specs[i].Key.Id}: {results[i]}\n  alone: {solo[i]}");
            }
        }
        finally
        {
            stop.Cancel();
            collector.Join();
        }
        log.WriteLine($"{Rounds} rounds of {specs.Length} trials side by side, {collections} collections meanwhile");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }
}
