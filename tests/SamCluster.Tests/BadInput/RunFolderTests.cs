using System.Net;
using System.Net.Sockets;
using SamCluster.Coordinator.Grid;
using SamCluster.Coordinator.Run;
using SamCluster.Tests.Cluster;
using Xunit;
using Xunit.Abstractions;

namespace SamCluster.Tests.BadInput;

/// <summary>`coordinator` and `local` refuse what would mix runs, lose files or cannot start, before writing anything.</summary>
[Collection(ProcessTests.Name)]
public sealed class RunFolderTests(ITestOutputHelper log) : BadInputTest(log)
{
    string OutDir => Path.Combine(Work, "run");

    /// <summary>A run folder of grid.yaml as a coordinator leaves it (manifest, grid copy), plus results to protect.</summary>
    string ExistingRun()
    {
        var grid = WriteFile("grid.yaml", ValidGrid(Work));
        var folder = RunFolder.Prepare(OutDir, grid, GridConfigLoader.Load(grid).Fingerprint);
        File.WriteAllText(folder.TrialsCsv, "dataset,model,optimizer,repeat,status\nfashion-mnist,resnet18,sgd,1,completed\n");
        var trialLog = folder.TrialLog("fashion-mnist/resnet18/sgd/1");
        Directory.CreateDirectory(Path.GetDirectoryName(trialLog)!);
        File.WriteAllText(trialLog, "epoch 1/2\n");
        return grid;
    }

    string Port() => ProcessTests.FreePort().ToString();

    [Fact]
    public void An_out_folder_holding_a_run_of_a_different_grid_is_refused_and_left_as_it_was()
    {
        ExistingRun();
        var other = WriteFile("other.yaml", ValidGrid(Work).Replace("repeats: 2", "repeats: 3"));
        var before = FolderSnapshot.Take(OutDir);

        Refused(Run("coordinator", other, "--out", "run", "--port", Port()), "--out run", "a run of a different grid");
        FolderSnapshot.AssertUnchanged(before, OutDir);
        Refused(Run("local", other, "--out", "run", "--nodes", "1"), "--out run", "a run of a different grid");
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
        Assert.False(Directory.Exists(OutDir), "a refused run created its --out folder");
    }

    [Theory]
    [InlineData("70000")]
    [InlineData("-1")]
    public void A_port_out_of_range_is_refused(string port)
    {
        var grid = WriteFile("grid.yaml", ValidGrid(Work));
        Refused(Run("coordinator", grid, "--out", "run", "--port", port), $"--port {port}");
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
