using SamCluster.Experiment;
using SamCluster.Messages;

namespace SamCluster.RunStore;

/// <summary>Who ran the run, as run.json records it while it runs: every node that ran (or is running) a trial, once per
/// node name (again when its facts change: a node restarted with another libtorch, say). The program of the latest
/// start is recorded when the folder is prepared.</summary>
sealed class RunProvenance(string manifestPath, RunManifest manifest)
{
    RunManifest _manifest = manifest;

    /// <summary>run.json as it is now.</summary>
    public RunManifest Manifest => _manifest;

    public void RecordNode(string name, NodeFacts? facts)
    {
        var node = RunNode.From(name, facts);
        var nodes = _manifest.Nodes ?? [];
        if (nodes.Any(n => n == node || (n.Name == name && facts is null))) return;
        _manifest = _manifest with { Nodes = [.. nodes.Where(n => n.Name != name), node] };
        RunManifestFile.Write(manifestPath, _manifest);
    }
}
