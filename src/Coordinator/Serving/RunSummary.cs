using System.Globalization;
using System.Text;
using System.Text.Json;
using SamCluster.Coordinator.Lifecycle;
using SamCluster.Reporting;

namespace SamCluster.Coordinator.Serving;

/// <summary>A comparison of a run and its verdict (<see cref="ComparisonVerdict"/>).</summary>
public sealed record RunVerdict(string Comparison, string Verdict);

/// <summary>
/// One run in the index (`samcluster runs`, `serve`'s page and <c>GET /api/runs</c>): its name, grid, state, trials
/// (all, done = completed or failed, failed, running), when it started (run.json's created), its wall time (from then to
/// the last write of its result tables, or to now while running) and each comparison's verdict from its trials.csv.
/// </summary>
public sealed record RunSummary(
    string Name,
    string? Grid,
    string State,
    int Trials,
    int Done,
    int Failed,
    int Running,
    DateTimeOffset? Started,
    double? WallSeconds,
    IReadOnlyList<RunVerdict> Verdicts,
    string? Problem)
{
    public static RunSummary From(RunSnapshot run, DateTimeOffset now)
    {
        if (run.Problem is { } problem)
            return new RunSummary(run.Location.Name, null, run.State, 0, 0, 0, 0, null, null, [], problem);
        var board = run.Board();
        var started = run.Manifest!.Created;
        var end = run.Held ? now : run.LastWrite;
        return new RunSummary(run.Location.Name, run.Manifest.GridSource, run.State, board.Count, board.Count(e => e.IsFinished),
            board.Count(e => e.Status == BoardStatus.Failed), board.Count(e => e.Status == BoardStatus.Running), started,
            end is { } last && last >= started ? (last - started).TotalSeconds : null, VerdictsOf(run), null);
    }

    /// <summary>Each comparison's verdict, from the report of the run's trials.csv as `samcluster report` builds it.</summary>
    static IReadOnlyList<RunVerdict> VerdictsOf(RunSnapshot run)
    {
        if (run.Rows.Count == 0) return [];
        var sequential = run.Manifest?.Sequential is { } plan && plan.Problem() is null ? plan : null;
        try
        {
            var report = ReportBuilder.Build(run.Rows, new ReportOptions(Curves: false, Sequential: sequential));
            return report.Groups.SelectMany(g => g.Comparisons.Select(c =>
                new RunVerdict(ComparisonVerdict.Label(g, c), ComparisonVerdict.Of(c, report.Options.Alternative, report.ComparisonCount > 1)))).ToList();
        }
        catch (Messages.UserInputException e)
        {
            return [new RunVerdict("report", $"not built: {e.Message}")];
        }
    }
}

/// <summary>The index as `samcluster runs` prints it: an aligned table, CSV, or JSON (the JSON of <c>GET /api/runs</c>).</summary>
public static class RunsTable
{
    static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        // "+2.00 pp", "·" as they are (JSON for people and scripts, never put in HTML as is); control characters stay escaped.
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    static readonly string[] Header = ["name", "grid", "state", "trials", "done", "failed", "running", "started", "wall", "verdicts"];

    public static string WriteJson(IReadOnlyList<RunSummary> runs) => JsonSerializer.Serialize(runs, Json) + "\n";

    public static string WriteCsv(IReadOnlyList<RunSummary> runs) => CsvRows.Write(runs.Select(Cells).Prepend(Header));

    /// <summary>Columns padded to their widest cell; the verdicts last, as they are long.</summary>
    public static string WriteText(IReadOnlyList<RunSummary> runs)
    {
        var rows = runs.Select(Cells).Prepend(Header).ToList();
        var widths = Enumerable.Range(0, Header.Length).Select(i => rows.Max(r => r[i].Length)).ToArray();
        var text = new StringBuilder();
        foreach (var row in rows)
            text.AppendLine(string.Join("  ", row.Select((cell, i) => i == row.Length - 1 ? cell : cell.PadRight(widths[i]))).TrimEnd());
        return text.ToString();
    }

    static string[] Cells(RunSummary r) =>
    [
        r.Name, r.Grid ?? "–", r.Problem is null ? r.State : $"{r.State}: {r.Problem}", I(r.Trials), I(r.Done), I(r.Failed), I(r.Running),
        r.Started?.ToUniversalTime().ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture) ?? "–", Wall(r.WallSeconds),
        r.Verdicts.Count == 0 ? "–" : string.Join("; ", r.Verdicts.Select(v => $"{v.Comparison}: {v.Verdict}")),
    ];

    static string I(int value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>"42 s", "12m 05s", "3h 07m".</summary>
    public static string Wall(double? seconds) => seconds switch
    {
        null => "–",
        < 60 => $"{seconds.Value.ToString("0", CultureInfo.InvariantCulture)} s",
        < 3600 => $"{(int)(seconds / 60)}m {(int)(seconds % 60):00}s",
        _ => $"{(int)(seconds / 3600)}h {(int)(seconds % 3600 / 60):00}m",
    };
}
