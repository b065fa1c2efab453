namespace SamCluster.Tests.Grid;

/// <summary>Grids shared by the grid tests and the way to the repository's deploy/grids folder.</summary>
static class GridTestFiles
{
    /// <summary>The smallest valid grid: one Fashion-MNIST trial with every default.</summary>
    public const string Minimal = """
        datasets: [fashion-mnist]
        models: [resnet18]
        optimizers: [sgd]
        repeats: 1
        """;

    public static string GridsFolder
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "SamCluster.sln")))
                    return Path.Combine(dir.FullName, "deploy", "grids");
            throw new DirectoryNotFoundException("no SamCluster.sln above the test binaries");
        }
    }

    public static string Grid(string name) => Path.Combine(GridsFolder, name);
}

/// <summary>A temporary folder removed after the test.</summary>
sealed class TempFolder : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("samcluster-grid-test-").FullName;

    public string File(string name, byte[] content)
    {
        var path = System.IO.Path.Combine(Path, name);
        System.IO.File.WriteAllBytes(path, content);
        return path;
    }

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
