using SamCluster.Coordinator.Lifecycle;
using SamCluster.Coordinator.LiveView;
using SamCluster.RunStore;

namespace SamCluster.Coordinator.Serving;

/// <summary>
/// One run `serve` shows: its files read again whenever they change (<see cref="RunSnapshot.Stamp"/>: a size, a time of
/// last write or the folder's lock), its live page's model (<see cref="LiveRun"/>, fed the board its files tell) and its
/// row of the index. Refreshed from one thread (the server's poll); read from any.
/// </summary>
public sealed class FollowedRun(RunLocation location)
{
    string? _stamp;
    RunSnapshot? _snapshot;
    volatile LiveRun? _live;
    volatile RunSummary? _summary;

    public RunLocation Location => location;

    /// <summary>The run's page model; null until its files could be read once.</summary>
    public LiveRun? Live => _live;

    /// <summary>Its row of the index (null before the first <see cref="Refresh"/>).</summary>
    public RunSummary? Summary => _summary;

    /// <summary>Why its files cannot be shown now (null: shown).</summary>
    public string? Problem => _snapshot?.Problem;

    /// <summary>Reads the files again if they changed; a running run's wall time follows the clock in any case.</summary>
    public void Refresh(DateTimeOffset now)
    {
        var stamp = RunSnapshot.Stamp(location);
        if (stamp == _stamp && _snapshot is { } same)
        {
            if (same.Held && _summary is { Started: { } started } summary)
                _summary = summary with { WallSeconds = Math.Max(0, (now - started).TotalSeconds) };
            return;
        }
        _stamp = stamp;
        var snapshot = RunSnapshot.Read(location);
        _snapshot = snapshot;
        _summary = RunSummary.From(snapshot, now);
        if (snapshot.Problem is not null) return;   // the page keeps what it last showed
        var live = _live;
        if (live is null || !live.HasTrials(snapshot.Trials))
        {
            // First reading, or a run that grew (its run.json lists more trials): a new model; open pages reconnect to it.
            live?.CloseAll();
            live = new LiveRun($"{snapshot.Manifest!.GridSource} → {location.Name}", snapshot.Trials,
                Path.Combine(location.Root, RunSnapshot.ReportFile));
        }
        live.Replace(new RunView(snapshot.Board(), 0, null), snapshot.State, snapshot.ReportReady);
        _live = live;
    }

    /// <summary>A trial's log in the run folder (as the coordinator names it).</summary>
    public string TrialLog(string trialId) => RunFolder.TrialLogIn(location.Root, trialId);

    /// <summary>The run is gone from under the folders given: its pages are closed.</summary>
    public void Close() => _live?.CloseAll();
}
