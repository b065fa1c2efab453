using SamCluster.Experiment;
using SamCluster.Messages;
using SamCluster.Training;
using SamCluster.Training.Checkpoints;
using SamCluster.Training.Models;
using SamCluster.Training.Optimization;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SamCluster.Tests.Training;

/// <summary>Packed repeats (<see cref="PackedTrialRunner"/>): each member equal to its solo trial — its steps, its
/// checkpoints (interchangeable with solo ones both ways), its failure (it alone leaves the pack) — and the grouped
/// kernels the fused model takes checked against float64.</summary>
[Collection(TorchGlobalState.Name)]
public sealed class PackedTrainingTests : IDisposable
{
    // 3 steps an epoch (48 images, batch 16), as the issue asks of the first steps. SGD's runs take 12×12 images: the
    // small stem keeps an image's full size through its first stage, so at 28×28 they took five times the CPU for the
    // same check. SAM's run stays at 28×28: at 12×12 its two float32 epochs on noise amplify rounding until packed and
    // solo end 5 % apart at 2 torch threads (0.08 % at 1), and the count is process-wide (in-process commands set theirs).
    static readonly TrainingTensors Images12 = SyntheticTensors.Make(11, train: 48, test: 16, size: 12);
    static readonly TrainingTensors Images28 = SyntheticTensors.Make(11, train: 48, test: 16);
    readonly string _root = Directory.CreateTempSubdirectory("samcluster-pack-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    static TrialSpec Spec(string optimizer, int repeat, int epochs = 2) => new(
        new TrialKey("synthetic", "resnet18", optimizer, repeat), Seed: 100 + repeat,
        new DataSpec("synthetic", "", []),
        RecipeTable.Defaults(epochs) with { BatchSize = 16, LearningRate = 0.01, Stem = "small" });

    static List<EpochMetrics> Solo(TrialSpec spec, TrainingTensors data)
    {
        var epochs = new List<EpochMetrics>();
        TrialRunner.Run(spec, data, CPU, epochs.Add);
        return epochs;
    }

    // Whole runs in float32 on this tiny random-data problem (BatchNorm over 16 noise images) amplify rounding: one SAM
    // step leaves the solo float32 loss 0.15 % (small stem) to 0.5 % (ImageNet stem at 28×28, whose last stage
    // normalizes 16 single values) from float64's, and a packed member, whose kernels round differently, lands as far
    // on another side. Runs (small stem) compare at 2 %: packed and solo SGD on 12×12 were measured at most 0.08 % apart;
    // that the packed arithmetic is the solo's exactly is shown in float64 (Three_packed_steps_…).
    static void AssertClose(IReadOnlyList<EpochMetrics> solo, IReadOnlyList<EpochMetrics> packed, double relative = 2e-2)
    {
        Assert.Equal(solo.Select(m => m.Epoch), packed.Select(m => m.Epoch));
        for (int i = 0; i < solo.Count; i++)
        {
            Assert.True(Math.Abs(solo[i].TrainLoss - packed[i].TrainLoss) <= relative * Math.Abs(solo[i].TrainLoss),
                $"epoch {solo[i].Epoch} train loss: solo {solo[i].TrainLoss:R}, packed {packed[i].TrainLoss:R}");
            Assert.True(Math.Abs(solo[i].TestLoss - packed[i].TestLoss) <= relative * Math.Abs(solo[i].TestLoss),
                $"epoch {solo[i].Epoch} test loss: solo {solo[i].TestLoss:R}, packed {packed[i].TestLoss:R}");
            Assert.Equal(solo[i].LearningRate, packed[i].LearningRate, 12);
        }
    }

    [Theory]
    [InlineData("sam")]   // SGD's step is SAM's second half; the steps of both are checked against float64 above
    public void Each_member_of_a_pack_trains_as_its_solo_trial(string optimizer)
    {
        var specs = Enumerable.Range(1, 2).Select(r => Spec(optimizer, r)).ToArray();
        var packed = specs.Select(_ => new List<EpochMetrics>()).ToArray();
        var outcomes = PackedTrialRunner.Run(
            specs.Select((s, i) => new PackMember(s, null, null, (m, _) => packed[i].Add(m))).ToList(), Images28, CPU);
        Assert.All(outcomes, o => Assert.Null(o.Error));
        for (int i = 0; i < specs.Length; i++)
        {
            var solo = Solo(specs[i], Images28);
            AssertClose(solo, packed[i]);   // epoch 1 = the first 3 steps
            Assert.Equal(solo[^1].Epoch, outcomes[i].Result!.Summary.Epochs);
        }
        // The members differ (their seeds): a pack that trained one member twice would pass the above only by luck.
        Assert.Equal(2, packed.Select(p => p[^1].TestLoss).Distinct().Count());
    }

    /// <summary>The first three steps of a packed member against its solo network. In float64, where rounding cannot
    /// hide a mistake, and with each member at its own learning rate: the three steps run on from each other, and each
    /// step's loss and, after the three, every weight and BatchNorm buffer equal to 1e-9 (relative to the largest) — the
    /// member's own seed, batch, loss, gradient norm and learning rate, nothing of the others'. In float32, the issue's
    /// bound (each step's loss to 1e-4 relative) with the study's learning rate (0.001) on one torch thread, each step
    /// from the same state: before every step the solo network and its momentum are set to the member's. Run on from
    /// each other, float32 steps part further than that for a reason outside packing: on these noise images the solo
    /// network's channels-last float32 gradients are ill-conditioned (BatchNorm's backward subtracts nearly equal sums),
    /// so on an AVX-512 host they came out 0.5 % from float64's while the pack's NCHW ones stayed within 2e-6, and three
    /// steps apart the two losses were 3e-4 apart (solo 1.6e-4 from float64, packed 1.3e-4 on the other side).</summary>
    [Theory]
    [InlineData("sgd", "imagenet", true)]
    [InlineData("sam", "imagenet", true)]
    [InlineData("asam", "imagenet", true)]
    [InlineData("sgd", "small", false)]
    [InlineData("sam", "small", false)]
    public void Three_packed_steps_are_each_members_solo_steps(string optimizer, string stem, bool inFloat64)
    {
        const int k = 2;
        var dtype = inFloat64 ? ScalarType.Float64 : ScalarType.Float32;
        var bound = inFloat64 ? 1e-9 : 1e-4;
        // Float64 shows exactness at any size, so on 12×12 images (a fifth of the CPU); the float32 bound is the issue's
        // for Fashion-MNIST's 28×28, where it was measured (BatchNorm over fewer values rounds further apart).
        var size = inFloat64 ? 12 : 28;
        var threads = get_num_threads();
        set_num_threads(1);   // other tests leave other counts set; float32 rounding follows the count
        try
        {
            // Every temporary held until the end: one that nothing references could be finalized in the middle of a call.
            using var scope = NewDisposeScope();
            var recipe = RecipeTable.Defaults(2) with { BatchSize = 16, LearningRate = inFloat64 ? 0.01 : 0.001 };
            var solos = Enumerable.Range(0, k).Select(m =>
            {
                manual_seed(7 + m);
                var solo = ModelFactory.Create("resnet18", 1, 5, stem);
                solo.to(dtype);
                solo.train();
                return solo;
            }).ToList();
            using var packed = ModelFactory.Create("resnet18", 1, 5, stem, members: k);
            packed.to(dtype);
            for (int m = 0; m < k; m++) ModelPacking.CopyIn(solos[m], packed, m);
            packed.train();
            manual_seed(1);
            var batches = Enumerable.Range(0, 3).Select(_ => (Inputs: Enumerable.Range(0, k).Select(_ => randn(16, 1, size, size, dtype)).ToList(),
                Targets: Enumerable.Range(0, k).Select(_ => randint(0, 5, [16])).ToList())).ToList();
            var soloSteps = solos.Select(solo => TrainingStep.Create(optimizer, solo, recipe)).ToList();
            using var packStep = TrainingStep.Create(optimizer, packed, recipe, PackedTrialRunner.PackLoss, members: k);
            if (inFloat64)
            {
                // Each member its own rate (a plateau halves one member's and not another's). The float32 case is a real
                // pack's first steps, where every member starts at the recipe's rate.
                packStep.SetMemberLearningRates([recipe.LearningRate, recipe.LearningRate / 2]);
                soloSteps[1].Optimizer.ParamGroups.First().LearningRate = recipe.LearningRate / 2;
            }
            for (int step = 0; step < batches.Count; step++)
            {
                var (inputs, targets) = batches[step];
                // Float32: each solo network starts the step where its member stands.
                if (!inFloat64)
                {
                    var packedMomentum = FlatSgd.States(packStep.Optimizer).Select(s => s.momentum_buffer).ToList();
                    for (int m = 0; m < k; m++)
                        ModelPacking.CopyOut(packed, m, solos[m], packedMomentum, FlatSgd.States(soloSteps[m].Optimizer));
                }
                var (logits, _) = packStep.Run(cat(inputs, 1), stack(targets, 0));
                for (int m = 0; m < k; m++)
                {
                    var solo = soloSteps[m].Run(inputs[m], targets[m]).Loss.to(ScalarType.Float64).item<double>();
                    var member = nn.functional.cross_entropy(logits[m], targets[m]).to(ScalarType.Float64).item<double>();
                    Assert.True(Math.Abs(member - solo) <= bound * Math.Abs(solo), $"member {m} step {step + 1} loss: packed {member:R}, solo {solo:R}");
                }
            }
            if (inFloat64)
            {
                using var noGrad = no_grad();
                for (int m = 0; m < k; m++)
                {
                    using var unpacked = ModelFactory.Create("resnet18", 1, 5, stem);
                    unpacked.to(ScalarType.Float64);
                    ModelPacking.CopyOut(packed, m, unpacked);
                    var expected = solos[m].state_dict();
                    foreach (var (name, value) in unpacked.state_dict())
                    {
                        var difference = (value - expected[name]).abs().max().to(ScalarType.Float64).item<double>();
                        var scale = expected[name].abs().max().to(ScalarType.Float64).item<double>();
                        Assert.True(difference <= 1e-9 * Math.Max(scale, 1e-6), $"member {m} {name}: differs by {difference:G3} at scale {scale:G3}");
                    }
                }
            }
            foreach (var step in soloSteps) step.Dispose();
        }
        finally
        {
            set_num_threads(threads);
        }
    }

    [Fact]
    public void A_packed_members_checkpoint_resumes_solo_and_a_solo_checkpoint_resumes_packed()
    {
        var store = new CheckpointStore(_root);
        // SGD: what a checkpoint carries across is the weights, BatchNorm buffers and momentum (SAM keeps no state
        // between steps), and SAM's per-member step is proven above.
        var specs = Enumerable.Range(1, 2).Select(r => Spec("sgd", r)).ToArray();
        var packedSaved = specs.Select(_ => new List<CheckpointRef>()).ToArray();
        var packed = specs.Select(_ => new List<EpochMetrics>()).ToArray();
        PackedTrialRunner.Run(specs.Select((s, i) => new PackMember(s, new TrialCheckpointing(store, 1, 1, [], SaveWeights: true),
            null, (m, c) => { packed[i].Add(m); if (c is not null) packedSaved[i].Add(c); })).ToList(), Images12, CPU);

        // Packed epoch 1 → solo epoch 2.
        var resumedSolo = new List<EpochMetrics>();
        ResumeReport? soloResume = null;
        TrialRunner.Run(specs[0], Images12, CPU, r => soloResume = r, (m, _) => resumedSolo.Add(m),
            new TrialCheckpointing(store, 2, 1, [packedSaved[0][0]], SaveWeights: false));
        Assert.Equal(1, soloResume!.StartEpoch);
        AssertClose(packed[0].Skip(1).ToList(), resumedSolo);

        // Solo epoch 1 → packed epoch 2, each member from its own solo checkpoint.
        var soloStore = new CheckpointStore(Path.Combine(_root, "solo"));
        var soloSaved = specs.Select(s =>
        {
            var saved = new List<CheckpointRef>();
            var epochs = new List<EpochMetrics>();
            TrialRunner.Run(s, Images12, CPU, null, (m, c) => { epochs.Add(m); if (c is not null) saved.Add(c); },
                new TrialCheckpointing(soloStore, 1, 1, [], SaveWeights: false));
            return (Epochs: epochs, Saved: saved);
        }).ToArray();
        var resumedPacked = specs.Select(_ => new List<EpochMetrics>()).ToArray();
        var resumes = new ResumeReport?[specs.Length];
        PackedTrialRunner.Run(specs.Select((s, i) => new PackMember(s,
            new TrialCheckpointing(soloStore, 2, 1, [soloSaved[i].Saved[0]], SaveWeights: false),
            r => resumes[i] = r, (m, _) => resumedPacked[i].Add(m))).ToList(), Images12, CPU);
        for (int i = 0; i < specs.Length; i++)
        {
            Assert.Equal(1, resumes[i]!.StartEpoch);
            AssertClose(soloSaved[i].Epochs.Skip(1).ToList(), resumedPacked[i]);
        }
    }

    [Fact]
    public void A_member_that_fails_leaves_the_pack_and_the_others_end_as_their_solo_trials()
    {
        var specs = Enumerable.Range(1, 3).Select(r => Spec("sgd", r)).ToArray();
        var packed = specs.Select(_ => new List<EpochMetrics>()).ToArray();
        var outcomes = PackedTrialRunner.Run(specs.Select((s, i) => new PackMember(s, null, null, (m, _) =>
        {
            if (i == 1) throw new IOException("no space left for member 2's checkpoint");
            packed[i].Add(m);
        })).ToList(), Images12, CPU);

        Assert.IsType<IOException>(outcomes[1].Error);
        Assert.Null(outcomes[1].Result);
        foreach (var i in new[] { 0, 2 })
        {
            Assert.Null(outcomes[i].Error);
            AssertClose(Solo(specs[i], Images12), packed[i]);   // member 2, after the dropped one, shows a pack that lost track of who is who
        }
    }

    [Fact]
    public void A_member_cancelled_alone_leaves_the_pack()
    {
        var specs = Enumerable.Range(1, 2).Select(r => Spec("sgd", r)).ToArray();
        using var superseded = new CancellationTokenSource();
        var epochs = new List<int>();
        var outcomes = PackedTrialRunner.Run([
            new PackMember(specs[0], null, null, (m, _) => { superseded.Cancel(); }, superseded.Token),
            new PackMember(specs[1], null, null, (m, _) => epochs.Add(m.Epoch))], Images12, CPU);
        Assert.IsAssignableFrom<OperationCanceledException>(outcomes[0].Error);
        Assert.Null(outcomes[1].Error);
        Assert.Equal([1, 2], epochs);
    }

    [Fact]
    public void A_pack_holds_the_repeats_of_one_cell_only()
    {
        var error = Assert.Throws<ArgumentException>(() => PackedTrialRunner.Run(
            [new PackMember(Spec("sgd", 1), null, null, (_, _) => { }), new PackMember(Spec("sam", 2), null, null, (_, _) => { })], Images12, CPU));
        Assert.Contains("one cell", error.Message);
    }

    /// <summary>The fused model's grouped convolutions, per-member BatchNorm and batched classifier take other library
    /// kernels than the solo model's (oneDNN returned a wrong channels-last kernel on this host once): every member's
    /// output and gradients against its own solo network run in float64.</summary>
    [Theory]
    [InlineData("imagenet", 12)]
    [InlineData("small", 12)]
    public void The_packed_models_kernels_agree_with_each_member_in_float64(string stem, int size)
    {
        // Every tensor made here stays reachable until the test ends. Without a scope the layers' temporaries (a
        // convolution's output handed straight to BatchNorm) have no .NET reference during the native call, and a
        // collection can finalize one mid-call: once, in a whole-suite run, BatchNorm read a freed input ("tensor does
        // not have a device"). The training loop runs in scopes of its own (TrainingStep.ForwardBackward).
        using var scope = NewDisposeScope();
        const int k = 3;
        var solos = Enumerable.Range(0, k).Select(m => { manual_seed(7 + m); return ModelFactory.Create("resnet18", 3, 5, stem); }).ToList();
        using var packed = ModelPacking.Pack(solos, "resnet18", 3, 5, stem);
        manual_seed(1);
        var inputs = Enumerable.Range(0, k).Select(_ => randn(4, 3, size, size)).ToList();
        var targets = Enumerable.Range(0, k).Select(_ => randint(0, 5, [4])).ToList();

        packed.train();
        var logits = packed.call(cat(inputs, 1));
        Assert.Equal([k, 4L, 5L], logits.shape);
        var loss = PackedTrialRunner.PackLoss(logits, stack(targets, 0));
        loss.backward();

        for (int m = 0; m < k; m++)
        {
            // The solo network in float32 first: its own distance from float64 sets the bar for the pack's.
            var solo = solos[m];
            solo.train();
            using (var bnState = new BatchNormStatsGuard(solo))
            {
                bnState.Save();
                var solo32 = solo.call(inputs[m]);
                nn.functional.cross_entropy(solo32, targets[m]).backward();
                bnState.Restore();
                var grads32 = solo.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.clone());
                foreach (var p in solo.parameters()) p.grad = null;
                solo.to(ScalarType.Float64);
                var soloLogits = solo.call(inputs[m].to(ScalarType.Float64));
                nn.functional.cross_entropy(soloLogits, targets[m]).backward();
                AssertNear(soloLogits, logits[m], solo32, $"member {m} logits");
                var packedParameters = packed.named_parameters().ToDictionary(p => p.name, p => p.parameter);
                foreach (var (name, parameter) in solo.named_parameters())
                    AssertNear(parameter.grad!, ModelPacking.Slice(packedParameters[name].grad!, k, m, parameter.grad!), grads32[name], $"member {m} {name}.grad");
            }
        }
    }

    /// <summary>The pack's float32 value no further from float64 than twice the solo network's float32 value is, or than
    /// 5 % of the largest value. The kernel this guards against was wrong by the size of the outputs (100 % and more).
    /// Why not tighter: this problem (4 images, BatchNorm) amplifies float32 rounding, the pack's and the solo's alike.
    /// Measured at 1, 2 and 4 torch threads, the pack's worst gradient (small stem: member 2's layer2.0.conv2.weight) is
    /// 1.04 % of its largest value from float64 at every thread count; the solo network's is 1.72 % on that same gradient
    /// at 1 thread, 0.12 % at 2, and up to 16–23 % on other parameters. Which side rounds closer moves with the thread
    /// count other tests leave set; neither is the kernel at fault.</summary>
    static void AssertNear(Tensor reference64, Tensor packed32, Tensor solo32, string what)
    {
        double Distance(Tensor t) => (t.to(ScalarType.Float64) - reference64).abs().max().item<double>();
        var (packedDistance, soloDistance) = (Distance(packed32), Distance(solo32));
        var scale = reference64.abs().max().item<double>();
        Assert.True(packedDistance <= Math.Max(5e-2 * Math.Max(scale, 1e-3), 2 * soloDistance),
            $"{what}: max |float32 − float64| = {packedDistance:G3} packed, {soloDistance:G3} solo, at scale {scale:G3}");
    }

    [Fact]
    public void Member_norms_keep_a_members_NaN_to_itself()
    {
        using var model = ModelFactory.Create("resnet18", 1, 5, "small", members: 3);
        using var flat = new FlatParameters(model.parameters());
        var layout = new MemberLayout(flat, 3);
        var perParameter = flat.Parameters.Select(p => p.numel() / 3).Sum();
        var values = flat.Gradients.Values.fill_(1);
        using (var fifth = flat.Gradients.Slice(5)) fifth.view(3, -1)[1].fill_(float.NaN);   // member 2's part of one tensor
        var norms = layout.NormPerMember(values).data<float>().ToArray();
        Assert.InRange(norms[0], Math.Sqrt(perParameter) * (1 - 1e-5), Math.Sqrt(perParameter) * (1 + 1e-5));
        Assert.True(float.IsNaN(norms[1]));
        Assert.InRange(norms[2], Math.Sqrt(perParameter) * (1 - 1e-5), Math.Sqrt(perParameter) * (1 + 1e-5));
        var spread = layout.Expand(tensor(new[] { 1f, 2f, 3f })).data<float>().ToArray();
        Assert.Equal(flat.Values.Values.numel(), spread.Length);
        Assert.Equal(perParameter, spread.LongCount(v => v == 2f));
    }
}
