using System.Reflection;
using System.Xml.Linq;
using Xunit;

namespace SamCluster.Tests.Architecture;

/// <summary>The projects' arrows point one way: Messages ← Experiment ← Training / Reporting / RunStore ← Coordinator /
/// GpuNode ← Cli (Hosting, the Akka wiring both roles share, sits beside the middle layer on Messages alone). A project
/// may reference only projects of a lower layer, TorchSharp only in Training, Akka only in Hosting and the roles.</summary>
public sealed class LayeringTests
{
    /// <summary>Each project's layer: a reference must point to a strictly lower one.</summary>
    static readonly IReadOnlyDictionary<string, int> Layer = new Dictionary<string, int>
    {
        ["SamCluster.Messages"] = 0,
        ["SamCluster.Experiment"] = 1,
        ["SamCluster.Training"] = 2,
        ["SamCluster.Reporting"] = 2,
        ["SamCluster.RunStore"] = 2,
        ["SamCluster.Hosting"] = 2,
        ["SamCluster.Coordinator"] = 3,
        ["SamCluster.GpuNode"] = 3,
        ["samcluster"] = 4,   // the Cli project (its assembly is the program's name)
    };

    static readonly string[] PureProjects = ["SamCluster.Messages", "SamCluster.Experiment", "SamCluster.Reporting", "SamCluster.RunStore"];

    static string SourceRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "SamCluster.sln"))) dir = dir.Parent;
        return Path.Combine(dir?.FullName ?? throw new InvalidOperationException("no SamCluster.sln above the test binaries"), "src");
    }

    static IEnumerable<(string Project, XDocument Xml)> Projects() =>
        Directory.GetFiles(SourceRoot(), "*.csproj", SearchOption.AllDirectories)
            .Select(path => (Name(XDocument.Load(path), path), XDocument.Load(path)));

    static string Name(XDocument xml, string path) =>
        xml.Descendants("AssemblyName").FirstOrDefault()?.Value ?? Path.GetFileNameWithoutExtension(path);

    [Fact]
    public void Every_project_is_in_a_layer_and_references_only_lower_layers()
    {
        var projects = Projects().ToList();
        Assert.Equal(Layer.Keys.Order(), projects.Select(p => p.Project).Order());
        var wrong = new List<string>();
        foreach (var (project, xml) in projects)
            foreach (var reference in xml.Descendants("ProjectReference").Select(r => Path.GetFileNameWithoutExtension(r.Attribute("Include")!.Value.Replace('\\', '/'))))
            {
                var target = reference == "SamCluster.Cli" ? "samcluster" : reference;
                if (Layer[target] >= Layer[project]) wrong.Add($"{project} (layer {Layer[project]}) → {target} (layer {Layer[target]})");
            }
        Assert.True(wrong.Count == 0, "references that point the wrong way:\n" + string.Join("\n", wrong));
    }

    [Fact]
    public void TorchSharp_is_only_in_Training_and_Akka_only_in_Hosting_and_the_roles()
    {
        var wrong = new List<string>();
        foreach (var (project, xml) in Projects())
            foreach (var package in xml.Descendants("PackageReference").Select(p => p.Attribute("Include")!.Value))
            {
                if ((package.StartsWith("TorchSharp", StringComparison.Ordinal) || package.StartsWith("libtorch", StringComparison.Ordinal))
                    && project != "SamCluster.Training")
                    wrong.Add($"{project} references {package}");
                if (package.StartsWith("Akka", StringComparison.Ordinal) && PureProjects.Contains(project))
                    wrong.Add($"{project} references {package}");
            }
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
    }

    /// <summary>The built assemblies agree: the coordinator's and the pure projects' never load TorchSharp, the pure
    /// ones never load Akka (a reference that came in transitively would show here).</summary>
    [Theory]
    [InlineData(typeof(SamCluster.Coordinator.Actors.GridCoordinator), false)]
    [InlineData(typeof(SamCluster.Experiment.RecipeTable), true)]
    [InlineData(typeof(SamCluster.Reporting.ReportBuilder), true)]
    [InlineData(typeof(SamCluster.RunStore.RunFolder), true)]
    [InlineData(typeof(SamCluster.Messages.TrialSpec), true)]
    public void Built_assemblies_reference_neither_TorchSharp_nor_where_pure_Akka(Type inAssembly, bool pure)
    {
        var references = inAssembly.Assembly.GetReferencedAssemblies().Select(a => a.Name!).ToList();
        Assert.DoesNotContain(references, name => name.StartsWith("TorchSharp", StringComparison.Ordinal));
        if (pure) Assert.DoesNotContain(references, name => name.StartsWith("Akka", StringComparison.Ordinal));
    }
}
