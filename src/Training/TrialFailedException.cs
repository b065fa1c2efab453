namespace SamCluster.Training;

/// <summary>A trial that cannot go on (e.g. the loss diverged). Not a user error and not a crash: the coordinator
/// records the reason and may retry with another seed.</summary>
public sealed class TrialFailedException(string reason) : Exception(reason);
