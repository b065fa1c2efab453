using System.Net;
using System.Net.Sockets;
using SamCluster.Tests.Cluster;
using Xunit;
using Xunit.Abstractions;

namespace SamCluster.Tests.BadInput;

/// <summary>Bad flag values of `node`, `local` and `coordinator`, refused before anything starts, and a coordinator that
/// never answers.</summary>
[Collection(InProcessCli.Name)]
public sealed class FlagTests(ITestOutputHelper log) : BadInputTest(log)
{
    static readonly TimeSpan Quick = TimeSpan.FromSeconds(30);

    CliRun RunQuick(params string[] args) => InProcessCli.RunWithin(Quick, Work, args);

    [Fact]
    public void A_node_gives_up_on_an_unreachable_coordinator_within_its_join_timeout()
    {
        var port = ProcessTests.FreePort();
        var run = RunQuick("node", "--coordinator", $"127.0.0.1:{port}", "--join-timeout", "3", "--devices", "cpu", "--threads", "1");
        Refused(run, "cannot reach the coordinator", $"127.0.0.1:{port}", "3 s");
        // 3 s of waiting plus start-up and shutdown; the default join timeout is 60 s.
        Assert.True(run.Elapsed < TimeSpan.FromSeconds(20), $"took {run.Elapsed.TotalSeconds:F1} s");
    }

    /// <summary>Long enough for Akka to retry joining several times: its retries stay off the console, the one line
    /// is the node's own. End to end, in a process of its own: what Akka's threads print is the process's output.</summary>
    [Fact]
    public void An_unreachable_coordinator_is_one_line_however_long_the_node_waits()
    {
        var port = ProcessTests.FreePort();
        var run = Cli.RunWithin(TimeSpan.FromSeconds(60), Work, "node", "--coordinator", $"127.0.0.1:{port}", "--join-timeout", "15",
            "--devices", "cpu", "--threads", "1", "--name", "lonely");
        Refused(run, "cannot reach the coordinator", $"127.0.0.1:{port}", "15 s");
        var printed = run.Stdout.Split('\n').Where(l => l.Trim().Length > 0).ToList();
        Assert.True(printed.Count == 1 && printed[0].Contains("[INF] lonely: Node lonely") && printed[0].Contains($"joining 127.0.0.1:{port}"),
            $"expected only the node's own start line on stdout\n{run}");
    }

    [Fact]
    public void A_node_gives_up_on_an_address_where_something_else_listens()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0); // accepts connections (backlog), never speaks Akka
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var run = RunQuick("node", "--coordinator", $"127.0.0.1:{port}", "--join-timeout", "3", "--devices", "cpu", "--threads", "1");
        Refused(run, "cannot reach the coordinator", $"127.0.0.1:{port}");
        Assert.True(run.Elapsed < TimeSpan.FromSeconds(20), $"took {run.Elapsed.TotalSeconds:F1} s");
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("127.0.0.1:")]
    [InlineData("127.0.0.1:http")]
    [InlineData("127.0.0.1:0")]
    [InlineData("127.0.0.1:70000")]
    [InlineData(":4053")]
    public void Node_refuses_a_coordinator_address_without_a_valid_port(string address)
    {
        Refused(RunQuick("node", "--coordinator", address, "--devices", "cpu"), $"--coordinator '{address}'", "HOST:PORT");
    }

    [Theory]
    [InlineData("--slots", "0", "--slots must be at least 1")]
    [InlineData("--slots", "-2", "--slots must be at least 1")]
    [InlineData("--threads", "0", "--threads must be at least 1")]
    [InlineData("--join-timeout", "0", "--join-timeout must be at least 1")]
    [InlineData("--devices", "gpu0", "device 'gpu0' is not valid")]
    [InlineData("--devices", "cpu:1", "device 'cpu:1' is not valid")]
    [InlineData("--devices", "cuda:7", "cuda:7")]
    [InlineData("--devices", "cpu,cpu", "--devices names cpu twice")]
    [InlineData("--devices", ",", "--devices is empty")]
    [InlineData("--devices", "cuda:0,cuda:0", "--devices names cuda:0 twice")]
    [InlineData("--slots", "two", "'two' for option '--slots' (expected a whole number)")]
    [InlineData("--pack", "0", "--pack must be at least 1, got 0")]
    [InlineData("--pack", "65", "--pack must be at most 64, got 65")]
    [InlineData("--libtorch", "/no/such/libtorch", "/no/such/libtorch")] // does not exist, or (bundled build) not to be used at all
    public void Node_refuses_a_bad_flag_value(string flag, string value, string problem)
    {
        string[] devices = flag == "--devices" ? [] : ["--devices", "cpu"];
        Refused(RunQuick(["node", "--coordinator", $"127.0.0.1:{ProcessTests.FreePort()}", .. devices, flag, value]), problem);
    }

    [Fact]
    public void Node_refuses_a_join_timeout_beside_service()
    {
        Refused(RunQuick("node", "--coordinator", $"127.0.0.1:{ProcessTests.FreePort()}", "--devices", "cpu", "--service", "--join-timeout", "5"),
            "--service waits for a coordinator without limit; leave out --join-timeout");
    }

    [Fact]
    public void Node_refuses_a_missing_coordinator_flag()
    {
        Refused(RunQuick("node", "--devices", "cpu"), "--coordinator");
    }

    [Theory]
    [InlineData("--nodes", "0", "--nodes must be at least 1")]
    [InlineData("--nodes", "-1", "--nodes must be at least 1")]
    [InlineData("--slots", "0", "--slots must be at least 1")]
    [InlineData("--threads", "0", "--threads must be at least 1")]
    [InlineData("--retries", "-1", "--retries must be at least 0")]
    [InlineData("--devices", "garbage", "device 'garbage' is not valid")]
    [InlineData("--devices", "cuda:7", "cuda:7")]
    [InlineData("--devices", "cpu,cpu", "--devices names cpu twice")]
    [InlineData("--nodes", "many", "--nodes")]
    [InlineData("--pack", "0", "--pack must be at least 1, got 0")]
    [InlineData("--pack", "99", "--pack must be at most 64, got 99")]
    public void Local_refuses_a_bad_flag_value_before_starting_anything(string flag, string value, string problem)
    {
        WriteFile("grid.yaml", ValidGrid(Work));
        Refused(RunQuick("local", "grid.yaml", "--out", "run", flag, value), problem);
        Assert.False(Directory.Exists(Path.Combine(Work, "run")), "a refused run created its --out folder");
    }

    [Theory]
    [InlineData("--retries", "-1", "--retries must be at least 0")]
    [InlineData("--port", "abc", "--port")]
    [InlineData("--host", "no-such-host.invalid", "no-such-host.invalid")]
    public void Coordinator_refuses_a_bad_flag_value_before_starting_anything(string flag, string value, string problem)
    {
        WriteFile("grid.yaml", ValidGrid(Work));
        string[] args = flag == "--port"
            ? ["coordinator", "grid.yaml", "--out", "run", flag, value]
            : ["coordinator", "grid.yaml", "--out", "run", "--port", ProcessTests.FreePort().ToString(), flag, value];
        Refused(RunQuick(args), problem);
        Assert.False(Directory.Exists(Path.Combine(Work, "run")), "a refused run created its --out folder");
    }

    [Fact]
    public void Coordinator_refuses_a_missing_port_flag()
    {
        WriteFile("grid.yaml", ValidGrid(Work));
        Refused(RunQuick("coordinator", "grid.yaml", "--out", "run"), "--port");
    }

    [Theory]
    [InlineData("--steps", "0", "--steps must be at least 1")]
    [InlineData("--batch-size", "-1", "--batch-size must be at least 1")]
    [InlineData("--threads", "0", "--threads must be at least 1")]
    [InlineData("--models", "resnet50", "--models entry 'resnet50' is unknown")]
    [InlineData("--optimizers", "adam", "--optimizers entry 'adam' is unknown")]
    [InlineData("--inputs", "3xabc", "--inputs entry '3xabc' is not CxS")]
    [InlineData("--device", "gpu", "device 'gpu' is not valid")]
    [InlineData("--device", "cuda:7", "cuda:7")]
    [InlineData("--peer", "/no/such/peer.py", "--peer '/no/such/peer.py' does not exist")]
    [InlineData("--libtorch", "/no/such/libtorch", "/no/such/libtorch")]
    public void Bench_refuses_a_bad_flag_value(string flag, string value, string problem)
    {
        // The smallest benchmark, so a check that fails to refuse costs seconds, not minutes.
        var flags = new Dictionary<string, string>
        {
            ["--models"] = "resnet18", ["--optimizers"] = "sgd", ["--inputs"] = "1x28", ["--steps"] = "1", ["--threads"] = "1", ["--batch-size"] = "2",
            [flag] = value,
        };
        Refused(RunQuick(["bench", .. flags.SelectMany(f => new[] { f.Key, f.Value })]), problem);
    }

    /// <summary>Issue 14: --libtorch on a build that bundles libtorch used to end in a native abort (exit 134, "Tried to
    /// register multiple backend fallbacks": a second libtorch in one process). Every command that takes the flag, or
    /// SAMCLUSTER_LIBTORCH, now refuses it with one line naming the builds that take it, before anything native is
    /// loaded or anything is written.</summary>
    [SkippableTheory]
    [InlineData("train-one", false)]
    [InlineData("train-one", true)]
    [InlineData("node", false)]
    [InlineData("local", false)]
    [InlineData("local", true)]
    [InlineData("coordinator", false)]
    [InlineData("coordinator", true)]
    [InlineData("bench", false)]
    [InlineData("devices", false)]
    public void A_libtorch_folder_on_a_build_that_bundles_libtorch_is_refused_before_anything_loads_or_is_written(string command, bool fromEnvironment)
    {
        Skip.If(SamCluster.Training.TorchRuntime.BundledLibTorch() is null, "this build bundles no libtorch (TorchBackend=external): a folder is its way");
        var libtorch = SecondLibTorch();
        WriteFile("grid.yaml", ValidGrid(Work));
        string[] args = command switch
        {
            "train-one" => ["train-one", "--epochs", "1", "--threads", "1", "--checkpoint-dir", "checkpoints"],
            "node" => ["node", "--coordinator", $"127.0.0.1:{ProcessTests.FreePort()}", "--devices", "cpu", "--threads", "1"],
            "local" => ["local", "grid.yaml", "--out", "run", "--nodes", "1", "--threads", "1"],
            "coordinator" => ["coordinator", "grid.yaml", "--out", "run", "--port", ProcessTests.FreePort().ToString()],
            "bench" => ["bench", "--models", "resnet18", "--optimizers", "sgd", "--inputs", "1x28", "--steps", "1", "--threads", "1"],
            _ => [command],
        };
        var environment = new Dictionary<string, string?> { ["SAMCLUSTER_LIBTORCH"] = fromEnvironment ? libtorch : null };
        var before = FolderSnapshot.Take(Work);

        var run = InProcessCli.RunWithin(Quick, Work, environment, fromEnvironment ? args : [.. args, "--libtorch", libtorch]);

        Refused(run, fromEnvironment ? $"SAMCLUSTER_LIBTORCH={libtorch}:" : $"--libtorch {libtorch}:", "this build bundles libtorch",
            "deploy/gpu/package.sh", "-p:TorchBackend=external");
        FolderSnapshot.AssertUnchanged(before, Work);
    }

    /// <summary>A libtorch other than this build's own: the NuGet package's (a real second copy, as in the issue) where
    /// the package cache has it, else an empty folder — the refusal comes before the folder's files are looked at.</summary>
    string SecondLibTorch()
    {
        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } set
            ? set : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var nuget = Path.Combine(packages, "libtorch-cpu-linux-x64");
        var native = Directory.Exists(nuget)
            ? Directory.EnumerateDirectories(nuget).Select(v => Path.Combine(v, "runtimes", "linux-x64", "native")).FirstOrDefault(Directory.Exists)
            : null;
        return native ?? Directory.CreateDirectory(Path.Combine(Work, "libtorch")).FullName;
    }

    /// <summary>End to end, in a process of its own: a parse error is refused before any command runs.</summary>
    [Fact]
    public void An_unknown_command_or_option_is_refused()
    {
        Refused(Cli.RunWithin(Quick, Work, "launch", "grid.yaml"), "unknown command 'launch'", "local, coordinator, node");
        Refused(Cli.RunWithin(Quick, Work, "validate", "grid.yaml", "--fast"), "--fast");
    }
}
