using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using SamCluster.Messages;
using SamCluster.Training.Checkpoints;
using SamCluster.Training.Models;
using SamCluster.Training.Optimization;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;
using SamCluster.Experiment;

namespace SamCluster.Tests.Training;

[Collection(TorchGlobalState.Name)]
public sealed class CheckpointStoreTests(ITestOutputHelper log) : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("samcluster-ckpt-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static TrialSpec Spec(int epochs = 4, string optimizer = "sgd") => new(
        new TrialKey("fashion-mnist", "resnet18", optimizer, 2), Seed: 1234,
        new DataSpec("fashion-mnist", "/data/fmnist", ["0", "1", "2", "3", "4"], TrainLimit: 100),
        RecipeTable.Defaults(epochs) with { BatchSize = 8, LearningRate = 0.1 });

    private static Sequential SmallModel(int seed)
    {
        torch.manual_seed(seed);
        return nn.Sequential(("first", nn.Linear(3, 4)), ("norm", nn.BatchNorm1d(4)), ("out", nn.Linear(4, 2)));
    }

    private static SGD Sgd(nn.Module model) => optim.SGD(model.parameters(), 0.1, momentum: 0.9, weight_decay: 1e-4);

    private static (Tensor Input, Tensor Target) Batch(int i)
    {
        var generator = new Generator((ulong)(100 + i), CPU);
        return (randn([8, 3], generator: generator), randn([8, 2], generator: generator));
    }

    private static void TrainStep(nn.Module<Tensor, Tensor> model, optim.Optimizer optimizer, int i)
    {
        using var scope = NewDisposeScope();
        model.train();
        var (input, target) = Batch(i);
        optimizer.zero_grad();
        model.call(input).sub(target).pow(2).mean().backward();
        optimizer.step();
    }

    private static List<EpochMetrics> History(int epochs) =>
        Enumerable.Range(1, epochs).Select(e => new EpochMetrics(e, 1.0 / e, 50 + e, 1.1 / e, 49 + e, 0.1, 3.25, 1000.5)).ToList();

    private static Dictionary<string, byte[]> Bytes(nn.Module model) =>
        model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().contiguous().bytes.ToArray());

    private static void AssertSameState(nn.Module expected, nn.Module actual)
    {
        var (a, b) = (Bytes(expected), Bytes(actual));
        Assert.Equal(a.Keys.Order(), b.Keys.Order());
        foreach (var (name, bytes) in a) Assert.True(bytes.AsSpan().SequenceEqual(b[name]), $"{name} differs");
    }

    [Fact]
    public void OneStepAfterRestoreEqualsOneStepWithoutInterruption()
    {
        var store = new CheckpointStore(_root);
        using var model = SmallModel(1);
        using var sgd = Sgd(model);
        for (int i = 0; i < 3; i++) TrainStep(model, sgd, i);
        var plateau = new PlateauState(0.5, 1, 0.1);
        var saved = store.Save(Spec(), 1, model, sgd, plateau, History(3));
        TrainStep(model, sgd, 3);

        using var resumed = SmallModel(2);   // other weights: the load must replace all of them
        using var resumedSgd = Sgd(resumed);
        Assert.True(store.TryLoad(saved, Spec(), resumed, resumedSgd, out var contents, out var problem), problem);
        Assert.Equal(3, contents.Epoch);
        Assert.Equal(plateau, contents.Plateau);
        Assert.Equal(1234, contents.DataOrderSeed);
        Assert.Equal(History(3), contents.History);
        TrainStep(resumed, resumedSgd, 3);
        AssertSameState(model, resumed);   // parameters, running stats and num_batches_tracked

        var buffers = (SGD s) => s.state_dict().State.Cast<SGD.State>().Select(st => st.momentum_buffer!.data<float>().ToArray()).ToList();
        Assert.Equal(buffers(sgd), buffers(resumedSgd));

        // The same without the optimizer's state differs: the momentum buffers are what made the step equal.
        using var weightsOnly = SmallModel(2);
        using var freshSgd = Sgd(weightsOnly);
        using var otherSgd = Sgd(weightsOnly);
        Assert.True(store.TryLoad(saved, Spec(), weightsOnly, otherSgd, out _, out _));
        TrainStep(weightsOnly, freshSgd, 3);
        Assert.NotEqual(Bytes(model)["first.weight"], Bytes(weightsOnly)["first.weight"]);
    }

    [Fact]
    public void FilesAreLaidOutByTrialIdAndCarryTheirChecksum()
    {
        var store = new CheckpointStore(_root);
        using var model = SmallModel(1);
        using var sgd = Sgd(model);
        TrainStep(model, sgd, 0);
        var saved = store.Save(Spec(), 3, model, sgd, new PlateauState(double.PositiveInfinity, 0, 0.1), History(2));

        Assert.Equal("fashion-mnist/resnet18/sgd/2/attempt-3-epoch-0002.ckpt", saved.Location);
        Assert.Equal((3, 2), (saved.Attempt, saved.Epoch));
        var path = Path.Combine(_root, "fashion-mnist", "resnet18", "sgd", "2", "attempt-3-epoch-0002.ckpt");
        Assert.Equal(path, store.PathOf(saved.Location));
        var bytes = File.ReadAllBytes(path);
        Assert.Equal(saved.Sha256, Convert.ToHexStringLower(SHA256.HashData(bytes.AsSpan(0, bytes.Length - 48))));
        Assert.Equal(saved.Sha256, Convert.ToHexStringLower(bytes.AsSpan(bytes.Length - 40, 32)));
        Assert.Equal([saved], store.Find("fashion-mnist/resnet18/sgd/2"));
        Assert.Empty(store.Find("fashion-mnist/resnet18/sam/2"));
    }

    [Fact]
    public void SavingKeepsOlderCheckpointsUntilPrunedAndPruningKeepsNewerOnes()
    {
        // A node cut off from the coordinator keeps saving epochs its journal never hears of; the journaled one must stay.
        var store = new CheckpointStore(_root);
        using var model = SmallModel(1);
        using var sgd = Sgd(model);
        TrainStep(model, sgd, 0);
        var plateau = new PlateauState(1, 0, 0.1);
        var saved = Enumerable.Range(1, 4).Select(e => store.Save(Spec(), 1, model, sgd, plateau, History(e))).ToList();
        Assert.Equal([4, 3, 2, 1], store.Find(Spec().Key.Id).Select(c => c.Epoch));
        store.PruneOlder(saved[1]);   // the journal holds epoch 2
        Assert.Equal([4, 3, 2], store.Find(Spec().Key.Id).Select(c => c.Epoch));
        Assert.True(store.TryLoad(saved[1], Spec(), model, sgd, out _, out var problem), problem);
    }

    [Fact]
    public void PruningAfterEachSaveKeepsOnlyTheNewestCheckpointOfAnAttemptAndNoDeadTempFiles()
    {
        var store = new CheckpointStore(_root);
        using var model = SmallModel(1);
        using var sgd = Sgd(model);
        TrainStep(model, sgd, 0);
        var plateau = new PlateauState(1, 0, 0.1);
        var folder = Path.Combine(_root, "fashion-mnist", "resnet18", "sgd", "2");
        var fromAttempt1 = store.Save(Spec(), 1, model, sgd, plateau, History(2));
        // What a writer of attempt 2 killed mid-write leaves, and one of another attempt (which may still be writing).
        File.WriteAllText(Path.Combine(folder, ".attempt-2-epoch-0001.ckpt.999-dead.tmp"), "torn");
        File.WriteAllText(Path.Combine(folder, ".attempt-1-epoch-0003.ckpt.999-live.tmp"), "in progress");
        for (int epoch = 1; epoch <= 3; epoch++) store.PruneOlder(store.Save(Spec(), 2, model, sgd, plateau, History(epoch)));

        var names = Directory.GetFiles(folder).Select(Path.GetFileName).Order().ToList();
        Assert.Equal([".attempt-1-epoch-0003.ckpt.999-live.tmp", "attempt-1-epoch-0002.ckpt", "attempt-2-epoch-0003.ckpt"], names);
        Assert.Equal([3, 2], store.Find(Spec().Key.Id).Select(c => c.Epoch));
        Assert.Equal(fromAttempt1, store.Find(Spec().Key.Id)[1]);
    }

    [Fact]
    public void AFailedWriteLeavesThePreviousCheckpointAndNoTempFile()
    {
        var store = new CheckpointStore(_root);
        using var model = SmallModel(1);
        using var sgd = Sgd(model);
        TrainStep(model, sgd, 0);
        var plateau = new PlateauState(1, 0, 0.1);
        var first = store.Save(Spec(), 1, model, sgd, plateau, History(1));
        var folder = Path.GetDirectoryName(store.PathOf(first.Location))!;
        Directory.CreateDirectory(Path.Combine(folder, "attempt-1-epoch-0002.ckpt"));   // the rename cannot replace a folder

        Assert.ThrowsAny<IOException>(() => store.Save(Spec(), 1, model, sgd, plateau, History(2)));
        Assert.Empty(Directory.GetFiles(folder, "*.tmp"));
        Assert.True(store.TryLoad(first, Spec(), model, sgd, out _, out var problem), problem);
    }

    [Fact]
    public void DamagedMissingOrForeignCheckpointsAreRefusedWithAReason()
    {
        var store = new CheckpointStore(_root);
        using var model = SmallModel(1);
        using var sgd = Sgd(model);
        TrainStep(model, sgd, 0);
        var saved = store.Save(Spec(), 1, model, sgd, new PlateauState(1, 0, 0.1), History(2));
        var path = store.PathOf(saved.Location);
        var original = File.ReadAllBytes(path);

        string Refusal(CheckpointRef r, TrialSpec? spec = null)
        {
            using var target = SmallModel(5);
            using var targetSgd = Sgd(target);
            var before = Bytes(target);
            Assert.False(store.TryLoad(r, spec ?? Spec(), target, targetSgd, out _, out var problem));
            Assert.Equal(before.Keys, Bytes(target).Keys);
            Assert.All(before, kv => Assert.Equal(kv.Value, Bytes(target)[kv.Key]));   // untouched
            log.WriteLine($"{CheckpointStore.DisplayName(r)} {problem}");
            return problem!;
        }

        var flipped = (byte[])original.Clone();
        flipped[original.Length / 2] ^= 0x40;
        File.WriteAllBytes(path, flipped);
        Assert.Equal("is corrupt (sha256 mismatch)", Refusal(saved));

        File.WriteAllBytes(path, original[..^100]);
        Assert.StartsWith("is corrupt (no trailer", Refusal(saved));

        File.WriteAllBytes(path, original[..1000].Concat(original[^48..]).ToArray());
        Assert.StartsWith("is corrupt (wrong length", Refusal(saved));

        File.WriteAllBytes(path, original);
        Assert.StartsWith("is corrupt (sha256 mismatch", Refusal(saved with { Sha256 = new string('0', 64) }));

        var otherSpec = Spec(epochs: 6);
        Assert.Equal("is of a different trial spec (Recipe.Epochs: 4 in the checkpoint, 6 here)", Refusal(saved, otherSpec));
        Assert.Equal(new ForeignCheckpoint(saved.Location, "Recipe.Epochs: 4 in the checkpoint, 6 here"), store.FindOtherSpec(otherSpec));
        Assert.Equal("Key.Optimizer: sgd in the checkpoint, sam here", store.FindOtherSpec(Spec(optimizer: "sam"))!.Difference);
        Assert.Null(store.FindOtherSpec(Spec()));
        Assert.Null(store.FindOtherSpec(otherSpec, "fashion-mnist/resnet18/sam/2"));   // only that trial's folder

        using (var bigger = nn.Sequential(("first", nn.Linear(3, 5)), ("norm", nn.BatchNorm1d(5)), ("out", nn.Linear(5, 2))))
        using (var biggerSgd = Sgd(bigger))
        {
            Assert.False(store.TryLoad(saved, Spec(), bigger, biggerSgd, out _, out var problem));
            Assert.StartsWith("does not fit this model (first.weight", problem);
        }

        File.Delete(path);
        Assert.Equal("is missing", Refusal(saved));
    }

    /// <summary>A pipe nobody writes to, under a checkpoint's or the weights' name: a plain open(2) of it blocks for ever
    /// (a node's worker, train-one, the coordinator's weights collector). Listed, refused with a reason, at once.</summary>
    [Fact]
    public void APipeNamedLikeACheckpointOrTheWeightsIsRefusedAtOnceNotWaitedOn()
    {
        var store = new CheckpointStore(_root);
        var location = $"{Spec().Key.Id}/{CheckpointStore.CheckpointFileName(1, 2)}";
        var weights = new CheckpointRef(1, 2, $"{Spec().Key.Id}/{CheckpointStore.WeightsFileName(1)}", new string('0', 64));
        Directory.CreateDirectory(Path.GetDirectoryName(store.PathOf(location))!);
        var pipes = new[] { store.PathOf(location), store.PathOf(weights.Location) };
        foreach (var pipe in pipes)
            using (var mkfifo = Process.Start("mkfifo", [pipe]))
                mkfifo.WaitForExit();
        try
        {
            var clock = Stopwatch.StartNew();
            var found = Assert.Single(store.Find(Spec().Key.Id));
            Assert.Equal((location, ""), (found.Location, found.Sha256));   // listed, with no trailer to read

            using var model = SmallModel(1);
            using var sgd = Sgd(model);
            Assert.False(store.TryLoad(found, Spec(), model, sgd, out _, out var problem));
            log.WriteLine($"{CheckpointStore.DisplayName(found)} {problem}");
            Assert.StartsWith("is not a regular file", problem);

            var copy = Assert.Throws<NotARegularFileException>(() => CheckpointStore.CopyVerified(_root, weights, Path.Combine(_root, "out", "2.pt")));
            Assert.Contains("not a regular file", copy.Message);
            Assert.False(File.Exists(Path.Combine(_root, "out", "2.pt")));
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"took {clock.Elapsed.TotalSeconds:F1} s");
        }
        finally
        {
            // Should an open have blocked after all, let it return rather than hold a thread of the test host.
            foreach (var pipe in pipes) SamCluster.Tests.BadInput.Fifo.ReleaseBlockedOpens(pipe);
        }
    }

    [Fact]
    public void DeleteTrialRemovesItsFilesAndTheEmptyFoldersOfItsId()
    {
        var store = new CheckpointStore(_root);
        using var model = SmallModel(1);
        using var sgd = Sgd(model);
        TrainStep(model, sgd, 0);
        store.Save(Spec(), 1, model, sgd, new PlateauState(1, 0, 0.1), History(1));
        store.Save(Spec(optimizer: "sam"), 1, model, sgd, new PlateauState(1, 0, 0.1), History(1));

        store.DeleteTrial(Spec().Key.Id);
        Assert.False(Directory.Exists(Path.Combine(_root, "fashion-mnist", "resnet18", "sgd")));
        Assert.Single(store.Find(Spec(optimizer: "sam").Key.Id));
        store.DeleteTrial(Spec(optimizer: "sam").Key.Id);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_root));
        store.DeleteTrial("no/such/trial/1");   // nothing to do
        Assert.Throws<ArgumentException>(() => store.DeleteTrial("../escape"));
    }

    [Fact]
    public void WeightsAreCopiedOnlyWhenTheirChecksumHolds()
    {
        var store = new CheckpointStore(_root);
        using var model = ModelFactory.Create("resnet18", 1, 5);
        var weights = store.SaveWeights(Spec().Key.Id, 2, 4, model);
        Assert.Equal("fashion-mnist/resnet18/sgd/2/weights-attempt-2.pt", weights.Location);
        Assert.Equal((2, 4), (weights.Attempt, weights.Epoch));
        Assert.Equal(weights.Sha256, Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(store.PathOf(weights.Location)))));

        var destination = Path.Combine(_root, "out", "weights", "fashion-mnist", "resnet18", "sgd", "2.pt");
        CheckpointStore.CopyVerified(_root, weights, destination);
        Assert.Equal(File.ReadAllBytes(store.PathOf(weights.Location)), File.ReadAllBytes(destination));

        var damaged = Path.Combine(_root, "out", "damaged.pt");
        var bytes = File.ReadAllBytes(store.PathOf(weights.Location));
        bytes[bytes.Length / 2] ^= 1;
        File.WriteAllBytes(store.PathOf(weights.Location), bytes);
        var error = Assert.Throws<InvalidDataException>(() => CheckpointStore.CopyVerified(_root, weights, damaged));
        Assert.Contains("sha256 mismatch", error.Message);
        Assert.False(File.Exists(damaged));
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(damaged)!, "*.tmp"));
    }

    /// <summary>The final weights as PyTorch sees them: torch.load gives a state dict with torchvision's key names and
    /// exactly our tensors (dtype, shape, bytes).</summary>
    [SkippableFact]
    public void PyTorchLoadsTheFinalWeightsAsOurStateDict()
    {
        var python = PythonTorch.Find();
        Skip.If(python is null, "no python3 with torch here (apt-get install -y python3-torch)");

        var store = new CheckpointStore(_root);
        torch.manual_seed(3);
        using var model = ModelFactory.Create("resnet18", 1, 5);
        using (var sgd = optim.SGD(model.parameters(), 0.1, momentum: 0.9))
        {
            using var scope = NewDisposeScope();
            model.train();
            sgd.zero_grad();
            nn.functional.cross_entropy(model.call(randn(4, 1, 28, 28)), tensor(new long[] { 0, 1, 2, 3 })).backward();
            sgd.step();   // moves weights and running stats away from their init
        }
        var weights = store.SaveWeights(Spec().Key.Id, 1, 1, model);

        var script = """
            import hashlib, json, sys, torch
            sd = torch.load(sys.argv[1], map_location="cpu")
            print(json.dumps({k: [str(v.dtype).replace("torch.", ""), list(v.shape),
                                  hashlib.sha256(v.detach().contiguous().numpy().tobytes()).hexdigest()] for k, v in sd.items()}))
            """;
        var output = PythonTorch.RunScript(python!, script, store.PathOf(weights.Location));
        var theirs = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(output.Trim().Split('\n')[^1])!;

        var ours = model.state_dict();
        Assert.Equal(ours.Keys.Order(), theirs.Keys.Order());
        Assert.Contains("layer1.0.bn1.num_batches_tracked", theirs.Keys);
        Assert.Contains("layer2.0.downsample.1.running_var", theirs.Keys);
        Assert.Contains("fc.bias", theirs.Keys);
        foreach (var (name, tensor) in ours)
        {
            var entry = theirs[name];
            var dtype = tensor.dtype switch { ScalarType.Float32 => "float32", ScalarType.Int64 => "int64", var t => t.ToString() };
            Assert.Equal(dtype, entry[0].GetString());
            Assert.Equal(tensor.shape, entry[1].EnumerateArray().Select(d => d.GetInt64()));
            Assert.True(Convert.ToHexStringLower(SHA256.HashData(tensor.detach().contiguous().bytes)) == entry[2].GetString(), $"{name} differs");
        }
        Assert.Equal(1L, ours["layer1.0.bn1.num_batches_tracked"].item<long>());
    }
}
