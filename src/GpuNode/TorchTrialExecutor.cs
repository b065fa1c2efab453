using SamCluster.Messages;
using SamCluster.Training;
using SamCluster.Training.Checkpoints;
using SamCluster.Training.Data;
using SamCluster.Experiment;

namespace SamCluster.GpuNode;

/// <summary>
/// Trains trials with TorchSharp. A node loads each dataset once (decoded, cached) and copies it once to each of its
/// devices; every trial on that device shares those tensors (read-only), so the per-trial cost is the training alone.
/// Checkpoints go to the node's own checkpoint store when it has one (--checkpoint-dir), else to the one the
/// coordinator names (the same folder for `local`).
/// </summary>
public sealed class TorchTrialExecutor(string? checkpointDir = null) : ITrialExecutor, IDisposable
{
    readonly Dictionary<DataSpec, ImageDataset> _hostData = new();
    readonly Dictionary<(DataSpec Data, string Device), TrainingTensors> _deviceData = new();
    readonly Lock _gate = new();
    readonly CountdownEvent _running = new(1); // 1 = the executor itself; each trial adds one while it runs

    public TrialResult Run(AssignTrial assignment, string device, Action<ResumeReport> onResume,
        Action<EpochMetrics, CheckpointRef?> onEpoch, CancellationToken cancel)
    {
        if (!_running.TryAddCount()) throw new OperationCanceledException("the node is shutting down");
        try
        {
            SpecRules.Validate(assignment.Trial); // the grid's rules, before any data is read for it
            var torchDevice = TrainingDevice.Resolve(device);
            var data = DataOn(assignment.Trial.Data, device, torchDevice);
            var checkpointing = CheckpointingOf(assignment);
            return TrialRunner.Run(assignment.Trial, data, torchDevice, onResume, onEpoch, checkpointing, cancel);
        }
        finally
        {
            _running.Signal();
        }
    }

    /// <summary>The members train as one fused model (<see cref="PackedTrialRunner"/>); each keeps its own checkpoints.</summary>
    public IReadOnlyList<PackMemberOutcome> RunPack(IReadOnlyList<PackAssignment> members, string device, CancellationToken cancel)
    {
        if (members.Count == 0) throw new ArgumentException("a pack has at least one member", nameof(members));
        if (!_running.TryAddCount()) throw new OperationCanceledException("the node is shutting down");
        try
        {
            var outcomes = new PackMemberOutcome?[members.Count];
            var runnable = new List<(int Index, PackMember Member)>();
            for (int i = 0; i < members.Count; i++)
            {
                var m = members[i];
                try
                {
                    SpecRules.Validate(m.Assignment.Trial); // the grid's rules, before any data is read for it
                    runnable.Add((i, new PackMember(m.Assignment.Trial, CheckpointingOf(m.Assignment), m.OnResume, m.OnEpoch, m.Cancel)));
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    outcomes[i] = new PackMemberOutcome(null, e);
                }
            }
            if (runnable.Count > 0)
            {
                var torchDevice = TrainingDevice.Resolve(device);
                var data = DataOn(members[runnable[0].Index].Assignment.Trial.Data, device, torchDevice);
                var ran = PackedTrialRunner.Run(runnable.Select(r => r.Member).ToList(), data, torchDevice, cancel);
                for (int j = 0; j < runnable.Count; j++) outcomes[runnable[j].Index] = ran[j];
            }
            return outcomes.Select(o => o!).ToList();
        }
        finally
        {
            _running.Signal();
        }
    }

    TrialCheckpointing? CheckpointingOf(AssignTrial assignment) => StoreOf(assignment) is { } store
        ? new TrialCheckpointing(store, assignment.Attempt, assignment.CheckpointEvery, assignment.ResumeFrom, SaveWeights: true)
        : null;

    public void CheckpointRecorded(AssignTrial assignment, CheckpointRef checkpoint) => StoreOf(assignment)?.PruneOlder(checkpoint);

    CheckpointStore? StoreOf(AssignTrial assignment) =>
        (checkpointDir ?? assignment.CheckpointDir) is { } root ? new CheckpointStore(root) : null;

    TrainingTensors DataOn(DataSpec spec, string device, TorchSharp.torch.Device torchDevice)
    {
        lock (_gate)
        {
            if (_deviceData.TryGetValue((spec, device), out var cached)) return cached;
            if (!_hostData.TryGetValue(spec, out var host))
                _hostData[spec] = host = DatasetLoader.Load(spec);
            var onDevice = host.To(torchDevice);
            var tensors = new TrainingTensors(onDevice.TrainImages, onDevice.TrainLabels, onDevice.TestImages, onDevice.TestLabels,
                onDevice.Mean, onDevice.Std, onDevice.ClassNames.Count);
            _deviceData[(spec, device)] = tensors;
            return tensors;
        }
    }

    /// <summary>Waits for running trials to stop (they were cancelled with their workers and stop at the next step):
    /// freeing the shared tensors under a step still in native code would crash the process.</summary>
    public void Dispose()
    {
        _running.Signal();
        _running.Wait(TimeSpan.FromMinutes(2));
        lock (_gate)
        {
            foreach (var t in _deviceData.Values)
            {
                t.TrainImages.Dispose(); t.TrainLabels.Dispose(); t.TestImages.Dispose(); t.TestLabels.Dispose();
            }
            foreach (var d in _hostData.Values) d.Dispose();
            _deviceData.Clear();
            _hostData.Clear();
        }
    }
}
