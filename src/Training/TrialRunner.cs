using System.Diagnostics;
using SamCluster.Messages;
using SamCluster.Training.Checkpoints;
using SamCluster.Training.Models;
using SamCluster.Training.Optimization;
using TorchSharp;
using static TorchSharp.torch;
using SamCluster.Experiment;

namespace SamCluster.Training;

/// <summary>Runs one trial: model and optimizer from the spec, Recipe.Epochs epochs of shuffled mini-batches, a test
/// pass after each, ReduceLROnPlateau on the test loss; optionally checkpointed and resumed. Everything per step stays
/// on the device; figures are read back once per epoch.</summary>
public static class TrialRunner
{
    /// <summary>Runs the trial from epoch 0 to its end, without checkpoints.</summary>
    public static TrialSummary Run(TrialSpec spec, TrainingTensors data, Device device, Action<EpochMetrics> onEpoch,
        CancellationToken ct = default) =>
        Run(spec, data, device, onResume: null, (metrics, _) => onEpoch(metrics), checkpointing: null, ct).Summary;

    /// <summary>Runs the trial, resuming from the newest of checkpointing.ResumeCandidates that loads (else from epoch
    /// 0), checkpointing every checkpointing.Every epochs and, if asked, writing the final weights.
    /// <paramref name="onResume"/> is called once before training, saying where it starts and, when candidates failed,
    /// why; <paramref name="onEpoch"/> once per epoch trained here (not for those before the resume point), with the
    /// checkpoint written after it, if any. A resumed run ends exactly as an uninterrupted one would on the same
    /// device and thread count: the checkpoint holds all the state the remaining epochs depend on.</summary>
    public static TrialResult Run(TrialSpec spec, TrainingTensors data, Device device, Action<ResumeReport>? onResume,
        Action<EpochMetrics, CheckpointRef?> onEpoch, TrialCheckpointing? checkpointing, CancellationToken ct = default)
    {
        var recipe = spec.Recipe;
        SpecRules.ValidateTraining(spec); // the whole spec was validated before its data was loaded (grid, train-one, node)
        if (data.TrainImages.shape[0] < 2) throw new UserInputException("the training split has fewer than 2 images");
        if (checkpointing is { Every: < 0 }) throw new ArgumentOutOfRangeException(nameof(checkpointing), checkpointing.Every, "Every must be 0 (off) or more");
        if (checkpointing is { Attempt: < 1 }) throw new ArgumentOutOfRangeException(nameof(checkpointing), checkpointing.Attempt, "attempts count from 1");

        var trainer = Trainer.Create(spec, data, device);
        try
        {
            var history = new List<EpochMetrics>();
            ResumeReport resume;
            if (checkpointing is { ResumeCandidates.Count: > 0 })
                (resume, trainer) = Resume(spec, data, device, checkpointing, trainer, history);
            else resume = new ResumeReport(null, 0, "no checkpoint to resume from; starting from epoch 0");
            onResume?.Invoke(resume);
            using var normaliser = new BatchNormaliser(data.Mean, data.Std, device);
            var (model, step, scheduler) = (trainer.Model, trainer.Step, trainer.Schedule);
            for (int epoch = history.Count + 1; epoch <= recipe.Epochs; epoch++)
            {
                var clock = Stopwatch.StartNew();
                var learningRate = CurrentLearningRate(step.Optimizer);
                step.BeginEpoch();
                var (trainLoss, trainAcc) = TrainEpoch(model, step, normaliser, data, recipe.BatchSize, spec.Seed, epoch, device, ct);
                step.EndEpoch();   // evaluation, checkpoints and the weights file hold the weights the optimizer stands for
                var trainSeconds = clock.Elapsed.TotalSeconds;
                var (testLoss, testAcc) = Evaluate(model, normaliser, data.TestImages, data.TestLabels, recipe.BatchSize, ct);
                scheduler.Step(testLoss);
                var metrics = new EpochMetrics(epoch, trainLoss, trainAcc, testLoss, testAcc, learningRate,
                    clock.Elapsed.TotalSeconds, data.TrainImages.shape[0] / trainSeconds);
                history.Add(metrics);
                CheckpointRef? saved = null;
                if (checkpointing is { Every: > 0 } c && epoch % c.Every == 0)
                {
                    saved = c.Store.Save(spec, c.Attempt, model, step.Optimizer, scheduler.State, history);
                    if (c.PruneWhenSaved) c.Store.PruneOlder(saved);
                }
                onEpoch(metrics, saved);
            }
            var weights = checkpointing is { SaveWeights: true }
                ? checkpointing.Store.SaveWeights(spec.Key.Id, checkpointing.Attempt, history.Count, model)
                : null;
            return new TrialResult(TrialSummary.From(history), weights, resume);
        }
        finally
        {
            trainer.Dispose();
        }
    }

    /// <summary>Loads the newest candidate that verifies into <paramref name="trainer"/> and fills
    /// <paramref name="history"/>. After a failed candidate the trainer is rebuilt from the spec, so a load that failed
    /// half-way (TryLoad's one such case: the optimizer's state) leaves nothing behind.</summary>
    private static (ResumeReport, Trainer) Resume(TrialSpec spec, TrainingTensors data, Device device, TrialCheckpointing checkpointing,
        Trainer trainer, List<EpochMetrics> history)
    {
        var report = ResumeFromCandidates(spec, checkpointing, () => (trainer.Model, trainer.Step.Optimizer, trainer.Schedule), () =>
        {
            trainer.Dispose();
            trainer = Trainer.Create(spec, data, device);
        }, history);
        return (report, trainer);
    }

    /// <summary>Tries checkpointing.ResumeCandidates newest first, loading each into what <paramref name="current"/>
    /// returns; after a candidate that fails, <paramref name="rebuild"/> builds those afresh. Fills
    /// <paramref name="history"/> from the one that loads. (The solo trial's and each packed member's resume.)</summary>
    internal static ResumeReport ResumeFromCandidates(TrialSpec spec, TrialCheckpointing checkpointing,
        Func<(nn.Module Model, optim.Optimizer Optimizer, PlateauSchedule Schedule)> current, Action rebuild, List<EpochMetrics> history)
    {
        var problems = new List<string>();
        foreach (var candidate in checkpointing.ResumeCandidates.OrderByDescending(c => c.Epoch).ThenByDescending(c => c.Attempt))
        {
            var name = CheckpointStore.DisplayName(candidate);
            var (model, optimizer, schedule) = current();
            if (checkpointing.Store.TryLoad(candidate, spec, model, optimizer, out var contents, out var problem))
            {
                schedule.Restore(contents.Plateau);
                history.AddRange(contents.History);
                var whose = candidate.Attempt == checkpointing.Attempt ? "this attempt's" : $"attempt {candidate.Attempt}'s";
                var note = $"resumed from epoch {contents.Epoch} ({whose} checkpoint)";
                if (problems.Count > 0) note = $"{string.Join("; ", problems)}; {note}";
                return new ResumeReport(candidate, contents.Epoch, note);
            }
            problems.Add($"checkpoint {name} {problem}");
            rebuild();
        }
        return new ResumeReport(null, 0, $"no usable checkpoint ({string.Join("; ", problems)}); starting from epoch 0");
    }

    /// <summary>A trial's model, optimizer step and schedule, built from its spec.</summary>
    private sealed class Trainer : IDisposable
    {
        public required Models.ResNet Model { get; init; }
        public required TrainingStep Step { get; init; }
        public required PlateauSchedule Schedule { get; init; }

        public static Trainer Create(TrialSpec spec, TrainingTensors data, Device device)
        {
            var model = CreateSeededModel(spec, data);
            try
            {
                model.to(device);
                var step = TrainingStep.Create(spec.Key.Optimizer, model, spec.Recipe);
                return new Trainer { Model = model, Step = step, Schedule = PlateauSchedule.Create(step.Optimizer, spec.Recipe) };
            }
            catch
            {
                model.Dispose();
                throw;
            }
        }

        public void Dispose()
        {
            Step.Dispose();
            Model.Dispose();
        }
    }

    // Model init draws from torch's one global generator; trials started side by side in one process (a worker with
    // several GPUs) must not interleave seeding and drawing, or a rerun would not reproduce.
    private static readonly Lock GlobalGeneratorLock = new();

    internal static Models.ResNet CreateSeededModel(TrialSpec spec, TrainingTensors data)
    {
        lock (GlobalGeneratorLock)
        {
            torch.manual_seed(spec.Seed);
            return ModelFactory.Create(spec.Key.Model, data.Channels, data.Classes, spec.Recipe.Stem);
        }
    }

    public static double CurrentLearningRate(optim.Optimizer optimizer) => optimizer.ParamGroups.First().LearningRate;

    private static (double Loss, double Accuracy) TrainEpoch(nn.Module<Tensor, Tensor> model, TrainingStep step,
        BatchNormaliser normaliser, TrainingTensors data, int batchSize, long seed, int epoch, Device device, CancellationToken ct)
    {
        model.train();
        using var epochScope = NewDisposeScope();
        long count = data.TrainImages.shape[0];
        // The order comes from a CPU generator so CPU and CUDA runs of the same seed see the same batches.
        using var generator = new Generator(unchecked((ulong)(seed + epoch)), CPU);
        var order = randperm(count, generator: generator).to(device);
        var batches = BatchRanges(count, batchSize);
        var stepLosses = zeros(batches.Count, device: device);
        var correct = zeros(1, ScalarType.Int64, device: device);

        for (int s = 0; s < batches.Count; s++)
        {
            ct.ThrowIfCancellationRequested();
            using var stepScope = NewDisposeScope();
            var (start, length) = batches[s];
            var indices = order.narrow(0, start, length);
            var input = normaliser.Apply(data.TrainImages.index_select(0, indices));
            var target = data.TrainLabels.index_select(0, indices);
            var (logits, loss) = step.Run(input, target);
            stepLosses[s].copy_(loss);
            correct.AddInPlace(logits.argmax(1).eq(target).sum());
        }

        // One read-back per epoch: the per-step losses (to find the first NaN/inf) and the correct count.
        var losses = stepLosses.cpu().data<float>().ToArray();
        for (int s = 0; s < losses.Length; s++)
            if (!float.IsFinite(losses[s]))
                throw new TrialFailedException($"loss became {(float.IsNaN(losses[s]) ? "NaN" : "infinite")} at epoch {epoch}, step {s + 1}");
        long used = batches.Sum(b => b.Length);
        double lossSum = 0;
        for (int s = 0; s < losses.Length; s++) lossSum += losses[s] * batches[s].Length;
        return (lossSum / used, 100.0 * correct.cpu().item<long>() / used);
    }

    /// <summary>Consecutive (start, length) batches; a last batch of one image is dropped (BatchNorm cannot train on it).</summary>
    public static IReadOnlyList<(long Start, long Length)> BatchRanges(long count, int batchSize)
    {
        var ranges = new List<(long, long)>();
        for (long start = 0; start < count; start += batchSize)
        {
            var length = Math.Min(batchSize, count - start);
            if (length >= 2 || start == 0) ranges.Add((start, length));
        }
        return ranges;
    }

    /// <summary>Test loss (mean cross-entropy) and accuracy in %, eval mode, no autograd.</summary>
    public static (double Loss, double Accuracy) Evaluate(nn.Module<Tensor, Tensor> model, BatchNormaliser normaliser,
        Tensor images, Tensor labels, int batchSize, CancellationToken ct = default)
    {
        model.eval();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        long count = images.shape[0];
        if (count == 0) return (double.NaN, double.NaN);
        var lossSum = zeros(1, ScalarType.Float64, device: images.device);
        var correct = zeros(1, ScalarType.Int64, device: images.device);
        for (long start = 0; start < count; start += batchSize)
        {
            ct.ThrowIfCancellationRequested();
            using var stepScope = NewDisposeScope();
            var length = Math.Min(batchSize, count - start);
            var target = labels.narrow(0, start, length);
            var logits = model.call(normaliser.Apply(images.narrow(0, start, length)));
            lossSum.AddInPlace(nn.functional.cross_entropy(logits, target, reduction: nn.Reduction.Sum).to(ScalarType.Float64));
            correct.AddInPlace(logits.argmax(1).eq(target).sum());
        }
        return (lossSum.cpu().item<double>() / count, 100.0 * correct.cpu().item<long>() / count);
    }
}
