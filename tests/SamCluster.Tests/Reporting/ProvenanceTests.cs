using SamCluster.Cli.Processes;
using SamCluster.Experiment.Grid;
using SamCluster.Reporting;
using SamCluster.RunStore;
using SamCluster.GpuNode;
using SamCluster.Messages;
using Xunit;
using SamCluster.Experiment;

namespace SamCluster.Tests.Reporting;

/// <summary>run.json's provenance (the program, the nodes) and report.md's section drawn from it.</summary>
public sealed class ProvenanceTests : IDisposable
{
    readonly string _work = Directory.CreateTempSubdirectory("samcluster-provenance-").FullName;

    public void Dispose() => Directory.Delete(_work, recursive: true);

    string WriteGrid()
    {
        var grid = Path.Combine(_work, "grid.yaml");
        File.WriteAllText(grid, """
            datasets: [fashion-mnist]
            models: [resnet18]
            optimizers: [sgd, sam]
            repeats: 1
            data:
              fashion-mnist:
                path: /data/fashion-mnist
            """);
        return grid;
    }

    static readonly ProgramFacts Program = new("1.0.0", "0123456789abcdef", ".NET 10.0.0", "0.107.0", "2.10.0 (bundled)",
        ["samcluster.dll", "local", "grid.yaml"]);

    static readonly NodeFacts Gpu = new("gpu-host-1", "AMD EPYC 9654", 16, 16, ["cuda:0", "cuda:1"],
        ["NVIDIA H100 80GB HBM3", "NVIDIA H100 80GB HBM3"], "580.159.04", "0.107.0", "2.11.0+cu130 (/opt/torch/lib)");

    [Fact]
    public void Run_json_is_snake_case_and_lists_the_program_and_each_node_once()
    {
        var grid = WriteGrid();
        var outDir = Path.Combine(_work, "run");
        using (var folder = RunFolder.Prepare(outDir, grid, GridExpander.Expand(GridConfigLoader.Load(grid)), program: Program))
        {
            folder.RecordNode("node-1", Gpu);
            folder.RecordNode("node-1", Gpu);                     // every hand-out reports it: one entry
            folder.RecordNode("node-2", null);                    // a node of an older version: its name only
        }
        var text = File.ReadAllText(Path.Combine(outDir, "run.json"));
        foreach (var key in new[] { "\"grid_fingerprint\"", "\"run_id\"", "\"samcluster_version\": \"1.0.0\"", "\"git_commit\": \"0123456789abcdef\"",
                     "\"dotnet\"", "\"torchsharp\": \"0.107.0\"", "\"libtorch\": \"2.10.0 (bundled)\"", "\"command_line\"", "\"cpu_model\": \"AMD EPYC 9654\"",
                     "\"gpu_driver\": \"580.159.04\"", "\"learning_rate\"" })
            Assert.Contains(key, text);
        Assert.DoesNotContain("\"GridFingerprint\"", text);
        var manifest = RunManifestFile.TryRead(outDir)!;
        Assert.Equal(["node-1", "node-2"], manifest.Nodes!.Select(n => n.Name));

        // Resumed by a later start: the trials are kept, the program is the new one's, the nodes stay.
        using (RunFolder.Prepare(outDir, grid, GridExpander.Expand(GridConfigLoader.Load(grid)), program: Program with { GitCommit = "fedcba" }))
        {
        }
        var resumed = RunManifestFile.TryRead(outDir)!;
        Assert.Equal("fedcba", resumed.GitCommit);
        Assert.Equal(manifest.RunId, resumed.RunId);
        Assert.Equal(2, resumed.Nodes!.Count);
        Assert.Equal(2, resumed.Trials!.Count);
    }

    [Fact]
    public void A_run_folder_of_an_older_version_is_read_and_resumed()
    {
        var grid = WriteGrid();
        var outDir = Path.Combine(_work, "old");
        RunFolder.Prepare(outDir, grid, GridExpander.Expand(GridConfigLoader.Load(grid))).Dispose();
        var runId = RunManifestFile.TryRead(outDir)!.RunId!;
        // What versions before snake_case wrote: the same record with .NET's default (PascalCase) names.
        var legacy = System.Text.Json.JsonSerializer.Serialize(RunManifestFile.TryRead(outDir)!, new System.Text.Json.JsonSerializerOptions { WriteIndented = true });
        Assert.Contains("\"GridFingerprint\"", legacy);
        File.WriteAllText(Path.Combine(outDir, "run.json"), legacy);

        using (var again = RunFolder.Prepare(outDir, grid, GridExpander.Expand(GridConfigLoader.Load(grid)), program: Program))
            Assert.True(again.Resumed);
        var manifest = RunManifestFile.TryRead(outDir)!;
        Assert.Equal(runId, manifest.RunId);
        Assert.Equal(2, manifest.Trials!.Count);
        Assert.Contains("\"grid_fingerprint\"", File.ReadAllText(Path.Combine(outDir, "run.json")));
    }

    [Fact]
    public void Report_md_ends_with_the_provenance()
    {
        var run = new RunManifest("abcdef0123456789", "/grids/paper.yaml", new DateTimeOffset(2026, 11, 25, 18, 40, 0, TimeSpan.Zero), RunId: "r1")
            .WithProgram(Program) with { Nodes = [RunNode.From("node-1", Gpu)] };
        var rows = new List<TrialResultRow>
        {
            new("fashion-mnist", "resnet18", "sgd", 1, true, 90, 89, 10, 2, null, 2),
            new("fashion-mnist", "resnet18", "sam", 1, true, 91, 90, 20, 2, null, 3),
        };
        var markdown = MarkdownReport.Write(ReportBuilder.Build(rows, new ReportOptions()), run);
        var section = markdown[markdown.IndexOf("## Provenance", StringComparison.Ordinal)..];
        Assert.Contains("SamCluster 1.0.0 (commit 0123456789ab); .NET 10.0.0; TorchSharp 0.107.0; coordinator's libtorch 2.10.0 (bundled)", section);
        Assert.Contains("`samcluster.dll local grid.yaml`", section);
        Assert.Contains("| node-1 | gpu-host-1 | AMD EPYC 9654 | 16 | 16 | cuda:0, cuda:1 | 2 × NVIDIA H100 80GB HBM3 | 580.159.04 | 2.11.0+cu130 (/opt/torch/lib) |", section);
        Assert.DoesNotContain("## Provenance", MarkdownReport.Write(ReportBuilder.Build(rows, new ReportOptions())));
    }

    [Fact]
    public void Node_facts_come_from_proc()
    {
        var proc = Path.Combine(_work, "proc");
        Directory.CreateDirectory(Path.Combine(proc, "driver", "nvidia", "gpus", "0000:41:00.0"));
        Directory.CreateDirectory(Path.Combine(proc, "driver", "nvidia", "gpus", "0000:01:00.0"));
        File.WriteAllText(Path.Combine(proc, "cpuinfo"), "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 9654 96-Core Processor\n\nprocessor\t: 1\nmodel name\t: AMD EPYC 9654 96-Core Processor\n");
        File.WriteAllText(Path.Combine(proc, "driver", "nvidia", "version"),
            "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.159.04  Release Build  (dvs-builder@U16)  Thu Oct  2 2026\nGCC version:  gcc version 12.2.0\n");
        File.WriteAllText(Path.Combine(proc, "driver", "nvidia", "gpus", "0000:01:00.0", "information"), "Model: \t\t NVIDIA H100 80GB HBM3\nIRQ:   \t\t 150\n");
        File.WriteAllText(Path.Combine(proc, "driver", "nvidia", "gpus", "0000:41:00.0", "information"), "Model: \t\t NVIDIA H200\nIRQ:   \t\t 151\n");

        var facts = NodeFactsProbe.Read(["cuda:0"], threads: 8, procRoot: proc);
        Assert.Equal("AMD EPYC 9654 96-Core Processor", facts.CpuModel);
        Assert.Equal(["NVIDIA H100 80GB HBM3", "NVIDIA H200"], facts.Gpus);
        Assert.Equal("580.159.04", facts.GpuDriver);
        Assert.Equal((8, Environment.ProcessorCount), (facts.Threads, facts.Cores));

        File.WriteAllText(Path.Combine(proc, "driver", "nvidia", "version"),
            "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15  Tue Mar  5 22:23:56 UTC 2024\n");
        Assert.Equal("550.54.15", NodeFactsProbe.GpuDriver(proc));

        var bare = NodeFactsProbe.Read(["cpu"], threads: 2, procRoot: Path.Combine(_work, "no-proc"));
        Assert.Equal((null, null), (bare.CpuModel, bare.GpuDriver));
        Assert.Empty(bare.Gpus);
    }
}
