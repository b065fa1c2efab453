namespace SamCluster.Experiment;

/// <summary>The result tables' names in a run folder: the run store lays the folder out with them, reporting reads a
/// folder by them (`samcluster report DIR`).</summary>
public static class RunFiles
{
    /// <summary>One row per finished trial.</summary>
    public const string TrialsTable = "trials.csv";

    /// <summary>One row per epoch of every attempt.</summary>
    public const string EpochsTable = "epochs.csv";
}
