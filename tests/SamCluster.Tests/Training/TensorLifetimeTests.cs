using SamCluster.Experiment;
using SamCluster.Training;
using SamCluster.Training.Checkpoints;
using SamCluster.Training.Models;
using SamCluster.Training.Optimization;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SamCluster.Tests.Training;

/// <summary>Training's code that runs outside a DisposeScope leaves no tensor for the finalizer to free. TorchSharp keeps
/// no .NET reference to a tensor while libtorch reads it, so a temporary that nothing holds — `a.narrow(…).view(…)`,
/// `t.detach().clone()` — can be finalized by a garbage collection on another thread in the middle of the native call
/// that reads it: libtorch then reads freed memory (trials side by side crashed the process with a segfault in
/// alias_with_sizes_and_strides, under view()). A tensor left for the finalizer is exactly such a temporary, so each
/// case runs on one thread, disposes all it owns, and asks TorchSharp's per-thread counts how many of the tensors this
/// thread made it did not dispose (a finalizer's disposal counts on the finalizer's thread): none. Deterministic; no
/// collection is needed to see it.</summary>
[Collection(TorchGlobalState.Name)]
public sealed class TensorLifetimeTests
{
    /// <summary>Tensors <paramref name="action"/> created on this thread that it did not dispose.</summary>
    private static long LeftForTheFinalizer(Action action)
    {
        var statistics = DisposeScopeManager.Statistics.TensorStatistics;
        var before = statistics.ThreadTotalLiveCount;
        action();
        return statistics.ThreadTotalLiveCount - before;
    }

    [Fact]
    public void The_count_sees_a_temporary_left_to_the_finalizer()
    {
        using var values = zeros(8);
        Assert.Equal(1, LeftForTheFinalizer(() => values.narrow(0, 0, 4).view(2, 2).Dispose()));
        Assert.Equal(0, LeftForTheFinalizer(() =>
        {
            using var scope = NewDisposeScope();
            values.narrow(0, 0, 4).view(2, 2);
        }));
    }

    [Fact]
    public void Flat_parameters_gradients_and_slices()
    {
        using var model = ModelFactory.Create("resnet18", 1, 5);
        Assert.Equal(0, LeftForTheFinalizer(() =>
        {
            using var flat = new FlatParameters(model.parameters());
            using var slice = flat.Values.Slice(3);
        }));
    }

    [Fact]
    public void Sam_steps_with_their_optimizer_batch_norm_guard_and_normaliser()
    {
        using var model = ModelFactory.Create("resnet18", 1, 5);
        using var images = randint(0, 256, [4, 1, 28, 28], ScalarType.Byte);
        using var labels = randint(0, 5, [4], ScalarType.Int64);
        var recipe = RecipeTable.Defaults(1) with { Momentum = 0.9, WeightDecay = 5e-4 };
        // One forward first: the small-map convolutions' tap tables are made once per process and kept (a static cache).
        using (NewDisposeScope()) model.call(images.to(ScalarType.Float32));
        Assert.Equal(0, LeftForTheFinalizer(() =>
        {
            using var step = TrainingStep.Create("sam", model, recipe);
            using var normaliser = new BatchNormaliser([0.5f], [0.3f], CPU);
            for (int i = 0; i < 2; i++)
            {
                using var scope = NewDisposeScope();
                step.Run(normaliser.Apply(images), labels);
            }
        }));
    }

    [Fact]
    public void Weights_written_as_a_state_dict()
    {
        using var model = ModelFactory.Create("resnet18", 1, 5);
        Assert.Equal(0, LeftForTheFinalizer(() =>
        {
            using var file = new MemoryStream();
            TorchStateDictFile.Write(file, model.state_dict().Select(kv => (kv.Key, kv.Value)));
        }));
    }
}
