using SamCluster.Messages;
using YamlDotNet.Core;

namespace SamCluster.Experiment.Grid;

/// <summary>One thing wrong with a grid file, located as "file:line:column" (line 0: the file as a whole).</summary>
public sealed record GridProblem(string File, long Line, long Column, string Message)
{
    public override string ToString() => Line > 0 ? $"{File}:{Line}:{Column}: {Message}" : $"{File}: {Message}";
}

/// <summary>The outcome of reading a grid file: the grid, or every problem found (reading goes on after the first so
/// the user can fix them all at once), in file order.</summary>
public sealed record GridCheck(GridConfig? Grid, IReadOnlyList<GridProblem> Problems)
{
    public bool Ok => Grid is not null && Problems.Count == 0;

    /// <summary>The grid, or a UserInputException whose one line is the first problem and how many more there are.</summary>
    public GridConfig OrThrow()
    {
        if (Ok) return Grid!;
        var first = Problems[0].ToString();
        throw new UserInputException(Problems.Count == 1
            ? first
            : $"{first} (and {Problems.Count - 1} more problem{(Problems.Count == 2 ? "" : "s")}; 'samcluster validate {Problems[0].File}' lists all)");
    }
}

/// <summary>Collects the problems of one grid file while it is read.</summary>
sealed class GridProblems(string file)
{
    readonly List<GridProblem> _problems = [];

    public string File => file;
    public bool Any => _problems.Count > 0;

    public int Count => _problems.Count;

    public void Add(Mark at, string message) => _problems.Add(new GridProblem(file, at.Line, at.Column, message));

    public void AddWithoutLine(string message) => _problems.Add(new GridProblem(file, 0, 0, message));

    public GridCheck Result(GridConfig? grid) =>
        new(_problems.Count == 0 ? grid : null, _problems.OrderBy(p => p.Line).ThenBy(p => p.Column).ToList());
}
