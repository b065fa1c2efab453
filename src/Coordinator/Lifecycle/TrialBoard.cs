using System.Collections.Immutable;
using SamCluster.Messages;

namespace SamCluster.Coordinator.Lifecycle;

/// <summary>Where a trial of the grid stands, as every reader of the run shows it (progress, tables, live page). Waiting
/// and Skipped occur in sequential studies only: a later look's trial waits for its comparison's decision, and is
/// skipped (never run) once every comparison it serves has stopped.</summary>
public enum BoardStatus { Queued, Running, Completed, Failed, Waiting, Skipped }

/// <summary>Whether a trial of a sequential study may run yet: Open (any trial of a fixed-repeats grid), Waiting for a
/// look's decision, or Skipped because its comparisons stopped before its look.</summary>
public enum LookGate { Open, Waiting, Skipped }

/// <summary>A trial handed out by this coordinator and not yet back: to which worker, how far the hand-out got, and
/// when it is given up unless the worker is heard from.</summary>
/// <param name="Worker">The coordinator's key of the worker, "w0@node-1/cpu#uid".</param>
/// <param name="Attempt">The attempt the entity numbered (0 while <see cref="HandOutStage.Starting"/>).</param>
public sealed record HandOut(string Worker, HandOutStage Stage, int Attempt, DateTimeOffset Deadline)
{
    /// <summary>"w0@node-1/cpu": the worker as logs and the console name it (the key less its actor uid).</summary>
    public string WorkerName => Worker.Split('#')[0];
}

/// <summary>Starting: the entity is asked to number the attempt; Offered: the worker has it, not yet accepted;
/// Running: accepted, its lease renewed by reports.</summary>
public enum HandOutStage { Starting, Offered, Running }

/// <summary>One trial on the board: its spec, what its journal says (the entity's events folded), this coordinator's
/// hand-out of it, and its outcome once finished for good. Immutable: a change is a new entry.</summary>
/// <param name="Completed">Null until the trial is finished for good: true completed, false failed with no retry left.</param>
/// <param name="Recovered">Finished before this coordinator started (read back from the journal).</param>
/// <param name="Gate">Sequential studies: whether the trial's look is open yet (<see cref="LookGate"/>).</param>
public sealed record BoardEntry(TrialSpec Spec, TrialState State, HandOut? HandOut = null, bool? Completed = null, bool Recovered = false,
    LookGate Gate = LookGate.Open)
{
    public static BoardEntry New(TrialSpec spec) => new(spec, TrialState.New(spec.Key.Id));

    public string Id => Spec.Key.Id;

    /// <summary>The one status of the trial: its outcome once finished, else running while handed out, else waiting or
    /// skipped by its look's gate, else queued.</summary>
    public BoardStatus Status => Completed switch
    {
        true => BoardStatus.Completed,
        false => BoardStatus.Failed,
        null when HandOut is not null => BoardStatus.Running,
        null => Gate switch
        {
            LookGate.Waiting => BoardStatus.Waiting,
            LookGate.Skipped => BoardStatus.Skipped,
            _ => BoardStatus.Queued,
        },
    };

    /// <summary>Completed, or failed for good: the trial has its outcome (a row of trials.csv).</summary>
    public bool IsFinished => Completed is not null;

    /// <summary>Nothing more will happen to it: finished, or skipped by a stopped comparison.</summary>
    public bool IsSettled => IsFinished || (Gate == LookGate.Skipped && HandOut is null);

    /// <summary>"queued", "running", "completed", "failed" (as trials.csv and the live page write it), "waiting", "skipped".</summary>
    public string StatusName => Status.ToString().ToLowerInvariant();
}

/// <summary>
/// The coordinator's one read model of every trial of the grid (<see cref="BoardEntry"/>): the journal's state of each
/// (folded here from the events its entity publishes), the scheduler's hand-out and the outcome. Status, counts and
/// outcomes are read from here and nowhere else: the scheduler writes hand-outs and outcomes into it, the progress view,
/// the result tables, the weights and the live page read it. Owned by the coordinator's thread; <see cref="Trials"/> is an
/// immutable snapshot that may be handed to any thread.
/// </summary>
public sealed class TrialBoard
{
    ImmutableList<BoardEntry> _entries;
    readonly Dictionary<string, int> _index;

    /// <param name="trials">The grid's trials, in grid order (the order readers list them in).</param>
    public TrialBoard(IEnumerable<TrialSpec> trials)
    {
        _entries = trials.Select(BoardEntry.New).ToImmutableList();
        _index = _entries.Select((e, i) => (e.Id, i)).ToDictionary(x => x.Id, x => x.i);
    }

    /// <summary>Every trial in grid order, as the board is now (an immutable snapshot).</summary>
    public IReadOnlyList<BoardEntry> Trials => _entries;

    public BoardEntry this[string trialId] => _entries[_index[trialId]];

    public bool Knows(string trialId) => _index.ContainsKey(trialId);

    public int Count(BoardStatus status) => _entries.Count(e => e.Status == status);

    /// <summary>Every trial finished or skipped: the grid is done.</summary>
    public bool AllFinished => _entries.All(e => e.IsSettled);

    /// <summary>Each trial's state as the journal holds it, read back on start.</summary>
    public void Restore(IEnumerable<TrialState> states)
    {
        foreach (var state in states)
            if (Knows(state.TrialId)) Set(this[state.TrialId] with { State = state });
    }

    /// <summary>Folds one published event into its trial's state; null when the state already holds it (read back from
    /// the journal after the event was published). <paramref name="gap"/> says a version was skipped (events arrived
    /// out of order).</summary>
    public BoardEntry? Apply(ITrialEvent e, long version, out bool gap)
    {
        var entry = this[e.TrialId];
        gap = version > entry.State.Version + 1;
        if (version <= entry.State.Version) return null;
        return Set(entry with { State = TrialDecider.Apply(entry.State, e) with { Version = version } });
    }

    /// <summary>The scheduler's hand-out of the trial (null: back in the queue, or finished).</summary>
    internal BoardEntry SetHandOut(string trialId, HandOut? handOut) => Set(this[trialId] with { HandOut = handOut });

    /// <summary>The trial's look gate (sequential studies).</summary>
    internal BoardEntry SetGate(string trialId, LookGate gate) => Set(this[trialId] with { Gate = gate });

    /// <summary>The trial is finished for good.</summary>
    internal BoardEntry Finish(string trialId, bool completed, bool recovered = false) =>
        Set(this[trialId] with { HandOut = null, Completed = completed, Recovered = recovered });

    BoardEntry Set(BoardEntry entry)
    {
        _entries = _entries.SetItem(_index[entry.Id], entry);
        return entry;
    }
}
