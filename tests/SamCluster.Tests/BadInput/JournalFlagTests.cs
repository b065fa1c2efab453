using SamCluster.Tests.Cluster;
using Xunit;
using Xunit.Abstractions;

namespace SamCluster.Tests.BadInput;

/// <summary>`--journal` (and $SAMCLUSTER_JOURNAL): a connection string that is not one, or names no host or database, is
/// one line and exit 2; a server that cannot be reached is one line and exit 1 (nothing is wrong with the run); both
/// before the run folder is made. No server is needed.</summary>
[Collection(InProcessCli.Name)]
public sealed class JournalFlagTests(ITestOutputHelper log) : BadInputTest(log)
{
    static readonly Dictionary<string, string?> NoEnvironment = new() { ["SAMCLUSTER_JOURNAL"] = null };

    CliRun Coordinator(IReadOnlyDictionary<string, string?> environment, params string[] more)
    {
        var grid = WriteFile("grid.yaml", ValidGrid(Work));
        return InProcessCli.RunWithin(Cli.DefaultLimit, Work, environment,
            ["coordinator", grid, "--out", "run", "--port", ProcessTests.FreePort().ToString(), .. more]);
    }

    [Theory]
    [InlineData("", "--journal is empty")]
    [InlineData("journal.db", "--journal is not a PostgreSQL connection string (Host=H;Port=P;Database=D;Username=U)")]
    [InlineData("Hots=db;Database=runs", "'hots' is not one of its keywords")]
    [InlineData("Host=db;Port=eighty;Database=runs", "the value of 'port' is not valid")]
    [InlineData("Port=5432;Database=runs", "--journal names no Host")]
    [InlineData("Host=db;Username=u", "--journal names no Database")]
    [InlineData("Host=db;Port=70000;Database=runs", "Port 70000 is not a TCP port")]
    public void A_malformed_connection_string_is_refused_before_anything_is_written(string journal, string problem)
    {
        Refused(Coordinator(NoEnvironment, "--journal", journal), problem);
        Assert.False(Directory.Exists(OutDir));
    }

    [Fact]
    public void A_password_in_a_refused_connection_string_is_not_printed()
    {
        var run = Coordinator(NoEnvironment, "--journal", "Host=db;Password=hunter2;Hots=x;Database=runs");
        Refused(run, "'hots' is not one of its keywords");
        Assert.DoesNotContain("hunter2", run.Stderr + run.Stdout);
    }

    [Fact]
    public void The_environment_variable_is_used_when_the_flag_is_not_given_and_named_when_it_is_wrong()
    {
        Refused(Coordinator(new Dictionary<string, string?> { ["SAMCLUSTER_JOURNAL"] = "Host=db" }), "$SAMCLUSTER_JOURNAL names no Database");
        Assert.False(Directory.Exists(OutDir));
    }

    [Fact]
    public void An_unreachable_server_is_one_line_naming_the_journal_exit_1_before_anything_is_written()
    {
        var closed = ProcessTests.FreePort(); // nothing listens there
        var run = Coordinator(NoEnvironment, "--journal", $"Host=127.0.0.1;Port={closed};Database=runs;Username=samcluster;Password=hunter2");
        Cli.AssertFailed(run, Log, $"cannot reach the journal at 127.0.0.1:{closed} (connection refused); the run is intact: run the same command when it is back");
        Assert.True(run.Elapsed < TimeSpan.FromSeconds(10), $"took {run.Elapsed.TotalSeconds:F0} s");
        Assert.DoesNotContain("hunter2", run.Stderr + run.Stdout);
        Assert.False(Directory.Exists(OutDir));
        // `local` takes the same flag (it checks the data first: give it some).
        var grid = ProcessTests.WriteTinyGrid(Work, optimizers: "[sgd]", repeats: 1);
        Cli.AssertFailed(InProcessCli.RunWithin(Cli.DefaultLimit, Work, NoEnvironment, "local", grid, "--out", "run", "--nodes", "1",
            "--journal", $"Host=127.0.0.1;Port={closed};Database=runs"), Log, $"cannot reach the journal at 127.0.0.1:{closed} (connection refused)");
        Assert.False(Directory.Exists(OutDir));
    }
}
