using SamCluster.Experiment;
using SamCluster.Messages;

namespace SamCluster.Coordinator.Hosting;

/// <summary>TensorBoard scalars of one trial, in one event-file folder.</summary>
public interface IScalarWriter
{
    /// <summary>The folder its event file is in.</summary>
    string LogDir { get; }

    /// <param name="wallTime">Seconds since 1970, as TensorBoard reads an event's wall time.</param>
    void Add(string tag, float value, int step, long wallTime);
}

/// <summary>The checkpoint store as the coordinator reaches it.</summary>
public interface ICheckpointStoreAccess
{
    /// <summary>Copies a trial's final weights out of the store after checking their checksum; throws if it cannot.</summary>
    void CopyWeights(CheckpointRef weights, string destination);

    /// <summary>Removes the trial's checkpoints: a finished trial is never resumed.</summary>
    void DeleteTrial(string trialId);
}

/// <summary>
/// What a coordinator's process needs of the training library, handed in by the program that starts it, so the
/// coordinator's own project references no TorchSharp: reading a grid's data as its trials will (before anything is
/// written), TensorBoard event files, the checkpoint store (to collect weights), and what this program is (run.json).
/// </summary>
/// <param name="CheckData">Reads every data selection as a trial would; throws UserInputException for bad data.</param>
/// <param name="OpenTensorBoard">A scalar writer whose event file goes into the given folder.</param>
/// <param name="OpenCheckpointStore">The checkpoint store rooted at the given folder.</param>
/// <param name="Program">This program's version, its libraries and the command line (passwords masked).</param>
public sealed record CoordinatorServices(
    Action<IEnumerable<DataSpec>> CheckData,
    Func<string, IScalarWriter> OpenTensorBoard,
    Func<string, ICheckpointStoreAccess> OpenCheckpointStore,
    ProgramFacts Program);
