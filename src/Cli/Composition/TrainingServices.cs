using System.Reflection;
using System.Runtime.InteropServices;
using SamCluster.Cli.Commands;
using SamCluster.Coordinator.Hosting;
using SamCluster.Experiment;
using SamCluster.Messages;
using SamCluster.Training;
using SamCluster.Training.Checkpoints;
using SamCluster.Training.Data;
using TorchSharp.Modules;
using static TorchSharp.torch.utils;

namespace SamCluster.Cli.Composition;

/// <summary>The training library behind the coordinator's <see cref="CoordinatorServices"/>: this program is where
/// both meet, so the coordinator's project needs no TorchSharp.</summary>
public static class TrainingServices
{
    public static CoordinatorServices ForCoordinator() =>
        new(data => DatasetLoader.CheckAll(data), OpenTensorBoard, OpenCheckpointStore, ThisProgram());

    /// <summary>A TensorBoard event file in <paramref name="logDir"/>, written by TorchSharp's SummaryWriter.</summary>
    public static IScalarWriter OpenTensorBoard(string logDir) => new TensorBoardScalars(tensorboard.SummaryWriter(logDir));

    public static ICheckpointStoreAccess OpenCheckpointStore(string root) => new CheckpointStoreAccess(new CheckpointStore(root));

    /// <summary>TorchSharp's SummaryWriter as the coordinator's scalar writer.</summary>
    sealed class TensorBoardScalars(SummaryWriter writer) : IScalarWriter
    {
        public string LogDir => writer.LogDir;
        public void Add(string tag, float value, int step, long wallTime) => writer.add_scalar(tag, value, step, wallTime);
    }

    /// <summary>The coordinator's view of the training library's checkpoint store.</summary>
    sealed class CheckpointStoreAccess(CheckpointStore store) : ICheckpointStoreAccess
    {
        public void CopyWeights(CheckpointRef weights, string destination) => CheckpointStore.CopyVerified(store.Root, weights, destination);

        public void DeleteTrial(string trialId) => store.DeleteTrial(trialId);
    }

    /// <summary>This program for run.json: version and commit (the build stamps "1.0.0+&lt;commit&gt;" from git), .NET,
    /// TorchSharp, libtorch, and the command line as parsed, its secrets masked (<see cref="SecretOptions"/>).</summary>
    internal static ProgramFacts ThisProgram()
    {
        var stamp = typeof(TrainingServices).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
        var (version, commit) = stamp.Split('+', 2) is [var v, var c] ? (v, c) : (stamp, null);
        return new ProgramFacts(version, commit, RuntimeInformation.FrameworkDescription, TorchRuntime.TorchSharpVersion, TorchRuntime.Describe(),
            Program.RecordedCommandLine);
    }
}
