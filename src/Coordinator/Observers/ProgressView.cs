using SamCluster.Messages;
using SamCluster.Coordinator.Lifecycle;
using SamCluster.RunStore;
using SamCluster.Coordinator.Logging;

namespace SamCluster.Coordinator.Observers;

/// <summary>The console's progress view: done / running / queued (and, in a sequential study, waiting and skipped, with
/// each comparison's look), each running trial's epoch and test accuracy, an ETA.
/// Printed when something changed, else every 30 s while trials run or wait (a sign of life), so the console stays
/// readable; a finished grid kept up by --stay says its last line once, not every 30 s for hours.</summary>
/// <param name="clock">Now, in UTC (tests give their own).</param>
public sealed class ProgressView(RunLog log, Func<DateTime>? clock = null) : IRunObserver
{
    static readonly TimeSpan RepeatEvery = TimeSpan.FromSeconds(30);
    readonly Func<DateTime> _now = clock ?? (() => DateTime.UtcNow);
    string _last = "";
    DateTime _lastAt = DateTime.MinValue;

    public void OnTick(RunView view) => Show(view, force: false);

    public void OnAllFinished(RunView view) => Show(view, force: true);

    void Show(RunView view, bool force)
    {
        var eta = view.Eta is { } t ? $"ETA {(int)t.TotalMinutes}m {t.Seconds:D2}s" : "ETA —";
        var looks = view.Looks is null ? "" : $" · {view.Waiting} waiting for a look · {view.Skipped} skipped";
        var line = $"Progress: {view.Completed + view.Failed}/{view.Total} done ({view.Failed} failed) · {view.Running.Count} running · {view.Queued} queued{looks} · {ConsoleText.Count(view.Workers, "worker")} · {eta}";
        var details = string.Concat(view.Running.Select(r =>
        {
            var epochs = r.Spec.Recipe.Epochs;
            var history = r.State.Epochs;
            var where = r.HandOut?.WorkerName ?? $"{r.State.Node}/{r.State.Device}";
            var last = history.Count > 0 ? $"epoch {history[^1].Epoch}/{epochs}, test acc {history[^1].TestAcc:F1}%" : $"epoch 0/{epochs}";
            return $"\n    {r.Spec.Key.Id} on {where}: {last}";
        }));
        var decisions = string.Concat((view.Looks ?? []).Select(c => $"\n    {c.Comparison.Id} vs {c.Comparison.Control}: {c.Describe()}"));
        var text = line + details + decisions;
        var idle = view.Running.Count == 0 && view.Queued == 0;
        if (!force && text == _last && (idle || _now() - _lastAt < RepeatEvery)) return;
        _last = text;
        _lastAt = _now();
        log.Main.Information(text);
    }
}
