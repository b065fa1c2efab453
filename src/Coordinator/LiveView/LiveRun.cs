using System.Text.Json;
using System.Threading.Channels;
using SamCluster.Coordinator.Lifecycle;
using SamCluster.Reporting;
using SamCluster.Messages;
using SamCluster.Experiment;
using SamCluster.RunStore;

namespace SamCluster.Coordinator.LiveView;

/// <summary>A trial as the live page and <c>GET /api/trials</c> show it (its status is the board's).</summary>
/// <param name="Group">The curves it belongs to: "Fashion-MNIST · ResNet-18", with the recipe cell when the grid varies one.</param>
/// <param name="Status">queued, running, completed or failed (failed only once no retry is left); in a sequential
/// study also waiting (for its comparison's look) or skipped (its comparisons stopped before its look).</param>
/// <param name="Epoch">Epochs done by the newest attempt, counting those it resumed from.</param>
/// <param name="Log">The page's link to the trial's log.</param>
public sealed record LiveTrialRow(
    string Id,
    string Dataset,
    string Model,
    string Optimizer,
    string? Cell,
    int Repeat,
    string Group,
    string OptimizerTitle,
    string Status,
    string? Node,
    string? Device,
    int Epoch,
    int Epochs,
    double? TrainAcc,
    double? TestAcc,
    double Seconds,
    int Attempts,
    string? Failure,
    string Log);

/// <summary>Where the grid stands. Null counts before the coordinator has read the journal back.</summary>
/// <param name="Served">Only for a run `serve` reads from its files (null from a coordinator): "running" while a process
/// holds its folder, else "finished" or "stopped".</param>
public sealed record ProgressInfo(
    int Total,
    int Completed,
    int Failed,
    int Running,
    int Queued,
    int Workers,
    double? EtaSeconds,
    bool Finished,
    bool ReportReady,
    int Waiting = 0,
    int Skipped = 0,
    IReadOnlyList<LiveLook>? Looks = null,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    string? Served = null);

/// <summary>A sequential study's comparison on the page: "fashion-mnist/resnet18/sam" vs "sgd", "look 2 of 4: continue".</summary>
public sealed record LiveLook(string Comparison, string Control, string State);

/// <summary>One epoch as the page plots it (the keys of epochs.csv and train-one's JSON lines).</summary>
public sealed record EpochPoint(int Epoch, double TrainLoss, double TrainAcc, double TestLoss, double TestAcc, double Lr, double Seconds,
    double ImagesPerSecond)
{
    public static EpochPoint From(EpochMetrics m) =>
        new(m.Epoch, m.TrainLoss, m.TrainAcc, m.TestLoss, m.TestAcc, m.LearningRate, m.Seconds, m.ImagesPerSecond);
}

/// <summary>A trial's curve as its newest attempt sees it: the epochs it resumed from, then its own.</summary>
public sealed record TrialEpochs(string Trial, int Attempt, IReadOnlyList<EpochPoint> Epochs);

/// <summary>One server-sent event: its name and its JSON data.</summary>
public sealed record LiveMessage(string Event, string Data);

/// <summary>
/// The live page's model of the run: an observer that keeps the newest board the coordinator sent (an immutable
/// snapshot: status, counts and curves are read from its entries, none kept here) and pushes each change to the page's
/// subscribers as one small message — a trial's row, one new epoch, the progress — so a browser never re-reads whole tables. A subscriber first gets a snapshot of everything, taken under the same
/// lock that orders the changes, so it misses nothing and sees nothing twice. Observer calls come one at a time from
/// the coordinator's thread; readers (HTTP requests) come from any thread.
/// </summary>
public sealed class LiveRun : IRunObserver
{
    /// <summary>Messages a subscriber may fall behind by before it is dropped; its browser reconnects and gets a fresh
    /// snapshot, so a stalled tab costs bounded memory and loses nothing.</summary>
    public const int SubscriberBacklog = 10_000;

    static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    readonly object _gate = new();
    readonly string _title;
    readonly string _reportFile;
    readonly IReadOnlyList<TrialSpec> _trials;
    Dictionary<string, int> _index;
    readonly List<Channel<LiveMessage>> _subscribers = [];
    IReadOnlyList<BoardEntry> _board;
    RunView? _view;
    bool _reportReady;
    string? _served;
    string? _lastProgress;

    /// <param name="title">What the page's heading names: the grid and its run folder.</param>
    /// <param name="trials">The run's trials, in grid order.</param>
    /// <param name="reportFile">report.json, served once the report has been written.</param>
    public LiveRun(string title, IReadOnlyList<TrialSpec> trials, string reportFile)
    {
        _title = title;
        _reportFile = reportFile;
        _trials = trials;
        _index = Index(trials);
        _board = trials.Select(BoardEntry.New).ToList();
    }

    // ---- observer ----

    public void OnStart(RunView view)
    {
        lock (_gate)
        {
            _board = view.Trials;
            _index = Index(_board.Select(e => e.Spec));   // the board's order from now on (the coordinator's is fixed)
            _view = view;
            // A coordinator that starts again (from the journal) may know more than the page: everyone starts over.
            Publish(new LiveMessage("snapshot", SnapshotJson()));
        }
    }

    public void OnTrialEvent(BoardEntry trial, ITrialEvent e, IReadOnlyList<BoardEntry> board)
    {
        lock (_gate)
        {
            var before = Entry(trial.Id).State;
            var state = trial.State;
            _board = board;
            Publish(new LiveMessage("trial", Serialize(Row(trial))));
            PublishProgressIfChanged();
            if (e is EpochRecorded epoch && epoch.Attempt == state.Attempt)
                Publish(new LiveMessage("epoch", Serialize(new { Trial = trial.Id, epoch.Attempt, Point = EpochPoint.From(epoch.Metrics) })));
            else if (before.Attempt != state.Attempt || before.Epochs.Count != state.Epochs.Count)
                Publish(new LiveMessage("epochs", Serialize(EpochsOf(trial.Id))));   // a new attempt, or one that resumed
        }
    }

    public void OnDecision(BoardEntry trial, SchedulerAction decision, IReadOnlyList<BoardEntry> board)
    {
        lock (_gate)
        {
            _board = board;
            Publish(new LiveMessage("trial", Serialize(Row(trial))));
            PublishProgressIfChanged();
        }
    }

    public void OnTick(RunView view) => UpdateProgress(view);

    public void OnLookDecided(ComparisonLooks decided, RunView view) => UpdateProgress(view);

    public void OnAllFinished(RunView view) => UpdateProgress(view);

    /// <summary>The report files are written: the page may show them.</summary>
    public void OnReportWritten()
    {
        lock (_gate)
        {
            _reportReady = true;
            PublishProgressIfChanged();
            Publish(new LiveMessage("report", "{}"));
        }
    }

    /// <summary>The whole run as `serve` read it again from its files (<paramref name="view"/>: every trial, in the run's
    /// order): what changed since the last reading goes to the page as the coordinator's changes do — a trial's row, its
    /// new epochs one by one (or its whole curve when an attempt began again), the progress, the report once written.</summary>
    /// <param name="served">"running", "finished" or "stopped" (<see cref="ProgressInfo.Served"/>).</param>
    /// <param name="reportReady">Whether the run folder has its report.json.</param>
    public void Replace(RunView view, string served, bool reportReady)
    {
        lock (_gate)
        {
            var before = _board.ToDictionary(e => e.Id);
            _board = view.Trials;
            _index = Index(_board.Select(e => e.Spec));
            _view = view;
            _served = served;
            foreach (var entry in _board)
            {
                var old = before.GetValueOrDefault(entry.Id);
                var row = Serialize(Row(entry));
                if (old is null || Serialize(Row(old)) != row) Publish(new LiveMessage("trial", row));
                var (was, now) = (old?.State.Epochs ?? [], entry.State.Epochs);
                if (was.SequenceEqual(now)) continue;
                if (old is not null && old.State.Attempt == entry.State.Attempt && now.Count > was.Count && now.Take(was.Count).SequenceEqual(was))
                    foreach (var point in now.Skip(was.Count))
                        Publish(new LiveMessage("epoch", Serialize(new { Trial = entry.Id, entry.State.Attempt, Point = EpochPoint.From(point) })));
                else
                    Publish(new LiveMessage("epochs", Serialize(EpochsOf(entry.Id))));
            }
            var reportWritten = reportReady && !_reportReady;
            _reportReady = reportReady;
            PublishProgressIfChanged();
            if (reportWritten) Publish(new LiveMessage("report", "{}"));
        }
    }

    void UpdateProgress(RunView view)
    {
        lock (_gate)
        {
            _view = view;
            _board = view.Trials;
            PublishProgressIfChanged();
        }
    }

    // ---- readers ----

    /// <summary>Every trial's row, in grid order (GET /api/trials).</summary>
    public string TrialsJson()
    {
        lock (_gate) return Serialize(_board.Select(Row).ToList());
    }

    /// <summary>A trial's epochs (GET /api/trials/{id}/epochs); null for an id not in the grid.</summary>
    public string? EpochsJson(string trialId)
    {
        lock (_gate) return IsTrial(trialId) ? Serialize(EpochsOf(trialId)) : null;
    }

    /// <summary>report.json once the report of this run is written (GET /api/report); null before.</summary>
    public string? ReportJson()
    {
        lock (_gate)
            if (!_reportReady) return null;
        // Read as the logs are: the run's own file, not what a link put in its place points at.
        return RunFolderFile.TryReadText(Path.GetDirectoryName(_reportFile)!, _reportFile, out var json, out _) == RunFolderFile.Outcome.Read ? json : null;
    }

    public bool IsTrial(string trialId) => _index.ContainsKey(trialId);

    /// <summary>Whether this model was made for exactly these trials (a run that grew needs a new one).</summary>
    public bool HasTrials(IReadOnlyList<TrialSpec> trials) => trials.Select(t => t.Key.Id).SequenceEqual(_trials.Select(t => t.Key.Id));

    /// <summary>A stream of messages for one page: a snapshot of everything, then every change. The channel is
    /// completed when the subscriber falls <see cref="SubscriberBacklog"/> messages behind.</summary>
    public ChannelReader<LiveMessage> Subscribe()
    {
        var channel = Channel.CreateBounded<LiveMessage>(new BoundedChannelOptions(SubscriberBacklog)
            { SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait });
        lock (_gate)
        {
            channel.Writer.TryWrite(new LiveMessage("snapshot", SnapshotJson()));
            _subscribers.Add(channel);
        }
        return channel.Reader;
    }

    /// <summary>Ends a subscription (its page went away).</summary>
    public void Unsubscribe(ChannelReader<LiveMessage> reader)
    {
        lock (_gate) _subscribers.RemoveAll(c => c.Reader == reader);
    }

    /// <summary>Ends every subscription: the server is stopping.</summary>
    public void CloseAll()
    {
        lock (_gate)
        {
            foreach (var c in _subscribers) c.Writer.TryComplete();
            _subscribers.Clear();
        }
    }

    public int Subscribers
    {
        get { lock (_gate) return _subscribers.Count; }
    }

    // ---- inside the lock ----

    void Publish(LiveMessage message)
    {
        for (var i = _subscribers.Count - 1; i >= 0; i--)
        {
            if (_subscribers[i].Writer.TryWrite(message)) continue;
            _subscribers[i].Writer.TryComplete();
            _subscribers.RemoveAt(i);
        }
    }

    /// <summary>The counts change with a trial's status, the ETA with each tick: sent when they differ from the last sent.</summary>
    void PublishProgressIfChanged()
    {
        if (_view is null) return;
        var progress = Serialize(Progress());
        if (progress == _lastProgress) return;
        _lastProgress = progress;
        Publish(new LiveMessage("progress", progress));
    }

    string SnapshotJson() => Serialize(new
    {
        Title = _title,
        // The report's order, so each optimizer has the colour it has in the PNG charts.
        Optimizers = ReportBuilder.OrderOptimizers(_trials.Select(t => t.Key.Optimizer).Distinct(), new ReportOptions().Control),
        Progress = _view is null ? null : Progress(),
        Trials = _board.Select(Row).ToList(),
        Epochs = _board.Select(e => EpochsOf(e.Id)).Where(e => e.Epochs.Count > 0).ToList(),
    });

    ProgressInfo Progress()
    {
        int Count(BoardStatus status) => _board.Count(e => e.Status == status);
        return new ProgressInfo(_board.Count, Count(BoardStatus.Completed), Count(BoardStatus.Failed), Count(BoardStatus.Running),
            Count(BoardStatus.Queued), _view?.Workers ?? 0, _view?.Eta?.TotalSeconds, _board.All(e => e.IsSettled), _reportReady,
            Count(BoardStatus.Waiting), Count(BoardStatus.Skipped),
            _view?.Looks?.Select(c => new LiveLook(c.Comparison.Id, c.Comparison.Control, c.Describe())).ToList(), _served);
    }

    TrialEpochs EpochsOf(string id)
    {
        var state = Entry(id).State;
        return new TrialEpochs(id, state.Attempt, state.Epochs.Select(EpochPoint.From).ToList());
    }

    BoardEntry Entry(string id) => _board[_index[id]];

    static Dictionary<string, int> Index(IEnumerable<TrialSpec> trials) =>
        trials.Select((t, i) => (t.Key.Id, i)).ToDictionary(x => x.Id, x => x.i);

    static LiveTrialRow Row(BoardEntry trial)
    {
        var (spec, state, status) = (trial.Spec, trial.State, trial.StatusName);
        var key = spec.Key;
        var epochs = state.Epochs;
        var last = epochs.Count > 0 ? epochs[^1] : null;
        var group = $"{Vocabulary.FindDataset(key.Dataset)?.Title ?? key.Dataset} · {Vocabulary.FindModel(key.Model)?.Title ?? key.Model}"
                    + (key.Cell is { } cell ? $" · {cell}" : "");
        return new LiveTrialRow(key.Id, key.Dataset, key.Model, key.Optimizer, key.Cell, key.Repeat, group,
            Vocabulary.FindOptimizer(key.Optimizer)?.Title ?? key.Optimizer, status, state.Node, state.Device,
            last?.Epoch ?? 0, spec.Recipe.Epochs, last?.TrainAcc, last?.TestAcc,
            state.Summary?.Seconds ?? epochs.Sum(e => e.Seconds), state.Attempts.Count,
            status == "failed" ? state.LastFailure : null, "logs/" + key.Id);
    }

    static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Json);
}
