using System.Diagnostics;
using Xunit;
using Xunit.Abstractions;
using Xunit.Sdk;

// Up to 7 tests at once: the 5 process lanes below, and 2 for the in-process tests (the default is one per core, 2 here).
[assembly: CollectionBehavior(MaxParallelThreads = SamCluster.Tests.Cluster.ProcessLanes.Count + 2)]
[assembly: TestCollectionOrderer("SamCluster.Tests.Cluster.ProcessLanes", "SamCluster.Tests")]

namespace SamCluster.Tests.Cluster;

/// <summary>
/// The tests that run whole samcluster processes (coordinators, nodes, `local`, train-one) mostly wait: for a failure
/// detector, the split-brain resolver, a rejoin's backoff, a server to start. So they run in lanes beside each other
/// and beside the in-process tests, each lane one test at a time. Nothing is shared between lanes: ports are picked
/// free (or, in PartitionTests, are private to network namespaces with names of their own), each test has its own
/// temporary folder, its own PostgreSQL server (PostgresJournalTests), and kills only the processes it started
/// (<see cref="ProcessTests.KillLeftovers"/>). The lanes are balanced by measured duration, the heaviest on the CPU
/// (CheckpointResumeTests, PartitionTests, BallisticTests) in different lanes, and they start before the in-process
/// tests, longest first: the suite lasts about as long as its longest lane. PartitionTests mostly waits for failure
/// detectors, so LoopbackClusterTests shares its lane (behind the packed run and the node service it ended the suite,
/// 40 s after the rest). The in-process CLI tests run beside them too (<see cref="ChildProcessRuntime"/> keeps what
/// they set out of the processes started meanwhile); only <see cref="ProcessTests.Name"/> (the full-disk test, which
/// fills a file system) runs alone after everything else.
/// </summary>
public sealed class ProcessLanes : ITestCollectionOrderer
{
    public const int Count = 5;

    public const string PartitionsAndLoopback = "process lane 1: partitions, loopback cluster";
    public const string Faults = "process lane 2: faults";
    public const string Services = "process lane 3: packed run, node service, remoting garbage";
    public const string Journal = "process lane 4: journal";
    public const string Resume = "process lane 5: resume";

    const string Prefix = "process lane ";

    /// <summary>The in-process collections that take minutes, longest first: they start beside the lanes instead of
    /// being left to the end.</summary>
    static readonly string[] LongInProcess = [Training.TorchGlobalState.Name];   // also the in-process CLI tests'

    /// <summary>The lanes first, in their order; then the long in-process collections; then the others in xunit's
    /// default order.</summary>
    public IEnumerable<ITestCollection> OrderTestCollections(IEnumerable<ITestCollection> testCollections)
    {
        var all = testCollections.ToList();
        static bool IsLane(ITestCollection c) => c.DisplayName.StartsWith(Prefix, StringComparison.Ordinal);
        static int Rank(ITestCollection c) => Array.IndexOf(LongInProcess, c.DisplayName) is var i and >= 0 ? i : LongInProcess.Length;
        return all.Where(IsLane).OrderBy(c => c.DisplayName, StringComparer.Ordinal)
            .Concat(all.Where(c => !IsLane(c)).OrderBy(Rank).ThenBy(c => c.UniqueID.GetHashCode()));
    }
}

/// <summary>
/// What the processes the tests start (<see cref="ProcessTests.Start"/> and the other process tests; the nodes `local`
/// starts inherit it) get, whatever runs beside them:
/// <list type="bullet">
/// <item>How their .NET runtime waits and compiles, for processes that live seconds to minutes on a shared 2-core
/// machine: the thread pool's idle workers block at once instead of spinning (sched_yield) first, and methods stay at
/// the first, quick JIT tier (loops still get optimized on the stack) instead of being compiled a second time once
/// called 30 times, which a short-lived process never earns back. An idle coordinator or node then takes a fraction of
/// the CPU, and a loopback cluster test about a quarter less (a dozen such processes run at once). Nor is the code the
/// JIT writes mapped twice (write, then execute: W^X): most of a coordinator's start is JIT work, and the remapping
/// cost a coordinator that only reads its run back about 8 % of its CPU. What the processes do is the same; a value
/// already set in the environment is kept.</item>
/// <item>A lower CPU priority (nice 10) than the test host's. The in-process tests that share torch's process-wide
/// state run one after another on the test host (<see cref="Training.TorchGlobalState"/>); that chain is the suite's
/// longest, and while the lanes' coordinators and nodes ran beside it at the same priority it got a third of a core or
/// so (SequentialReportTests: 15 s alone, 96 s in the suite), then finished alone on one of the two cores. The
/// processes have slack (their limits are minutes); the chain has none.</item>
/// <item>The test host's working folder and its values of the variables samcluster reads, as they were when the tests
/// began: the in-process CLI tests (<see cref="BadInput.InProcessCli"/>) run beside the process tests and set both
/// for the length of a command, and a process started meanwhile must not inherit them.</item>
/// </list>
/// </summary>
public static class ChildProcessRuntime
{
    static readonly (string Name, string Value)[] Settings =
        [("DOTNET_ThreadPool_UnfairSemaphoreSpinLimit", "0"), ("DOTNET_TieredPGO", "0"), ("DOTNET_TC_CallCounting", "0"),
         ("DOTNET_EnableWriteXorExecute", "0")];

    /// <summary>The variables samcluster (and the .NET host finding the user's folders) reads.</summary>
    static readonly string[] Pinned = ["SAMCLUSTER_JOURNAL", "SAMCLUSTER_LIBTORCH", "SAMCLUSTER_TLS_PASSWORD", "XDG_STATE_HOME", "HOME"];

    const string Niceness = "10";

    static string StartingDirectory = "";
    static Dictionary<string, string?> PinnedValues = [];

    /// <summary>Before any test runs: the folder and values children get.</summary>
    [System.Runtime.CompilerServices.ModuleInitializer]
    internal static void TakeSnapshot()
    {
        StartingDirectory = Directory.GetCurrentDirectory();
        PinnedValues = Pinned.ToDictionary(name => name, Environment.GetEnvironmentVariable);
    }

    public static ProcessStartInfo Apply(ProcessStartInfo start)
    {
        foreach (var (name, value) in Settings)
            if (Environment.GetEnvironmentVariable(name) is null) start.Environment[name] = value;
        foreach (var (name, value) in PinnedValues)
        {
            if (value is null) start.Environment.Remove(name);
            else start.Environment[name] = value;
        }
        if (string.IsNullOrEmpty(start.WorkingDirectory)) start.WorkingDirectory = StartingDirectory;
        // nice execs the program: the process started is the program itself (same pid, same signals).
        if (start.FileName != "nice")
        {
            start.ArgumentList.Insert(0, "-n");
            start.ArgumentList.Insert(1, Niceness);
            start.ArgumentList.Insert(2, start.FileName);
            start.FileName = "nice";
        }
        return start;
    }
}
