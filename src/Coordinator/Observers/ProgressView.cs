using SamCluster.Coordinator.Lifecycle;
using SamCluster.Coordinator.Run;

namespace SamCluster.Coordinator.Observers;

/// <summary>The console's progress view: done / running / queued, each running trial's epoch and test accuracy, an ETA.
/// Printed when something changed, else every 30 s, so the console stays readable.</summary>
public sealed class ProgressView(RunLog log) : IRunObserver
{
    string _last = "";
    DateTime _lastAt = DateTime.MinValue;

    public void OnTick(RunView view) => Show(view, force: false);

    public void OnAllFinished(RunView view) => Show(view, force: true);

    void Show(RunView view, bool force)
    {
        var eta = view.Eta is { } t ? $"ETA {(int)t.TotalMinutes}m {t.Seconds:D2}s" : "ETA —";
        var line = $"Progress: {view.Completed + view.Failed}/{view.Total} done ({view.Failed} failed) · {view.Running.Count} running · {view.Queued} queued · {view.Workers} workers · {eta}";
        var details = string.Concat(view.Running.Select(r =>
        {
            var epochs = r.Spec.Recipe.Epochs;
            var history = r.State.Epochs;
            var where = r.Worker ?? $"{r.State.Node}/{r.State.Device}";
            var last = history.Count > 0 ? $"epoch {history[^1].Epoch}/{epochs}, test acc {history[^1].TestAcc:F1}%" : $"epoch 0/{epochs}";
            return $"\n    {r.Spec.Key.Id} on {where}: {last}";
        }));
        var text = line + details;
        if (!force && text == _last && DateTime.UtcNow - _lastAt < TimeSpan.FromSeconds(30)) return;
        _last = text;
        _lastAt = DateTime.UtcNow;
        log.Main.Information(text);
    }
}
