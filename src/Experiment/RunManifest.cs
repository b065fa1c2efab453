using System.Text.Json.Serialization;
using SamCluster.Messages;

namespace SamCluster.Experiment;

/// <summary>What a coordinator start runs, for run.json: this program's version and commit, .NET, TorchSharp and
/// libtorch, and the command line.</summary>
public sealed record ProgramFacts(string SamclusterVersion, string? GitCommit, string Dotnet, string TorchSharp, string LibTorch,
    IReadOnlyList<string> CommandLine);

/// <summary>A node that ran a trial of the run, as run.json lists it (<see cref="NodeFacts"/> flattened under its name;
/// only the name from nodes of older versions).</summary>
public sealed record RunNode(string Name, string? Host = null, string? CpuModel = null, int? Cores = null, int? Threads = null,
    IReadOnlyList<string>? Devices = null, IReadOnlyList<string>? Gpus = null, string? GpuDriver = null,
    [property: JsonPropertyName("torchsharp")] string? TorchSharp = null, [property: JsonPropertyName("libtorch")] string? LibTorch = null)
{
    public static RunNode From(string name, NodeFacts? f) => f is null ? new RunNode(name)
        : new RunNode(name, f.Host, f.CpuModel, f.Cores, f.Threads, f.Devices, f.Gpus, f.GpuDriver, f.TorchSharp, f.LibTorch);

    // Records compare lists by reference; a node is the same when every field reads the same.
    public bool Equals(RunNode? other) => other is not null && Name == other.Name && Host == other.Host && CpuModel == other.CpuModel
        && Cores == other.Cores && Threads == other.Threads && GpuDriver == other.GpuDriver && TorchSharp == other.TorchSharp
        && LibTorch == other.LibTorch && Same(Devices, other.Devices) && Same(Gpus, other.Gpus);

    public override int GetHashCode() => HashCode.Combine(Name, Host, Threads, LibTorch);

    static bool Same(IReadOnlyList<string>? a, IReadOnlyList<string>? b) => a is null ? b is null : b is not null && a.SequenceEqual(b);
}

/// <summary>run.json: which run the folder holds (its id, grid and every trial, so it resumes and grows right), where its
/// journal is, and its provenance: the program of the latest start and every node that ran a trial.</summary>
/// <param name="Trials">Every trial of the run with its id (null in manifests of older versions).</param>
/// <param name="RunId">Which run this is (null in manifests of older versions): a folder and a server journal must agree.</param>
/// <param name="Journal">Where the run's journal is: null for journal.db in the folder, else the server
/// (PostgresJournal.Name: postgresql://user@host:port/database).</param>
/// <param name="Sequential">The grid's `sequential` key when the run follows a group-sequential design (left out
/// otherwise, so run.json of a fixed-repeats run reads as before): fixed for the run's life.</param>
public sealed record RunManifest(string GridFingerprint, string GridSource, DateTimeOffset Created, IReadOnlyList<TrialSpec>? Trials = null,
    string? RunId = null, string? Journal = null, string? SamclusterVersion = null, string? GitCommit = null, string? Dotnet = null,
    [property: JsonPropertyName("torchsharp")] string? TorchSharp = null, [property: JsonPropertyName("libtorch")] string? LibTorch = null,
    IReadOnlyList<string>? CommandLine = null, IReadOnlyList<RunNode>? Nodes = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] SequentialPlan? Sequential = null)
{
    public RunManifest WithProgram(ProgramFacts p) => this with
    {
        SamclusterVersion = p.SamclusterVersion, GitCommit = p.GitCommit, Dotnet = p.Dotnet, TorchSharp = p.TorchSharp,
        LibTorch = p.LibTorch, CommandLine = p.CommandLine,
    };
}
