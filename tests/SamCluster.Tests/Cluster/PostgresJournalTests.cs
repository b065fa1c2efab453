using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Npgsql;
using SamCluster.Experiment.Grid;
using SamCluster.RunStore;
using SamCluster.Tests.BadInput;
using Xunit;
using Xunit.Abstractions;

namespace SamCluster.Tests.Cluster;

/// <summary>The trials' journal in PostgreSQL (`--journal`), against a real server this class starts
/// (<see cref="PostgresServer"/>; each test skips, saying why, where none can be started): a coordinator killed and
/// restarted keeps its finished trials; a coordinator with a fresh run folder (another host, as far as the run can
/// tell) recovers the whole run from the journal; and what would mix runs or start two coordinators on one journal
/// is refused with one line before anything is written.</summary>
[Collection(ProcessLanes.Journal)]
public sealed class PostgresJournalTests(PostgresServer server, ITestOutputHelper output) : IClassFixture<PostgresServer>, IDisposable
{
    readonly string _work = Directory.CreateTempSubdirectory("samcluster-pgjournal-").FullName;

    /// <summary>The key of the advisory lock a coordinator holds for its journal (PostgresJournal's "SAMC").</summary>
    const long CoordinatorLockKey = 0x53414D43;

    [SkippableFact]
    public void A_coordinator_killed_mid_run_and_restarted_on_the_same_journal_keeps_its_finished_trials()
    {
        server.RequireRunning();
        var journal = server.CreateDatabase();
        // One node, 2 trials: the longer (SAM) is finished at the kill, the other under way.
        var grid = ProcessTests.WriteTinyGrid(_work, optimizers: "[sgd, sam]", repeats: 1, epochs: 2);
        var outDir = Path.Combine(_work, "run");
        var port = ProcessTests.FreePort();
        string[] coordinatorArgs = ["coordinator", grid, "--out", outDir, "--port", port.ToString(), "--journal", journal];
        var first = ProcessTests.StartCoordinator(output, null, coordinatorArgs);
        using var node = ProcessTests.Start(output, "node", "--coordinator", $"127.0.0.1:{port}", "--devices", "cpu", "--threads", "1", "--name", "node-a");
        Assert.True(ProcessTests.WaitFor(() => FaultToleranceTests.FinishedRows(outDir) >= 1, TimeSpan.FromMinutes(3)), "no trial finished before the kill");
        ProcessTests.KillHard(first);
        first.WaitForExit();
        first.Dispose();
        var finishedBefore = FaultToleranceTests.FinishedRows(outDir);

        var secondOutput = new ConcurrentQueue<string>();
        using var second = ProcessTests.Start(output, secondOutput, coordinatorArgs);
        Assert.True(second.WaitForExit(TimeSpan.FromMinutes(4)), "the restarted coordinator did not finish the grid");
        second.WaitForExit();
        Assert.Equal(0, second.ExitCode);
        ProcessTests.Terminate(node);
        Assert.True(node.WaitForExit(TimeSpan.FromSeconds(30)));

        FaultToleranceTests.AssertEachTrialOnce(outDir, 2);
        var recovered = secondOutput.Select(l => Regex.Match(l, @"Recovered from the journal: (\d+) of 2 trials")).Where(m => m.Success)
            .Select(m => int.Parse(m.Groups[1].Value)).ToList();
        Assert.Single(recovered);
        // The journal may hold one more than trials.csv did (killed between persisting and rewriting the table).
        Assert.InRange(recovered[0], Math.Max(1, finishedBefore), 2);
        // The events are in PostgreSQL, not in the folder.
        Assert.False(File.Exists(Path.Combine(outDir, "journal.db")), "journal.db was written beside a PostgreSQL journal");
        Assert.Equal(2, server.Scalar(journal, "SELECT count(DISTINCT persistence_id) FROM journal"));
        Assert.Contains("\"journal\": \"postgresql://samcluster@127.0.0.1:", File.ReadAllText(Path.Combine(outDir, "run.json")));
    }

    [SkippableFact]
    public void A_server_stopped_mid_run_is_exit_1_the_run_intact_and_the_same_command_resumes_it_once_it_is_back()
    {
        server.RequireRunning();
        var journal = server.CreateDatabase();
        var grid = ProcessTests.WriteTinyGrid(_work, optimizers: "[sgd, sam]", repeats: 1, epochs: 3);
        var outDir = Path.Combine(_work, "run");
        var port = ProcessTests.FreePort();
        string[] coordinatorArgs = ["coordinator", grid, "--out", outDir, "--port", port.ToString(), "--journal", journal];
        var lines = new ConcurrentQueue<string>();
        using var node = ProcessTests.Start(output, "node", "--coordinator", $"127.0.0.1:{port}", "--devices", "cpu", "--threads", "1", "--name", "node-a");
        try
        {
            using (var first = ProcessTests.StartCoordinator(output, lines, coordinatorArgs))
            {
                // Mid-run: an epoch is journaled, so trials are running and every report is a journal write.
                Assert.True(ProcessTests.WaitFor(() => EpochRows(outDir) >= 1, TimeSpan.FromMinutes(3)), "no epoch was recorded");
                server.Stop();
                Assert.True(first.WaitForExit(TimeSpan.FromSeconds(90)), "the coordinator went on without its journal");
                first.WaitForExit();
                Assert.Equal(1, first.ExitCode);
            }
            var said = lines.Where(l => l.StartsWith("samcluster: ", StringComparison.Ordinal)).ToList();
            Assert.True(said.Count == 1, $"expected one samcluster: line, got:\n{string.Join('\n', said)}");
            Assert.StartsWith($"samcluster: cannot reach the journal at 127.0.0.1:{server.Port} (", said[0]);
            Assert.EndsWith("; the run is intact: run the same command when it is back", said[0]);
            Assert.DoesNotContain(lines, l => l.Contains("cannot be replayed") || l.TrimStart().StartsWith("at ", StringComparison.Ordinal));
            // The journal's own failure (Akka logs each failed write as an error) is not said again beside the line.
            Assert.DoesNotContain(lines, l => l.Contains("[ERR]") && l.Contains("57P01"));
        }
        finally
        {
            server.Start();
        }

        // The advice holds: the same command, the server back, finishes the grid without training a finished trial again.
        using (var second = ProcessTests.Start(output, coordinatorArgs))
        {
            Assert.True(second.WaitForExit(TimeSpan.FromMinutes(4)), "the same command did not finish the grid once the server was back");
            second.WaitForExit();
            Assert.Equal(0, second.ExitCode);
        }
        ProcessTests.Terminate(node);
        Assert.True(node.WaitForExit(TimeSpan.FromSeconds(30)));
        FaultToleranceTests.AssertEachTrialOnce(outDir, 2);
    }

    static int EpochRows(string outDir)
    {
        var csv = Path.Combine(outDir, "epochs.csv");
        try { return File.Exists(csv) ? File.ReadAllLines(csv).Skip(1).Count(l => l.Length > 0) : 0; }
        catch (IOException) { return 0; }
    }

    [SkippableFact]
    public void A_coordinator_with_a_fresh_out_folder_on_the_same_journal_recovers_the_run_without_training_it_again()
    {
        server.RequireRunning();
        var journal = server.CreateDatabase();
        var grid = ProcessTests.WriteTinyGrid(_work, optimizers: "[sgd, sam]", repeats: 2, epochs: 1);

        // The first host: `local` runs the grid to the end; its journal goes to PostgreSQL.
        var firstOut = Path.Combine(_work, "first-host");
        using (var local = ProcessTests.Start(output, "local", grid, "--out", firstOut, "--nodes", "1", "--threads", "1", "--journal", journal))
        {
            Assert.True(local.WaitForExit(TimeSpan.FromMinutes(4)), "local did not finish the grid");
            local.WaitForExit();
            Assert.Equal(0, local.ExitCode);
        }
        var trials = File.ReadAllLines(Path.Combine(firstOut, "trials.csv"));
        var epochs = File.ReadAllLines(Path.Combine(firstOut, "epochs.csv"));
        Assert.Equal(1 + 4, trials.Length);
        // That host is gone, its run folder with it.
        Directory.Delete(firstOut, recursive: true);

        // Another host: a coordinator with a new run folder and the same journal, and no node at all, so that nothing
        // could be trained again: it must finish from the journal alone.
        var secondOut = Path.Combine(_work, "second-host");
        var lines = new ConcurrentQueue<string>();
        using (var coordinator = ProcessTests.Start(output, lines, "coordinator", grid, "--out", secondOut, "--port", ProcessTests.FreePort().ToString(),
                   "--journal", journal))
        {
            Assert.True(coordinator.WaitForExit(TimeSpan.FromMinutes(2)), "the second coordinator did not finish from the journal");
            coordinator.WaitForExit();
            Assert.Equal(0, coordinator.ExitCode);
        }
        Assert.Contains(lines, l => l.Contains("Recovered from the journal: 4 of 4 trials already finished (4 completed, 0 failed); 0 queued again"));
        Assert.Contains(lines, l => l.Contains("Grid finished: 4 completed, 0 failed (4 read back from the journal)"));
        // The result files, rewritten from the journal: the same rows the first host wrote (epochs.csv in the journal's
        // order, the first host's in the order epochs arrived).
        Assert.Equal(trials, File.ReadAllLines(Path.Combine(secondOut, "trials.csv")));
        Assert.Equal(epochs.Order(StringComparer.Ordinal), File.ReadAllLines(Path.Combine(secondOut, "epochs.csv")).Order(StringComparer.Ordinal));
        foreach (var file in new[] { "grid.yaml", "run.json", "report.md", "report.json", "report.csv", "curves/fashion-mnist_resnet18.png" })
            Assert.True(File.Exists(Path.Combine(secondOut, file)), $"missing {file}");
        Assert.False(File.Exists(Path.Combine(secondOut, "journal.db")));

        // A different grid on that journal is refused, naming the journal and the change; no folder is made.
        var changed = Path.Combine(_work, "changed.yaml");
        File.WriteAllText(changed, File.ReadAllText(grid).Replace("batch_size: 64", "batch_size: 32"));
        var thirdOut = Path.Combine(_work, "third-host");
        var refused = BadInput.Cli.Run(_work, "coordinator", changed, "--out", thirdOut, "--port", ProcessTests.FreePort().ToString(), "--journal", journal);
        BadInput.Cli.AssertRefused(refused, output, "the journal postgresql://samcluster@127.0.0.1:", "holds a run of a different grid",
            "changes 'batch_size' of trial fashion-mnist/resnet18/sgd/1 from 64 to 32");
        Assert.False(Directory.Exists(thirdOut), "a refused coordinator made its run folder");
    }

    [SkippableFact]
    public void What_would_mix_runs_or_put_two_coordinators_on_one_journal_is_refused_before_anything_is_written()
    {
        server.RequireRunning();
        var grid = ProcessTests.WriteTinyGrid(_work, optimizers: "[sgd, sam]", repeats: 1, epochs: 1);
        var trials = GridExpander.Expand(GridConfigLoader.Load(grid));
        string Port() => ProcessTests.FreePort().ToString();
        var noEnvironment = new Dictionary<string, string?> { [PostgresJournal.EnvironmentVariable] = null };
        // As processes, not in-process (InProcessCli sets the process's working folder and environment while it runs):
        // this class runs beside other tests, whose processes would inherit them.
        CliRun Coordinator(string outDir, params string[] more) =>
            BadInput.Cli.RunWithin(BadInput.Cli.DefaultLimit, _work, noEnvironment, ["coordinator", grid, "--out", outDir, "--port", Port(), .. more]);

        // A journal another coordinator holds: refused at once, naming the holder and how to end its session.
        var journal = server.CreateDatabase();
        using (var holder = new NpgsqlConnection(journal + ";Pooling=false;Application Name=samcluster coordinator on elsewhere pid 42"))
        {
            holder.Open();
            using (var take = new NpgsqlCommand($"SELECT pg_advisory_lock({CoordinatorLockKey})", holder)) take.ExecuteNonQuery();
            BadInput.Cli.AssertRefused(Coordinator(Path.Combine(_work, "a"), "--journal", journal), output,
                "is in use by another coordinator", "samcluster coordinator on elsewhere pid 42", "pg_terminate_backend(");
            Assert.False(Directory.Exists(Path.Combine(_work, "a")));
        }

        // A run folder of run A given the database of run B.
        var runA = server.CreateDatabase();
        var runB = server.CreateDatabase();
        using (var serverA = PostgresJournal.Open(runA))
            RunFolder.Prepare(Path.Combine(_work, "run-a"), grid, trials, serverJournal: serverA).Dispose();
        using (var serverB = PostgresJournal.Open(runB))
            RunFolder.Prepare(Path.Combine(_work, "run-b"), grid, trials, serverJournal: serverB).Dispose();
        var manifest = File.ReadAllText(Path.Combine(_work, "run-a", "run.json"));
        BadInput.Cli.AssertRefused(Coordinator(Path.Combine(_work, "run-a"), "--journal", runB), output, "--out", "holds run", "refusing to mix runs");
        Assert.Equal(manifest, File.ReadAllText(Path.Combine(_work, "run-a", "run.json")));

        // A folder that keeps its journal in PostgreSQL, started without one; a folder with journal.db, given one.
        BadInput.Cli.AssertRefused(Coordinator(Path.Combine(_work, "run-a")), output, "keeps its run's journal in PostgreSQL (postgresql://", "--journal");
        RunFolder.Prepare(Path.Combine(_work, "run-sqlite"), grid, trials).Dispose();
        BadInput.Cli.AssertRefused(Coordinator(Path.Combine(_work, "run-sqlite"), "--journal", journal), output, "keeps its run's journal in its journal.db");

        // Finished trials listed in the folder but an empty journal: never trained again.
        var empty = server.CreateDatabase();
        using (var emptyServer = PostgresJournal.Open(empty))
            RunFolder.Prepare(Path.Combine(_work, "run-lost"), grid, trials, serverJournal: emptyServer).Dispose();
        File.WriteAllText(Path.Combine(_work, "run-lost", "trials.csv"), "dataset,model,optimizer,repeat,status\nfashion-mnist,resnet18,sgd,1,completed\n");
        BadInput.Cli.AssertRefused(Coordinator(Path.Combine(_work, "run-lost"), "--journal", empty), output, "lists 1 finished trials", "holds no events",
            "refusing to train them again");

        // A database of something else (events, no run record).
        var foreign = server.CreateDatabase();
        using (var db = new NpgsqlConnection(foreign + ";Pooling=false"))
        {
            db.Open();
            using var create = new NpgsqlCommand("CREATE TABLE journal (ordering bigint, persistence_id text); INSERT INTO journal VALUES (1, 'x')", db);
            create.ExecuteNonQuery();
        }
        BadInput.Cli.AssertRefused(Coordinator(Path.Combine(_work, "b"), "--journal", foreign), output, "holds events (1) but no SamCluster run record");
        Assert.False(Directory.Exists(Path.Combine(_work, "b")));
    }

    public void Dispose()
    {
        ProcessTests.KillLeftovers(output);
        Directory.Delete(_work, recursive: true);
    }
}
