using Xunit;

namespace SamCluster.Tests.Training;

/// <summary>Tests that seed or draw from torch's process-wide generator run one after another, not in parallel,
/// on one intra-op thread: the build machine's 2 cores are shared, and OpenMP threads spin badly when oversubscribed.</summary>
[CollectionDefinition(Name)]
public sealed class TorchGlobalState : ICollectionFixture<TorchGlobalState.OneThread>
{
    public const string Name = "torch global state";

    public sealed class OneThread
    {
        public OneThread() => TorchSharp.torch.set_num_threads(1);
    }
}
