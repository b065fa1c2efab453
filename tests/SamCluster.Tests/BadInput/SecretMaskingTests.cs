using Npgsql;
using SamCluster.Cli;
using SamCluster.RunStore;
using Xunit;

namespace SamCluster.Tests.BadInput;

/// <summary>What may be recorded of a command line (run.json, report.md's provenance, the error log): every secret
/// masked, however it was given — each password keyword and alias Npgsql reads, any quoting, and each form of a secret
/// flag System.CommandLine parses. Every secret below holds "s3cr", which must appear nowhere in what is recorded.</summary>
public sealed class SecretMaskingTests : IDisposable
{
    const string Secret = "s3cr";

    readonly string _work = Directory.CreateTempSubdirectory("samcluster-secrets-").FullName;

    public void Dispose() => Directory.Delete(_work, recursive: true);

    public static TheoryData<string> ConnectionStrings => new()
    {
        "Host=db;Username=u;Password=s3cret;Database=run1",
        "Host=db;PSW=s3cret;Database=run1",
        "Host=db;PWD=s3cret;Database=run1",
        "Host=db;pwd=s3cret;Database=run1",
        "host=db; password = s3cret ;database=run1",
        "Host=db;Password='s3cr;et=x';Database=run1",
        "Host=db;PSW=\"s3cr;et=x\";Database=run1",
        "Host=db;Password='it''s;s3cr=et';Database=run1",
        "Host=db;Password=first-s3cret;Password=s3cret-again;Database=run1",
        "Host=db;SSL Password=s3cret;Database=run1",
        "Host=db;SslPassword='s3cr;et';Password=s3cret;Database=run1",
    };

    [Theory]
    [MemberData(nameof(ConnectionStrings))]
    public void Every_password_keyword_alias_and_quoting_Npgsql_reads_is_masked(string connectionString)
    {
        // Npgsql itself reads a password there: the case is a real way of giving one.
        var given = new NpgsqlConnectionStringBuilder(connectionString);
        Assert.True($"{given.Password}{given.SslPassword}".Contains(Secret, StringComparison.Ordinal), connectionString);

        var masked = PostgresJournal.MaskPasswords(connectionString);
        Assert.DoesNotContain(Secret, masked);
        var read = new NpgsqlConnectionStringBuilder(masked);
        Assert.Equal(("db", "run1"), (read.Host, read.Database));
        Assert.True(read.Password is null or "***" && read.SslPassword is null or "***", masked);
    }

    [Fact]
    public void A_connection_string_Npgsql_cannot_read_is_masked_whole()
    {
        Assert.Equal("***", PostgresJournal.MaskPasswords("Host=db;Password='s3cret;Database=run1"));
        Assert.Equal("Host=db;Database=run1", PostgresJournal.MaskPasswords("Host=db;Database=run1"));
    }

    public static TheoryData<string[]> CommandLines => new()
    {
        new[] { "coordinator", "g.yaml", "--out", "run", "--port", "4053", "--tls-cert", "c.pfx", "--tls-password", "s3cret" },
        new[] { "coordinator", "g.yaml", "--out", "run", "--port", "4053", "--tls-cert", "c.pfx", "--tls-password=s3cret" },
        new[] { "coordinator", "g.yaml", "--out", "run", "--port", "4053", "--tls-cert", "c.pfx", "--tls-password:s3cret" },
        new[] { "node", "--coordinator", "h:4053", "--tls-password:s3cr=et:x", "--tls-cert", "c.pfx" },
        new[] { "coordinator", "g.yaml", "--out", "run", "--port", "4053", "--journal", "Host=db;PSW='s3cr;e=t';Database=d" },
        new[] { "coordinator", "g.yaml", "--out", "run", "--port", "4053", "--journal=Host=db;pwd=s3cret;Database=d" },
        new[] { "local", "g.yaml", "--out", "run", "--journal:Host=db;Password=\"s3cr;e=t\";Database=d" },
        new[] { "local", "g.yaml", "--out", "run", "--journal", "Host=db;Password='s3cr" }, // unreadable: masked whole
    };

    [Theory]
    [MemberData(nameof(CommandLines))]
    public void Each_form_of_a_secret_flag_is_masked_in_the_recorded_command_line(string[] args)
    {
        var recorded = Program.CommandLineForRecord(args);
        Assert.All(recorded, arg => Assert.DoesNotContain(Secret, arg));
        Assert.Equal("samcluster", recorded[0]);
        Assert.Equal(args[0], recorded[1]);
        // The rest is kept: the secret flag itself, and the other flags with their values.
        Assert.Contains(recorded, arg => arg.Contains("***", StringComparison.Ordinal));
        Assert.Contains(args.Contains("--tls-cert") ? "c.pfx" : "run", recorded);
    }

    [Fact]
    public void A_secret_in_a_response_file_is_masked_too()
    {
        var file = Path.Combine(_work, "args.rsp");
        File.WriteAllText(file, "--tls-cert c.pfx\n--tls-password s3cret\n");
        var recorded = Program.CommandLineForRecord(["node", "--coordinator", "h:4053", "@" + file]);
        Assert.Equal(["samcluster", "node", "--coordinator", "h:4053", "--tls-cert", "c.pfx", "--tls-password", "***"], recorded);
    }

    [Fact]
    public void The_same_text_as_a_secret_elsewhere_on_the_line_is_kept()
    {
        // Masked by what the parse took as the secret's value, not by its text.
        var recorded = Program.CommandLineForRecord(["node", "--coordinator", "h:4053", "--name", "hunter2", "--tls-cert", "c.pfx", "--tls-password", "hunter2"]);
        Assert.Equal(["samcluster", "node", "--coordinator", "h:4053", "--name", "hunter2", "--tls-cert", "c.pfx", "--tls-password", "***"], recorded);
    }
}
