using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using SamCluster.Tests.BadInput;
using SamCluster.Tests.Cluster;
using Xunit;
using Xunit.Abstractions;

namespace SamCluster.Tests.Serving;

/// <summary>`samcluster runs`, `report A B --compare` and `serve`'s refusals, run in this process as Main runs them.</summary>
[Collection(InProcessCli.Name)]
public sealed class ServeCliTests(ITestOutputHelper log) : IDisposable
{
    readonly RunFolders _runs = new();

    CliRun Run(params string[] args)
    {
        var run = InProcessCli.Run(_runs.Top, args);
        log.WriteLine(run.ToString());
        return run;
    }

    [Fact]
    public void Runs_prints_one_row_per_run_as_a_table_csv_or_json()
    {
        _runs.Finished("quick");
        _runs.Finished("2026/tie", samLead: 0);
        var table = Run("runs", ".");
        Assert.Equal(0, table.ExitCode);
        var lines = table.Stdout.TrimEnd('\n').Split('\n');
        Assert.Equal(3, lines.Length);
        Assert.StartsWith("name ", lines[0]);
        Assert.StartsWith("2026/tie ", lines[1]);
        Assert.Contains("finished", lines[2]);
        Assert.Contains("SAM vs SGD: +2.00 pp", lines[2]);
        var csv = Run("runs", ".", "--format", "csv");
        Assert.Equal("name,grid,state,trials,done,failed,running,started,wall,verdicts", csv.Stdout.Split('\n')[0]);
        var json = System.Text.Json.JsonDocument.Parse(Run("runs", ".", "--format", "json").Stdout).RootElement;
        Assert.Equal(["2026/tie", "quick"], json.EnumerateArray().Select(r => r.GetProperty("name").GetString()));
    }

    [Fact]
    public void Runs_and_serve_refuse_a_missing_folder_a_folder_without_runs_and_a_bad_format_in_one_line()
    {
        Directory.CreateDirectory(Path.Combine(_runs.Top, "empty"));
        SamCluster.Tests.BadInput.Cli.AssertRefused(Run("runs", "nope"), log, "nope: no such folder");
        SamCluster.Tests.BadInput.Cli.AssertRefused(Run("runs", "empty"), log, "holds no run");
        _runs.Finished("quick");
        SamCluster.Tests.BadInput.Cli.AssertRefused(Run("runs", ".", "--format", "xml"), log, "--format must be table, csv or json");
        SamCluster.Tests.BadInput.Cli.AssertRefused(Run("serve", "nope", "--http", "0"), log, "nope: no such folder");
        SamCluster.Tests.BadInput.Cli.AssertRefused(Run("serve", "empty", "--http", "0"), log, "holds no run");
        SamCluster.Tests.BadInput.Cli.AssertRefused(Run("serve", ".", "--http", "70000"), log, "--http must be at most 65535");
    }

    [Fact]
    public void Serve_refuses_a_port_in_use()
    {
        _runs.Finished("quick");
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port.ToString();
        SamCluster.Tests.BadInput.Cli.AssertRefused(Run("serve", ".", "--http", port), log, $"port {port} on 127.0.0.1 is already in use", "--http");
    }

    [Fact]
    public void Report_compare_puts_both_runs_comparisons_side_by_side()
    {
        _runs.Finished("a", samLead: 2);
        _runs.Finished("b", samLead: 0);
        var run = Run("report", "a", "b", "--compare");
        Assert.Equal(0, run.ExitCode);
        Assert.StartsWith("# Comparisons of two runs: A = a, B = b", run.Stdout);
        var row = run.Stdout.Split('\n').Single(l => l.StartsWith("| fashion-mnist/resnet18 SAM vs SGD |", StringComparison.Ordinal));
        var cells = row.Split(" | ");
        Assert.Equal("3 vs 3", cells[1]);
        Assert.Equal("83.00 vs 81.00", cells[2]);
        Assert.EndsWith("SAM better", cells[3]);
        Assert.Equal("81.00 vs 81.00", cells[5]);
        Assert.Contains("no evidence", cells[6]);
    }

    [Fact]
    public void Report_compare_needs_two_runs_and_two_runs_need_compare()
    {
        _runs.Finished("a");
        _runs.Finished("b");
        SamCluster.Tests.BadInput.Cli.AssertRefused(Run("report", "a", "--compare"), log, "--compare needs two runs");
        SamCluster.Tests.BadInput.Cli.AssertRefused(Run("report", "a", "b"), log, "two run folders are compared with --compare");
        SamCluster.Tests.BadInput.Cli.AssertRefused(Run("report", "a", "b", "--compare", "--format", "json"), log, "--compare writes Markdown only");
        Assert.Equal(0, Run("report", "a").ExitCode);
    }

    public void Dispose() => _runs.Dispose();
}

/// <summary>`serve` as a process: it prints its URL, serves, and SIGTERM ends it within 5 s.</summary>
[Collection(ProcessTests.Name)]
public sealed class ServeProcessTests(ITestOutputHelper log) : IDisposable
{
    readonly RunFolders _runs = new();

    [Fact]
    public async Task Serve_prints_its_url_serves_the_index_and_SIGTERM_ends_it_within_5_s()
    {
        _runs.Finished("quick");
        var lines = new ConcurrentQueue<string>();
        using var process = ProcessTests.Start(log, lines, "serve", _runs.Top, "--http", "0");
        try
        {
            Assert.True(ProcessTests.WaitFor(() => process.HasExited || lines.Any(l => l.Contains("Serving 1 run(s) at http://")), TimeSpan.FromMinutes(1)),
                $"serve did not come up\n{string.Join('\n', lines)}");
            var url = lines.First(l => l.Contains("Serving")).Split(" at ")[1].Split(' ')[0];
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(20) };
            Assert.Contains("\"name\": \"quick\"", await http.GetStringAsync(url + "api/runs"));
            var clock = Stopwatch.StartNew();
            using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString()])) kill!.WaitForExit();
            Assert.True(process.WaitForExit(TimeSpan.FromSeconds(30)), "serve did not end");
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"SIGTERM took {clock.Elapsed.TotalSeconds:F1} s");
            Assert.Equal(0, process.ExitCode);
            Assert.DoesNotContain(lines, l => l.TrimStart().StartsWith("at ", StringComparison.Ordinal));
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
    }

    public void Dispose() => _runs.Dispose();
}
