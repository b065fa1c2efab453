using System.Text;
using SamCluster.Coordinator.Grid;
using SamCluster.Messages;
using Xunit;

namespace SamCluster.Tests.Grid;

/// <summary>Files that are not grids at all: missing, folders, empty, binary, not UTF-8.</summary>
public class GridFileTests
{
    static string LoadError(string path) => Assert.Throws<UserInputException>(() => GridConfigLoader.Load(path)).Message;

    [Fact]
    public void Missing_file()
    {
        using var temp = new TempFolder();
        var path = Path.Combine(temp.Path, "nope.yaml");
        Assert.Equal($"{path}: not found", LoadError(path));
    }

    [Fact]
    public void Folder_instead_of_a_file()
    {
        using var temp = new TempFolder();
        Assert.Equal($"{temp.Path}: is a folder, not a grid file", LoadError(temp.Path));
    }

    [Fact]
    public void Empty_file()
    {
        using var temp = new TempFolder();
        var path = temp.File("grid.yaml", []);
        Assert.Equal($"{path}: is empty: a grid needs at least 'datasets', 'models', 'optimizers' and 'repeats'", LoadError(path));
    }

    [Fact]
    public void Binary_file()
    {
        using var temp = new TempFolder();
        var path = temp.File("grid.yaml", [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00]);
        Assert.Equal($"{path}: is a binary file (it holds NUL bytes), not a YAML grid", LoadError(path));
    }

    [Fact]
    public void Text_that_is_not_utf8_is_refused_at_its_line()
    {
        using var temp = new TempFolder();
        var latin1 = Encoding.Latin1.GetBytes("datasets: [fashion-mnist]\nmodels: [résnet18]\n");
        var path = temp.File("grid.yaml", latin1);
        Assert.Equal($"{path}:2:11: is not UTF-8 text (invalid byte 0xE9); a grid is a YAML text file", LoadError(path));
    }

    [Fact]
    public void Utf8_file_with_a_byte_order_mark_loads()
    {
        using var temp = new TempFolder();
        var path = temp.File("grid.yaml", [.. Encoding.UTF8.GetPreamble(), .. Encoding.UTF8.GetBytes(GridTestFiles.Minimal)]);
        Assert.Equal(1, GridConfigLoader.Load(path).TrialCount);
    }

    [Fact]
    public void Load_names_the_file_as_given_and_takes_relative_paths_from_its_folder()
    {
        using var temp = new TempFolder();
        var path = temp.File("grid.yaml", Encoding.UTF8.GetBytes(GridTestFiles.Minimal + "\ndata: {fashion-mnist: {path: fm}}\n"));
        var grid = GridConfigLoader.Load(path);
        Assert.Equal(path, grid.Source);
        Assert.Equal(Path.Combine(temp.Path, "fm"), grid.PlanFor("fashion-mnist").Data.Root);
    }
}
