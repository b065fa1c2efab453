using System.Diagnostics;
using SamCluster.Messages;
using SamCluster.Training.Checkpoints;
using SamCluster.Training.Models;
using SamCluster.Training.Optimization;
using TorchSharp;
using static TorchSharp.torch;

namespace SamCluster.Training;

/// <summary>One trial of a pack: its spec, checkpointing and callbacks, as <see cref="TrialRunner.Run(TrialSpec, TrainingTensors, Device, Action{ResumeReport}?, Action{EpochMetrics, CheckpointRef?}, TrialCheckpointing?, CancellationToken)"/>
/// takes them for a solo trial. <paramref name="Cancel"/> is this member's alone (its attempt superseded): the member
/// leaves the pack and the others go on.</summary>
public sealed record PackMember(
    TrialSpec Spec,
    TrialCheckpointing? Checkpointing,
    Action<ResumeReport>? OnResume,
    Action<EpochMetrics, CheckpointRef?> OnEpoch,
    CancellationToken Cancel = default);

/// <summary>How one member of a pack ended: its result, or the exception that ended it alone (a NaN loss, its own
/// cancellation, a checkpoint it could not write), thrown as it would have been in a solo run.</summary>
public sealed record PackMemberOutcome(TrialResult? Result, Exception? Error);

/// <summary>
/// Trains the repeats of one cell (same dataset, model, optimizer and recipe; different seeds) as one fused model
/// (<see cref="ResNet"/> with K members): one forward and backward pass, one optimizer step for all of them, so a GPU
/// launches the kernels of one small trial for K. Each member keeps everything its solo trial has: its initial weights
/// (its seed), its batch order (its seed's permutation), its loss (the members' losses are summed, and their gradients
/// stay disjoint), its SAM radius (its own gradient norm), its learning rate and plateau schedule, its metrics, its
/// checkpoints (the same per-trial files a solo trial writes: a member resumes solo and a solo trial resumes packed) and
/// its weights file. Packed and solo runs are equivalent, not bit-identical: the fused kernels accumulate in another
/// order. A member that fails (NaN loss, a checkpoint it cannot write) or is cancelled leaves the pack; the others go
/// on. Members that resume from different epochs train as separate packs, one after another; optimizers whose step
/// reduces over the whole model in ways not split per member (Momentum-SAM, LookSAM) train their members one after
/// another (<see cref="TrainingStep.SupportsPacking"/>).
/// </summary>
public static class PackedTrialRunner
{
    /// <summary>Runs every member to its end and returns their outcomes in member order. Callbacks run on the calling
    /// thread. <paramref name="cancel"/> stops the whole pack (the node shutting down): it throws
    /// OperationCanceledException.</summary>
    public static IReadOnlyList<PackMemberOutcome> Run(IReadOnlyList<PackMember> members, TrainingTensors data, Device device,
        CancellationToken cancel = default)
    {
        if (members.Count == 0) throw new ArgumentException("a pack has at least one member", nameof(members));
        var first = members[0].Spec;
        foreach (var member in members.Skip(1))
        {
            var (key, other) = (first.Key, member.Spec.Key);
            if (key.Dataset != other.Dataset || key.Model != other.Model || key.Optimizer != other.Optimizer || key.Cell != other.Cell
                || member.Spec.Recipe != first.Recipe || member.Spec.Data != first.Data)
                throw new ArgumentException($"a pack holds the repeats of one cell: {member.Spec.Key.Id} is not of {first.Key.Id}'s");
        }
        var outcomes = new PackMemberOutcome?[members.Count];
        if (members.Count == 1 || !TrainingStep.SupportsPacking(first.Key.Optimizer))
        {
            for (int i = 0; i < members.Count; i++) outcomes[i] = RunSolo(members[i], data, device, cancel);
            return outcomes.Select(o => o!).ToList();
        }

        // Each member's solo state (seeded weights, or its checkpoint's), then the pack(s) by resume point.
        var shadows = new MemberShadow?[members.Count];
        try
        {
            for (int i = 0; i < members.Count; i++)
            {
                cancel.ThrowIfCancellationRequested();
                try
                {
                    shadows[i] = MemberShadow.Start(members[i], data, device);
                }
                catch (Exception e) when (e is not OperationCanceledException || !cancel.IsCancellationRequested)
                {
                    outcomes[i] = new PackMemberOutcome(null, e);
                }
            }
            var groups = Enumerable.Range(0, members.Count).Where(i => shadows[i] is not null)
                .GroupBy(i => shadows[i]!.History.Count).OrderByDescending(g => g.Key);
            foreach (var group in groups)
            {
                var indices = group.ToArray();
                var results = TrainTogether(indices.Select(i => shadows[i]!).ToArray(), data, device, cancel);
                for (int j = 0; j < indices.Length; j++) outcomes[indices[j]] = results[j];
            }
        }
        finally
        {
            foreach (var shadow in shadows) shadow?.Dispose();
        }
        return outcomes.Select(o => o!).ToList();
    }

    private static PackMemberOutcome RunSolo(PackMember member, TrainingTensors data, Device device, CancellationToken cancel)
    {
        cancel.ThrowIfCancellationRequested();
        using var either = CancellationTokenSource.CreateLinkedTokenSource(cancel, member.Cancel);
        try
        {
            return new PackMemberOutcome(
                TrialRunner.Run(member.Spec, data, device, member.OnResume, member.OnEpoch, member.Checkpointing, either.Token), null);
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e)
        {
            return new PackMemberOutcome(null, e);
        }
    }

    /// <summary>A member's solo trial as it stands: its model, an SGD over it holding its momentum, its schedule, its
    /// history. The pack trains; the shadow takes the member's slices for checkpoints and the weights file.</summary>
    private sealed class MemberShadow : IDisposable
    {
        public required PackMember Member { get; init; }
        public required ResNet Model { get; set; }
        public required optim.Optimizer Sgd { get; set; }
        public required PlateauSchedule Schedule { get; set; }
        public List<EpochMetrics> History { get; } = [];
        public ResumeReport Resume { get; set; } = new(null, 0, "no checkpoint to resume from; starting from epoch 0");

        public static MemberShadow Start(PackMember member, TrainingTensors data, Device device)
        {
            var (model, sgd, schedule) = Build(member.Spec, data, device);
            var shadow = new MemberShadow { Member = member, Model = model, Sgd = sgd, Schedule = schedule };
            try
            {
                if (member.Checkpointing is { ResumeCandidates.Count: > 0 } checkpointing)
                    shadow.Resume = TrialRunner.ResumeFromCandidates(member.Spec, checkpointing, () => (shadow.Model, shadow.Sgd, shadow.Schedule), () =>
                    {
                        shadow.DisposeModel();
                        (shadow.Model, shadow.Sgd, shadow.Schedule) = Build(member.Spec, data, device);
                    }, shadow.History);
                member.OnResume?.Invoke(shadow.Resume);
                return shadow;
            }
            catch
            {
                shadow.Dispose();
                throw;
            }
        }

        static (ResNet, optim.Optimizer, PlateauSchedule) Build(TrialSpec spec, TrainingTensors data, Device device)
        {
            var model = TrialRunner.CreateSeededModel(spec, data);
            model.to(device);
            var recipe = spec.Recipe;
            var sgd = optim.SGD(model.parameters(), recipe.LearningRate, momentum: recipe.Momentum, weight_decay: recipe.WeightDecay);
            return (model, sgd, PlateauSchedule.Create(sgd, recipe));
        }

        IReadOnlyList<TorchSharp.Modules.SGD.State> States => FlatSgd.States(Sgd);

        /// <summary>The momentum buffers a checkpoint gave this member, in parameter order; null before any step.</summary>
        public Tensor?[] Momentum => States.Select(s => s.momentum_buffer).ToArray();

        /// <summary>Takes the member's slices of the pack (weights, BatchNorm buffers, momentum) into the shadow.</summary>
        public void TakeFrom(ResNet packed, int member, IReadOnlyList<Tensor?> packedMomentum) =>
            ModelPacking.CopyOut(packed, member, Model, packedMomentum, States);

        void DisposeModel()
        {
            Sgd.Dispose();
            Model.Dispose();
        }

        public void Dispose() => DisposeModel();
    }

    /// <summary>Trains members that start at the same epoch as one packed model to their last epoch.</summary>
    private static PackMemberOutcome[] TrainTogether(MemberShadow[] shadows, TrainingTensors data, Device device, CancellationToken cancel)
    {
        int k = shadows.Length;
        var outcomes = new PackMemberOutcome?[k];
        var spec = shadows[0].Member.Spec;
        var recipe = spec.Recipe;
        if (k == 1)
        {
            // Alone at its resume point: its solo run (which finds the same checkpoint again).
            outcomes[0] = RunSolo(shadows[0].Member with { OnResume = null }, data, device, cancel);   // its resume was reported
            return [outcomes[0]!];
        }

        var alive = Enumerable.Repeat(true, k).ToArray();
        using var aliveIndex = new AliveMembers(k, device);
        using var packed = ModelPacking.Pack(shadows.Select(s => s.Model).ToList(), spec.Key.Model, data.Channels, data.Classes, recipe.Stem);
        using var step = TrainingStep.Create(spec.Key.Optimizer, packed, recipe, aliveIndex.Loss, members: k);
        AdoptMomentum(shadows, packed, step);
        using var normaliser = new BatchNormaliser(data.Mean, data.Std, device);

        void Drop(int m, Exception why)
        {
            alive[m] = false;
            aliveIndex.Drop(m);
            outcomes[m] = new PackMemberOutcome(null, why);
        }

        for (int epoch = shadows[0].History.Count + 1; epoch <= recipe.Epochs && alive.Any(a => a); epoch++)
        {
            cancel.ThrowIfCancellationRequested();
            for (int m = 0; m < k; m++)
                if (alive[m] && shadows[m].Member.Cancel.IsCancellationRequested) Drop(m, new OperationCanceledException(shadows[m].Member.Cancel));
            if (!alive.Any(a => a)) break;
            var clock = Stopwatch.StartNew();
            var rates = shadows.Select((s, m) => alive[m] ? s.Schedule.LearningRate : 0.0).ToArray();
            step.SetMemberLearningRates(rates);
            step.BeginEpoch();
            var train = TrainEpoch(packed, step, normaliser, data, recipe.BatchSize, shadows.Select(s => s.Member.Spec.Seed).ToArray(), epoch,
                device, alive, cancel);
            step.EndEpoch();
            var trainSeconds = clock.Elapsed.TotalSeconds;
            var test = Evaluate(packed, normaliser, data.TestImages, data.TestLabels, recipe.BatchSize, cancel);
            var momentum = FlatSgd.States(step.Optimizer).Select(s => s.momentum_buffer).ToArray();
            for (int m = 0; m < k; m++)
            {
                if (!alive[m]) continue;
                var shadow = shadows[m];
                try
                {
                    if (train[m].Failure is { } failure) throw new TrialFailedException(failure);
                    shadow.Schedule.Step(test[m].Loss);
                    var metrics = new EpochMetrics(epoch, train[m].Loss, train[m].Accuracy, test[m].Loss, test[m].Accuracy, rates[m],
                        clock.Elapsed.TotalSeconds, data.TrainImages.shape[0] / trainSeconds);
                    shadow.History.Add(metrics);
                    CheckpointRef? saved = null;
                    if (shadow.Member.Checkpointing is { Every: > 0 } c && epoch % c.Every == 0)
                    {
                        shadow.TakeFrom(packed, m, momentum);
                        saved = c.Store.Save(shadow.Member.Spec, c.Attempt, shadow.Model, shadow.Sgd, shadow.Schedule.State, shadow.History);
                        if (c.PruneWhenSaved) c.Store.PruneOlder(saved);
                    }
                    shadow.Member.OnEpoch(metrics, saved);
                }
                catch (Exception e) when (e is not OperationCanceledException || !cancel.IsCancellationRequested)
                {
                    Drop(m, e);
                }
            }
        }

        for (int m = 0; m < k; m++)
        {
            if (!alive[m]) continue;
            var shadow = shadows[m];
            try
            {
                CheckpointRef? weights = null;
                if (shadow.Member.Checkpointing is { SaveWeights: true } c)
                {
                    ModelPacking.CopyOut(packed, m, shadow.Model);
                    weights = c.Store.SaveWeights(shadow.Member.Spec.Key.Id, c.Attempt, shadow.History.Count, shadow.Model);
                }
                outcomes[m] = new PackMemberOutcome(new TrialResult(TrialSummary.From(shadow.History), weights, shadow.Resume), null);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancel.IsCancellationRequested)
            {
                outcomes[m] = new PackMemberOutcome(null, e);
            }
        }
        return outcomes.Select(o => o!).ToArray();
    }

    /// <summary>Resumed members bring their momentum: the pack's SGD takes it, member-major, before its first step.</summary>
    private static void AdoptMomentum(MemberShadow[] shadows, ResNet packed, TrainingStep step)
    {
        var perMember = shadows.Select(s => s.Momentum).ToArray();
        if (perMember.All(m => m.All(b => b is null))) return;
        if (perMember.Any(m => m.Any(b => b is null)))
            throw new InvalidOperationException("members resumed at one epoch, some with momentum and some without");
        var states = FlatSgd.States(step.Optimizer);
        var parameters = packed.parameters().ToArray();
        for (int i = 0; i < states.Count; i++)
        {
            using var scope = NewDisposeScope();
            states[i].momentum_buffer = cat(perMember.Select(m => m[i]!.flatten()).ToList(), 0).view(parameters[i].shape).DetachFromDisposeScope();
        }
    }

    /// <summary>Each member's mean cross-entropy, [K], from a packed model's logits [K, B, classes] and the members'
    /// targets [K, B]. Their sum is a pack's loss: each member's gradients are its own loss's.</summary>
    public static Tensor MemberLosses(Tensor logits, Tensor target)
    {
        var (k, b) = (logits.shape[0], logits.shape[1]);
        return nn.functional.cross_entropy(logits.reshape(k * b, -1), target.reshape(k * b), reduction: nn.Reduction.None).view(k, b).mean([1]);
    }

    /// <summary>A whole pack's loss: every member's mean cross-entropy, summed.</summary>
    public static Tensor PackLoss(Tensor logits, Tensor target) => MemberLosses(logits, target).sum();

    /// <summary>Which members still train, and the pack's loss over them: each member's mean cross-entropy, summed
    /// (a member's gradients are its own loss's). A dropped member's loss is left out, not multiplied by 0: its NaN
    /// would survive the multiplication.</summary>
    private sealed class AliveMembers(int members, Device device) : IDisposable
    {
        readonly bool[] _alive = Enumerable.Repeat(true, members).ToArray();
        Tensor _index = tensor(Enumerable.Range(0, members).Select(m => (long)m).ToArray(), device: device).DetachFromDisposeScope();

        public void Drop(int member)
        {
            _alive[member] = false;
            var kept = Enumerable.Range(0, members).Where(m => _alive[m]).Select(m => (long)m).ToArray();
            _index.Dispose();
            _index = tensor(kept, device: device).DetachFromDisposeScope();
        }

        public Tensor Loss(Tensor logits, Tensor target) => MemberLosses(logits, target).index_select(0, _index).sum();

        public void Dispose() => _index.Dispose();
    }

    private static (double Loss, double Accuracy, string? Failure)[] TrainEpoch(ResNet model, TrainingStep step, BatchNormaliser normaliser,
        TrainingTensors data, int batchSize, long[] seeds, int epoch, Device device, bool[] alive, CancellationToken ct)
    {
        model.train();
        int k = seeds.Length;
        using var epochScope = NewDisposeScope();
        long count = data.TrainImages.shape[0];
        // Each member's order, as its solo trial draws it (TrialRunner.TrainEpoch).
        var orders = seeds.Select(seed =>
        {
            using var generator = new Generator(unchecked((ulong)(seed + epoch)), CPU);
            return randperm(count, generator: generator).to(device);
        }).ToArray();
        var batches = TrialRunner.BatchRanges(count, batchSize);
        var stepLosses = zeros(batches.Count, k, device: device);
        var correct = zeros(k, ScalarType.Int64, device: device);

        for (int s = 0; s < batches.Count; s++)
        {
            ct.ThrowIfCancellationRequested();
            using var stepScope = NewDisposeScope();
            var (start, length) = batches[s];
            var indices = orders.Select(o => o.narrow(0, start, length)).ToArray();
            var input = cat(indices.Select(i => normaliser.Apply(data.TrainImages.index_select(0, i))).ToList(), 1);   // [B, K·C, H, W]
            var target = stack(indices.Select(i => data.TrainLabels.index_select(0, i)).ToList(), 0);                   // [K, B]
            var (logits, _) = step.Run(input, target);
            using (no_grad())
            {
                stepLosses[s].copy_(MemberLosses(logits, target));
                correct.AddInPlace(logits.argmax(2).eq(target).sum([1]));
            }
        }

        // One read-back per epoch, as the solo loop.
        var lossTable = stepLosses.cpu().data<float>().ToArray();
        var correctCounts = correct.cpu().data<long>().ToArray();
        long used = batches.Sum(b => b.Length);
        var result = new (double, double, string?)[k];
        for (int m = 0; m < k; m++)
        {
            if (!alive[m]) continue;
            string? failure = null;
            double lossSum = 0;
            for (int s = 0; s < batches.Count; s++)
            {
                var loss = lossTable[s * k + m];
                if (!float.IsFinite(loss))
                {
                    failure = $"loss became {(float.IsNaN(loss) ? "NaN" : "infinite")} at epoch {epoch}, step {s + 1}";
                    break;
                }
                lossSum += loss * batches[s].Length;
            }
            result[m] = (lossSum / used, 100.0 * correctCounts[m] / used, failure);
        }
        return result;
    }

    /// <summary>Each member's test loss (mean cross-entropy) and accuracy in %: every member sees the whole test split.</summary>
    private static (double Loss, double Accuracy)[] Evaluate(ResNet model, BatchNormaliser normaliser, Tensor images, Tensor labels,
        int batchSize, CancellationToken ct)
    {
        model.eval();
        int k = model.Members;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        long count = images.shape[0];
        if (count == 0) return Enumerable.Repeat((double.NaN, double.NaN), k).ToArray();
        var lossSum = zeros(k, ScalarType.Float64, device: images.device);
        var correct = zeros(k, ScalarType.Int64, device: images.device);
        for (long start = 0; start < count; start += batchSize)
        {
            ct.ThrowIfCancellationRequested();
            using var stepScope = NewDisposeScope();
            var length = Math.Min(batchSize, count - start);
            var target = labels.narrow(0, start, length);
            var logits = model.call(normaliser.Apply(images.narrow(0, start, length)).repeat(1, k, 1, 1));   // [K, B, classes]
            var targets = target.unsqueeze(0).expand(k, length);
            lossSum.AddInPlace(nn.functional.cross_entropy(logits.reshape(k * length, -1), targets.reshape(k * length), reduction: nn.Reduction.None)
                .view(k, length).to(ScalarType.Float64).sum([1]));
            correct.AddInPlace(logits.argmax(2).eq(targets).sum([1]));
        }
        var losses = lossSum.cpu().data<double>().ToArray();
        var hits = correct.cpu().data<long>().ToArray();
        return Enumerable.Range(0, k).Select(m => (losses[m] / count, 100.0 * hits[m] / count)).ToArray();
    }
}
