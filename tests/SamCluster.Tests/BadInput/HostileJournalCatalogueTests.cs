using System.Net;
using System.Net.Sockets;
using SamCluster.Tests.Cluster;
using Xunit;
using Xunit.Abstractions;

namespace SamCluster.Tests.BadInput;

/// <summary>
/// The hostile catalogue's journal servers (in-process, beside a run folder holding results, as
/// <see cref="HostileInputCatalogueTests"/>): a server that refuses the connection or accepts it and never answers is
/// not the user's fault and not a damaged journal — exit 1, "cannot reach the journal at HOST:PORT (…); the run is
/// intact" — while a role without CREATE or a read-only session is the user's to fix: exit 2, naming the missing right.
/// Each is one line, no trace, no raw control character, within 10 s, and leaves the run folder as it was. The rights
/// cases need a PostgreSQL server (<see cref="PostgresServer"/>) and skip, saying why, without one.
/// </summary>
[Collection(InProcessCli.Name)]
public sealed class HostileJournalCatalogueTests(PostgresServer server, ITestOutputHelper log) : BadInputTest(log), IClassFixture<PostgresServer>
{
    static readonly Dictionary<string, string?> NoEnvironment = new() { ["SAMCLUSTER_JOURNAL"] = null };

    /// <summary>`coordinator` on the run folder with <paramref name="journal"/>; asserts the contract for
    /// <paramref name="exitCode"/> and that the folder is unchanged; returns the line.</summary>
    string Check(string journal, int exitCode, params string[] mentions)
    {
        var grid = ExistingRun();
        var before = FolderSnapshot.Take(OutDir);
        var run = InProcessCli.RunWithin(TimeSpan.FromSeconds(30), Work, NoEnvironment,
            "coordinator", grid, "--out", "run", "--port", ProcessTests.FreePort().ToString(), "--journal", journal);
        var line = exitCode == 2 ? Cli.AssertRefused(run, Log, mentions) : Cli.AssertFailed(run, Log, mentions);
        Assert.True(run.Elapsed < TimeSpan.FromSeconds(10), $"took {run.Elapsed.TotalSeconds:F0} s\n{run}");
        var raw = run.Stderr.TrimEnd('\n', '\r').Where(c => char.IsControl(c) && c != '\n').ToList();
        Assert.True(raw.Count == 0, $"raw control characters in the output\n{run}");
        Assert.DoesNotContain("replayed", line);      // never the damaged-journal advice
        Assert.DoesNotContain("backup", line);
        FolderSnapshot.AssertUnchanged(before, OutDir);
        return line;
    }

    [Fact]
    public void A_server_that_refuses_the_connection_is_exit_1_and_the_run_is_intact()
    {
        var closed = ProcessTests.FreePort();
        Check($"Host=127.0.0.1;Port={closed};Database=runs;Username=samcluster", 1,
            $"samcluster: cannot reach the journal at 127.0.0.1:{closed} (connection refused); the run is intact: run the same command when it is back");
    }

    [Fact]
    public void A_server_that_accepts_and_never_answers_is_exit_1_within_10_s()
    {
        using var silent = new SilentServer();
        Check($"Host=127.0.0.1;Port={silent.Port};Database=runs;Username=samcluster", 1,
            $"samcluster: cannot reach the journal at 127.0.0.1:{silent.Port} (", "); the run is intact: run the same command when it is back");
        Assert.True(silent.Accepted > 0, "the client never connected to the silent server");
    }

    [SkippableFact]
    public void A_role_without_CREATE_is_exit_2_naming_the_right()
    {
        server.RequireRunning();
        var database = server.CreateDatabase();
        var role = "reader_" + Guid.NewGuid().ToString("N")[..8];
        using (var admin = server.Connect("postgres"))
        using (var create = new Npgsql.NpgsqlCommand($"CREATE ROLE {role} LOGIN", admin))
            create.ExecuteNonQuery();
        // PostgreSQL 15 and later give PUBLIC no CREATE on schema public: a role that owns nothing there cannot make tables.
        var journal = new Npgsql.NpgsqlConnectionStringBuilder(database) { Username = role }.ConnectionString;
        Check(journal, 2, $"does not let user {role} create tables in schema public", "permission denied for schema public",
            $"GRANT CREATE ON SCHEMA public TO that role");
        Assert.Equal(0, server.Scalar(database, "SELECT count(*) FROM pg_tables WHERE tablename = 'samcluster_rights_check'"));
    }

    [SkippableFact]
    public void A_read_only_session_is_exit_2_naming_the_right()
    {
        server.RequireRunning();
        var database = server.CreateDatabase();
        Check(database + ";Options=-c default_transaction_read_only=on", 2, "is read-only for this session",
            "default_transaction_read_only is on", "a session that may write");
    }
}

/// <summary>A TCP server that accepts every connection and never sends a byte: a hung PostgreSQL, or a port that is
/// something else entirely.</summary>
internal sealed class SilentServer : IDisposable
{
    readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    readonly List<TcpClient> _clients = [];
    int _accepted;

    public SilentServer()
    {
        _listener.Start();
        _ = AcceptAll();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;
    public int Accepted => Volatile.Read(ref _accepted);

    async Task AcceptAll()
    {
        try
        {
            while (true)
            {
                var client = await _listener.AcceptTcpClientAsync();
                lock (_clients) _clients.Add(client); // held open, never read from or written to
                Interlocked.Increment(ref _accepted);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException) { } // stopped
    }

    public void Dispose()
    {
        _listener.Stop();
        lock (_clients) foreach (var client in _clients) client.Dispose();
    }
}
