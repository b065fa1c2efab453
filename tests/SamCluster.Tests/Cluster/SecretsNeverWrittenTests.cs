using System.Text;
using SamCluster.Tests.BadInput;
using SamCluster.Tests.Deploy;
using Xunit;
using Xunit.Abstractions;

namespace SamCluster.Tests.Cluster;

/// <summary>Secrets given on the command line reach no file of the run folder (run.json, report.md's provenance,
/// logs/run.clef, the node logs, anything else) and nothing printed: a whole `local` run whose journal's password is
/// given under an Npgsql alias with quoting, then a `coordinator` on the finished run with another alias and the TLS
/// password in System.CommandLine's colon form. The journal is a real PostgreSQL server (<see cref="PostgresServer"/>,
/// trust authentication: the password is carried, never checked).</summary>
[Collection(ProcessLanes.Journal)]
public sealed class SecretsNeverWrittenTests(PostgresServer server, ITestOutputHelper output) : IClassFixture<PostgresServer>, IDisposable
{
    /// <summary>Every secret below holds it.</summary>
    const string Secret = "s3cr";

    readonly string _work = Directory.CreateTempSubdirectory("samcluster-secrets-").FullName;

    public void Dispose() => Directory.Delete(_work, recursive: true);

    [SkippableFact]
    public void No_password_of_any_form_reaches_the_run_folder_or_the_console()
    {
        server.RequireRunning();
        var journal = server.CreateDatabase();
        var grid = ProcessTests.WriteTinyGrid(_work, optimizers: "[sgd]", repeats: 1, epochs: 1, trainImages: 100, testImages: 20);
        var outDir = Path.Combine(_work, "run");

        var local = BadInput.Cli.RunWithin(TimeSpan.FromMinutes(4), _work,
            "local", grid, "--out", outDir, "--nodes", "1", "--threads", "1", "--journal", journal + ";PSW='s3cr;et=1'");
        Assert.True(local.ExitCode == 0, local.ToString());
        AssertNoSecret(outDir, local);
        Assert.Contains("--journal", File.ReadAllText(Path.Combine(outDir, "report.md")));

        // The same run again, by a coordinator: the report and run.json rewritten with this start's command line.
        var certificate = RemotingTlsTests.WriteSelfSignedPfx(_work, "cluster.pfx", "s3cret-tls");
        var coordinator = BadInput.Cli.RunWithin(TimeSpan.FromMinutes(2), _work,
            "coordinator", grid, "--out", outDir, "--port", ProcessTests.FreePort().ToString(),
            "--journal:" + journal + ";pwd=\"s3cr;et=2\"", "--tls-cert", certificate, "--tls-password:s3cret-tls");
        Assert.True(coordinator.ExitCode == 0, coordinator.ToString());
        AssertNoSecret(outDir, coordinator);
        var provenance = File.ReadAllText(Path.Combine(outDir, "report.md"));
        Assert.Contains("--tls-password ***", provenance);
        Assert.Contains("Password=***", provenance);
    }

    void AssertNoSecret(string outDir, CliRun run)
    {
        output.WriteLine(run.ToString());
        Assert.DoesNotContain(Secret, run.Stdout + run.Stderr);
        var files = Directory.EnumerateFiles(outDir, "*", SearchOption.AllDirectories).ToList();
        Assert.Contains(Path.Combine(outDir, "run.json"), files);
        Assert.Contains(Path.Combine(outDir, "logs", "run.clef"), files);
        foreach (var file in files)
        {
            // Binary files too (the journal would be one, were it in the folder): the secret as UTF-8 bytes.
            var bytes = File.ReadAllBytes(file);
            Assert.True(bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(Secret)) < 0, $"{Path.GetRelativePath(outDir, file)} holds a secret");
        }
    }
}
