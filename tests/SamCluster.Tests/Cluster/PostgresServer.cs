using System.Diagnostics;
using System.Runtime.InteropServices;
using Npgsql;
using Xunit;

namespace SamCluster.Tests.Cluster;

/// <summary>
/// A real PostgreSQL server for one test class, started here from Debian's binaries (package postgresql:
/// /usr/lib/postgresql/VERSION/bin): a fresh cluster in a temporary folder (initdb, trust authentication, listening on
/// 127.0.0.1 only on a free port, its unix socket in the folder), owned by an unprivileged user when the tests run as
/// root, since PostgreSQL refuses to run as root. Stopped and deleted on Dispose, whatever the tests did. Where no
/// server can be started, <see cref="Unavailable"/> says why and each test skips with it (<see cref="RequireRunning"/>).
/// </summary>
public sealed class PostgresServer : IDisposable
{
    const string Superuser = "samcluster";

    readonly string? _bin;
    readonly string? _dir;
    readonly string? _owner;

    /// <summary>Why no server runs (null when one does).</summary>
    public string? Unavailable { get; }

    public int Port { get; }

    public PostgresServer()
    {
        _bin = FindBinaries();
        if (_bin is null)
        {
            Unavailable = "no PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb, pg_ctl): install Debian's postgresql (deploy/setup.sh --dev)";
            return;
        }
        if (geteuid() == 0)
        {
            _owner = new[] { "postgres", "nobody" }.FirstOrDefault(UserExists);
            if (_owner is null)
            {
                Unavailable = "running as root and no unprivileged user (postgres, nobody) to own a PostgreSQL cluster";
                return;
            }
        }
        // As root, under /tmp itself: $TMPDIR may be in a folder the unprivileged owner cannot enter.
        _dir = _owner is null
            ? Directory.CreateTempSubdirectory("samcluster-pg-").FullName
            : Directory.CreateDirectory(Path.Combine("/tmp", "samcluster-pg-" + Guid.NewGuid().ToString("N")[..12])).FullName;
        try
        {
            if (_owner is not null) Run("chown", [$"{_owner}:", _dir]);
            Run(Path.Combine(_bin, "initdb"), ["-D", DataDir, "-U", Superuser, "--auth=trust", "--no-locale", "-E", "UTF8", "--no-sync"], asOwner: true);
            Port = ProcessTests.FreePort();
            Start();
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception or IOException)
        {
            var log = Path.Combine(_dir, "server.log");
            Unavailable = $"the PostgreSQL server could not be started: {e.Message}" +
                          (File.Exists(log) ? $" | server.log: {string.Join(" / ", File.ReadLines(log).TakeLast(5))}" : "");
            Dispose();
        }
    }

    /// <summary>Starts the server (again, after <see cref="Stop"/>) on its port.</summary>
    public void Start() =>
        // No durability needed: fsync off keeps a slow shared machine's disk out of the tests' time.
        Run(Path.Combine(_bin!, "pg_ctl"), ["-D", DataDir, "-l", Path.Combine(_dir!, "server.log"), "-w", "-t", "60",
            "-o", $"-p {Port} -k {_dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off", "start"], asOwner: true);

    /// <summary>Shuts the server down as an administrator would ("fast": sessions are ended, SQLSTATE 57P01).</summary>
    public void Stop() => Run(Path.Combine(_bin!, "pg_ctl"), ["-D", DataDir, "-m", "fast", "-w", "-t", "60", "stop"], asOwner: true);

    /// <summary>Skips the calling test (through the runner: it is reported as skipped, with the reason) when no server runs.</summary>
    public void RequireRunning() => Skip.If(Unavailable is not null, Unavailable);

    public string ConnectionString(string database) => $"Host=127.0.0.1;Port={Port};Username={Superuser};Database={database}";

    /// <summary>A new, empty database (one per run, as in production); its connection string.</summary>
    public string CreateDatabase()
    {
        var name = "run_" + Guid.NewGuid().ToString("N")[..12];
        using (var admin = Connect("postgres"))
        using (var create = new NpgsqlCommand($"CREATE DATABASE {name}", admin))
            create.ExecuteNonQuery();
        return ConnectionString(name);
    }

    /// <summary>An open, unpooled session to <paramref name="database"/> as the superuser (unpooled: closing it ends it).</summary>
    public NpgsqlConnection Connect(string database)
    {
        var connection = new NpgsqlConnection(ConnectionString(database) + ";Pooling=false");
        connection.Open();
        return connection;
    }

    /// <summary>One number the database answers, e.g. "SELECT count(*) FROM journal".</summary>
    public long Scalar(string connectionString, string sql)
    {
        using var connection = new NpgsqlConnection(connectionString + ";Pooling=false");
        connection.Open();
        using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(command.ExecuteScalar());
    }

    string DataDir => Path.Combine(_dir!, "data");

    public void Dispose()
    {
        if (_dir is null || !Directory.Exists(_dir)) return;
        try
        {
            if (File.Exists(Path.Combine(DataDir, "postmaster.pid")))
                Run(Path.Combine(_bin!, "pg_ctl"), ["-D", DataDir, "-m", "immediate", "-w", "-t", "30", "stop"], asOwner: true);
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception or IOException)
        {
            KillPostmaster();
        }
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>pg_ctl could not stop it: the postmaster's pid is the first line of postmaster.pid.</summary>
    void KillPostmaster()
    {
        try
        {
            var pid = int.Parse(File.ReadLines(Path.Combine(DataDir, "postmaster.pid")).First());
            using var postmaster = Process.GetProcessById(pid);
            postmaster.Kill(entireProcessTree: true);
            postmaster.WaitForExit(10_000);
        }
        catch (Exception e) when (e is IOException or FormatException or ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception) { } // gone already
    }

    /// <summary>Runs a program to its end (as the cluster's owner when root), throwing with its output if it fails.</summary>
    void Run(string program, IReadOnlyList<string> args, bool asOwner = false)
    {
        var start = new ProcessStartInfo(asOwner && _owner is not null ? "runuser" : program)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = _dir ?? "/",
        };
        if (asOwner && _owner is not null)
            foreach (var a in new[] { "-u", _owner, "--", program }) start.ArgumentList.Add(a);
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(120)))
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"{Path.GetFileName(program)} did not finish in 120 s");
        }
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{Path.GetFileName(program)} exited {process.ExitCode}: {(stderr.Result + stdout.Result).Trim()}");
    }

    /// <summary>The newest installed version's bin folder holding initdb and pg_ctl.</summary>
    static string? FindBinaries()
    {
        const string root = "/usr/lib/postgresql";
        if (!Directory.Exists(root)) return null;
        return Directory.GetDirectories(root)
            .Select(d => (Dir: Path.Combine(d, "bin"), Version: int.TryParse(Path.GetFileName(d), out var v) ? v : 0))
            .Where(d => File.Exists(Path.Combine(d.Dir, "initdb")) && File.Exists(Path.Combine(d.Dir, "pg_ctl")))
            .OrderByDescending(d => d.Version)
            .Select(d => d.Dir)
            .FirstOrDefault();
    }

    static bool UserExists(string name) => File.ReadLines("/etc/passwd").Any(line => line.StartsWith(name + ":", StringComparison.Ordinal));

    [DllImport("libc")]
    static extern uint geteuid();
}
