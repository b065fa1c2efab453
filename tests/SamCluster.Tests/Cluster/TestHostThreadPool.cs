namespace SamCluster.Tests.Cluster;

/// <summary>The test host's thread pool starts with as many threads as the in-process Akka systems need at once. Those
/// systems (TestKit's, and the in-process commands' coordinators and nodes) run their actors on the pool, beside the
/// seven test threads and everything they block on. The pool begins at one worker per core (2 here) and adds about two
/// a second when starved. In whole-suite runs, an actor's message was twice seen to wait minutes for a thread: a
/// TrialWorker's AttemptSuperseded (PackedWorkerTests, past its 2-minute wait) and a test's continuation 2 minutes
/// late.</summary>
static class TestHostThreadPool
{
    const int Floor = 32;

    [System.Runtime.CompilerServices.ModuleInitializer]
    internal static void RaiseFloor()
    {
        ThreadPool.GetMinThreads(out var workers, out var io);
        ThreadPool.SetMinThreads(Math.Max(workers, Floor), Math.Max(io, Floor));
    }
}
