using SamCluster.RunStore;
using SamCluster.Messages;
using SamCluster.Experiment;

namespace SamCluster.Tests.Cluster;

static class ClusterFixtures
{
    public const string Hocon = """
        akka.loglevel = WARNING
        # How long an ExpectMsg waits when a test gives no time. TestKit's 3 s was too short on a 2-core machine busy
        # with the process tests beside it (a first hand-out was seen to take longer); no test waits on the default
        # to prove that something does not happen.
        akka.test.single-expect-default = 15s
        akka.persistence.journal.plugin = "akka.persistence.journal.inmem"
        akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.local"
        akka.persistence.snapshot-store.local.dir = "/tmp/samcluster-test-snapshots"
        """;

    public static TrialSpec Trial(string optimizer, int repeat, int epochs = 2) =>
        new(new TrialKey("fashion-mnist", "resnet18", optimizer, repeat), 42 + repeat,
            new DataSpec("fashion-mnist", "/nowhere", ["0", "1"]), RecipeTable.Defaults(epochs));

    public static EpochMetrics Epoch(int epoch, double testAcc = 80) => new(epoch, 0.5, 85, 0.6, testAcc, 0.001, 1.0, 100);

    public static RunFolder TempRunFolder()
    {
        var dir = Path.Combine(Path.GetTempPath(), "samcluster-test-run-" + Guid.NewGuid().ToString("N")[..8]);
        var grid = Path.Combine(Path.GetTempPath(), "samcluster-test-grid-" + Guid.NewGuid().ToString("N")[..8] + ".yaml");
        File.WriteAllText(grid, "datasets: [fashion-mnist]\n");
        return RunFolder.Prepare(dir, grid, [Trial("sgd", 1)]);
    }
}
