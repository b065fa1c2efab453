using SamCluster.Coordinator.Lifecycle;
using SamCluster.RunStore;
using SamCluster.Messages;

namespace SamCluster.Coordinator.Observers;

/// <summary>Lists in run.json every node that ran a trial of the run, with what it runs on (<see cref="NodeFacts"/>).</summary>
public sealed class ManifestNodes(RunFolder folder) : IRunObserver
{
    public void OnNodeAtWork(string node, NodeFacts? facts) => folder.RecordNode(node, facts);
}
