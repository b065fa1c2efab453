using Xunit;

namespace SamCluster.Tests.Training;

/// <summary>Tests that seed or draw from torch's process-wide generator run one after another, not in parallel.</summary>
[CollectionDefinition(Name)]
public sealed class TorchGlobalState
{
    public const string Name = "torch global state";
}
