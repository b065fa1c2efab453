using System.Net;
using System.Net.Sockets;
using SamCluster.Experiment.Grid;
using SamCluster.RunStore;
using SamCluster.Tests.Cluster;
using Xunit;
using Xunit.Abstractions;

namespace SamCluster.Tests.BadInput;

/// <summary>`coordinator` and `local` refuse what would mix runs, lose files or cannot start, before writing anything.</summary>
[Collection(InProcessCli.Name)]
public sealed class RunFolderTests(ITestOutputHelper log) : BadInputTest(log)
{
    string Port() => ProcessTests.FreePort().ToString();

    /// <summary>End to end, in a process of its own.</summary>
    [Fact]
    public void An_out_folder_holding_a_run_of_a_different_grid_is_refused_and_left_as_it_was()
    {
        ExistingRun();
        var other = WriteFile("other.yaml", ValidGrid(Work).Replace("lr: 0.001", "lr: 0.01"));
        var before = FolderSnapshot.Take(OutDir);

        Refused(Cli.Run(Work, "coordinator", other, "--out", "run", "--port", Port()), "--out run", "a run of a different grid",
            "changes 'lr' of trial fashion-mnist/resnet18/sgd/1 from 0.001 to 0.01");
        FolderSnapshot.AssertUnchanged(before, OutDir);
        Refused(Cli.Run(Work, "local", other, "--out", "run", "--nodes", "1"), "--out run", "a run of a different grid");
        FolderSnapshot.AssertUnchanged(before, OutDir);
    }

    [Fact]
    public void An_out_folder_whose_manifest_is_corrupt_is_refused_and_left_as_it_was()
    {
        var grid = ExistingRun();
        File.WriteAllText(Path.Combine(OutDir, "run.json"), "{ not json");
        var before = FolderSnapshot.Take(OutDir);
        Refused(Run("coordinator", grid, "--out", "run", "--port", Port()), "run.json", "not a SamCluster run manifest");
        FolderSnapshot.AssertUnchanged(before, OutDir);
    }

    [Fact]
    public void An_out_folder_whose_journal_is_not_a_database_is_refused_and_left_as_it_was()
    {
        var grid = ExistingRun();
        File.WriteAllText(Path.Combine(OutDir, "journal.db"), string.Concat(Enumerable.Repeat("not a database ", 100)));
        var before = FolderSnapshot.Take(OutDir);
        Refused(Run("coordinator", grid, "--out", "run", "--port", Port()), "--out run", "journal.db is not a readable SQLite database");
        FolderSnapshot.AssertUnchanged(before, OutDir);
    }

    [Fact]
    public void A_run_folder_in_use_is_refused_at_once_naming_its_holder()
    {
        var grid = ProcessTests.WriteTinyGrid(Work, optimizers: "[sgd, sam]", repeats: 2); // real data: both check it first
        var port = Port();
        using var first = ProcessTests.Start(Log, "coordinator", grid, "--out", OutDir, "--port", port);
        try
        {
            Assert.True(ProcessTests.WaitFor(() => File.Exists(Path.Combine(OutDir, ".owner")), TimeSpan.FromSeconds(60)), "the first coordinator never took the folder");
            // The holder keeps writing its logs and journal; what the refused runs could have touched must stay as it is.
            string[] owned = [".owner", "grid.yaml", "run.json"];
            var before = owned.ToDictionary(f => f, f => File.ReadAllText(Path.Combine(OutDir, f)));
            var clock = System.Diagnostics.Stopwatch.StartNew();
            Refused(Run("coordinator", grid, "--out", "run", "--port", Port()), "--out run", $"in use by pid {first.Id} on {Environment.MachineName}");
            Refused(Run("local", grid, "--out", "run", "--nodes", "1"), "--out run", $"in use by pid {first.Id}");
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"refusing took {clock.Elapsed.TotalSeconds:F0} s");
            Assert.All(owned, f => Assert.Equal(before[f], File.ReadAllText(Path.Combine(OutDir, f))));
            Assert.False(File.Exists(Path.Combine(OutDir, "logs", "node-1.log")), "the refused `local` started a node");
        }
        finally
        {
            ProcessTests.KillHard(first);
            first.WaitForExit();
        }
        // The kernel released the lock with the process: the same command now resumes the folder.
        using var again = RunFolder.Prepare(OutDir, grid, GridExpander.Expand(GridConfigLoader.Load(grid)));
        Assert.True(again.Resumed);
    }

    [Fact]
    public void A_run_folder_is_owned_by_one_preparer_at_a_time()
    {
        var grid = WriteFile("grid.yaml", ValidGrid(Work));
        var trials = GridExpander.Expand(GridConfigLoader.Load(grid));
        using (RunFolder.Prepare(OutDir, grid, trials))
        {
            var refused = Assert.Throws<Messages.UserInputException>(() => RunFolder.Prepare(OutDir, grid, trials));
            Assert.Contains($"in use by pid {Environment.ProcessId}", refused.Message);
        }
        using var next = RunFolder.Prepare(OutDir, grid, trials);
        Assert.True(next.Resumed);
    }

    [Theory]
    [InlineData("missing", "journal.db is missing")]
    [InlineData("empty", "journal.db holds no events")]
    public void Finished_trials_whose_journal_is_gone_are_refused_never_trained_again(string journal, string problem)
    {
        var grid = ExistingRun();
        if (journal == "empty") File.WriteAllBytes(Path.Combine(OutDir, "journal.db"), []);
        var before = FolderSnapshot.Take(OutDir);
        Refused(Run("coordinator", grid, "--out", "run", "--port", Port()), "--out run", "lists 1 finished trials", problem, "restore journal.db");
        Refused(Run("local", grid, "--out", "run", "--nodes", "1"), "--out run", problem);
        FolderSnapshot.AssertUnchanged(before, OutDir);
    }

    [Fact]
    public void A_journal_whose_events_cannot_be_replayed_is_refused_within_seconds()
    {
        var grid = ExistingRun();
        // An event of the first trial whose payload is garbage (as a disk error or a bad edit leaves it).
        var journal = Path.Combine(OutDir, "journal.db");
        using (var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={journal};Pooling=False"))
        {
            db.Open();
            using var create = db.CreateCommand();
            create.CommandText = """
                CREATE TABLE [journal] ([ordering] INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, [created] INTEGER NOT NULL,
                  [deleted] Bit NOT NULL, [persistence_id] NVarChar(255) NOT NULL, [sequence_number] INTEGER NOT NULL,
                  [message] VarBinary NOT NULL, [manifest] NVarChar(500) NULL, [identifier] INTEGER NULL, [writer_uuid] NVarChar(128) NULL);
                INSERT INTO journal (created, deleted, persistence_id, sequence_number, message, manifest, identifier, writer_uuid)
                VALUES (0, 0, 'trial-fashion-mnist/resnet18/sgd/1', 1, x'00ff13', 'e-st', 4711, 'test');
                """;
            create.ExecuteNonQuery();
        }
        var before = FolderSnapshot.Take(OutDir);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Refused(Run("coordinator", grid, "--out", "run", "--port", Port()), "journal cannot be replayed", "event 1 of trial fashion-mnist/resnet18/sgd/1", "restore journal.db");
        Refused(Run("local", grid, "--out", "run", "--nodes", "1"), "journal cannot be replayed");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"refusing took {clock.Elapsed.TotalSeconds:F0} s");
        FolderSnapshot.AssertUnchanged(before, OutDir);
    }

    [Fact]
    public void An_out_folder_that_is_not_empty_and_not_a_run_is_refused_and_left_as_it_was()
    {
        var grid = WriteFile("grid.yaml", ValidGrid(Work));
        Directory.CreateDirectory(Path.Combine(OutDir, "photos"));
        File.WriteAllText(Path.Combine(OutDir, "notes.txt"), "my notes");
        File.WriteAllText(Path.Combine(OutDir, "photos", "a.jpg"), "not really a photo");
        var before = FolderSnapshot.Take(OutDir);

        Refused(Run("coordinator", grid, "--out", "run", "--port", Port()), "--out run", "not empty");
        FolderSnapshot.AssertUnchanged(before, OutDir);
        Refused(Run("local", grid, "--out", "run", "--nodes", "1"), "--out run", "not empty");
        FolderSnapshot.AssertUnchanged(before, OutDir);
    }

    [Fact]
    public void An_out_path_that_is_a_file_is_refused_and_left_as_it_was()
    {
        var grid = WriteFile("grid.yaml", ValidGrid(Work));
        File.WriteAllText(OutDir, "a file");
        Refused(Run("coordinator", grid, "--out", "run", "--port", Port()), "--out run", "is a file");
        Assert.Equal("a file", File.ReadAllText(OutDir));
    }

    [Fact]
    public void An_out_folder_that_cannot_be_created_is_refused()
    {
        var grid = WriteFile("grid.yaml", ValidGrid(Work));
        File.WriteAllText(Path.Combine(Work, "a-file"), "a file");
        Refused(Run("coordinator", grid, "--out", "a-file/run", "--port", Port()), "--out a-file/run", "cannot be created");
        Assert.Equal("a file", File.ReadAllText(Path.Combine(Work, "a-file")));
    }

    [Fact]
    public void A_port_in_use_is_refused_before_anything_is_written()
    {
        var grid = WriteFile("grid.yaml", ValidGrid(Work));
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port.ToString();

        Refused(Run("coordinator", grid, "--out", "run", "--port", port), $"port {port}", "already in use");
        Refused(Run("local", grid, "--out", "run", "--port", port, "--nodes", "1"), $"port {port}", "already in use");
        Refused(Run("local", grid, "--out", "run", "--http", port, "--nodes", "1"), $"port {port}", "already in use; choose another --http");
        Assert.False(Directory.Exists(OutDir), "a refused run created its --out folder");
    }

    [Theory]
    [InlineData("70000")]
    [InlineData("-1")]
    public void A_port_out_of_range_is_refused(string port)
    {
        var grid = WriteFile("grid.yaml", ValidGrid(Work));
        Refused(Run("coordinator", grid, "--out", "run", "--port", port), "--port must be", port);
        Assert.False(Directory.Exists(OutDir), "a refused run created its --out folder");
    }

    [Fact]
    public void Local_refuses_a_missing_dataset_folder_before_anything_is_written()
    {
        var missing = Path.Combine(Work, "no-such-data");
        WriteFile("grid.yaml", ValidGrid(missing));
        Refused(Run("local", "grid.yaml", "--out", "run", "--nodes", "1"), "fashion-mnist", missing, "does not exist", "grid.yaml");
        Assert.False(Directory.Exists(OutDir), "a refused run created its --out folder");
    }
}
