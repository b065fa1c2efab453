using SamCluster.GpuNode;
using SamCluster.Messages;
using Xunit;

namespace SamCluster.Tests.Cluster;

/// <summary>A node's defaults (issue 27, points 4-5): its threads share the machine's cores among the trials that run
/// at once; its name is the machine's, stable across restarts, with an index for further nodes on the machine; and a
/// node logs each finished trial with its result.</summary>
public sealed class NodeDefaultsTests : IDisposable
{
    readonly string _locks = Path.Combine(Path.GetTempPath(), "samcluster-node-names-test-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_locks)) Directory.Delete(_locks, recursive: true);
    }

    [Theory]
    [InlineData(16, 1, 16)]
    [InlineData(16, 2, 8)]    // one node with 2 slots: 8 threads per trial
    [InlineData(16, 3, 5)]
    [InlineData(2, 4, 1)]     // never fewer than 1
    [InlineData(8, 0, 8)]
    public void Threads_are_the_cores_shared_by_the_trials_that_run_at_once(int cores, int trials, int expected) =>
        Assert.Equal(expected, NodeDefaults.Threads(cores, trials));

    [Fact]
    public void A_default_name_is_the_machines_short_name_with_an_index_after_the_first()
    {
        Assert.Equal("gpu7", NodeDefaults.Name("GPU7.cluster.example.org", 1));
        Assert.Equal("gpu7-2", NodeDefaults.Name("gpu7", 2));
        Assert.Equal("node", NodeDefaults.Name("", 1));
    }

    [Fact]
    public void A_second_node_on_the_machine_takes_the_next_index_and_a_restarted_one_its_name_back()
    {
        using (var first = NodeNameClaim.Take("gpu7", _locks))
        {
            Assert.Equal("gpu7", first.Name);
            using var second = NodeNameClaim.Take("gpu7", _locks);
            Assert.Equal("gpu7-2", second.Name);
        }
        // The first stopped (its lock went with it): the next start is "gpu7" again, not a new name.
        using var restarted = NodeNameClaim.Take("gpu7", _locks);
        Assert.Equal("gpu7", restarted.Name);
    }

    [Fact]
    public void A_lock_folder_that_cannot_be_made_leaves_the_machines_name()
    {
        var file = Path.Combine(Path.GetTempPath(), "samcluster-not-a-folder-" + Guid.NewGuid().ToString("N"));
        File.WriteAllText(file, "");
        try
        {
            using var claim = NodeNameClaim.Take("gpu7", Path.Combine(file, "locks"));
            Assert.Equal("gpu7", claim.Name);
        }
        finally { File.Delete(file); }
    }

    [Fact]
    public void A_lost_node_is_one_line_naming_it_where_it_was_and_what_goes_back_to_the_queue()
    {
        Assert.Equal("node gpu7 (10.1.2.7:4055) lost: its trial d/m/sam/3 goes back to the queue",
            SamCluster.Coordinator.Observers.TrialLogWriter.NodeLostLine("gpu7", "10.1.2.7:4055", ["d/m/sam/3"]));
        Assert.Equal("node gpu7 (10.1.2.7:4055) lost: it held no trial",
            SamCluster.Coordinator.Observers.TrialLogWriter.NodeLostLine("gpu7", "10.1.2.7:4055", []));
    }

    [Fact]
    public void A_finished_trial_is_logged_with_its_result()
    {
        var summary = new TrialSummary(3, 99.1, 91.2, 0.01, 0.3, 45.25);
        Assert.Equal("test acc 91.20 %, train acc 99.10 %, 3 epochs in 45.2 s", TrialWorker.Outcome(summary));
        Assert.Equal("test acc 91.20 %, train acc 99.10 %, 1 epoch in 45.2 s", TrialWorker.Outcome(summary with { Epochs = 1 }));
    }
}
