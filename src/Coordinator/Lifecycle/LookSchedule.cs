using SamCluster.Messages;
using SamCluster.Reporting.Sequential;

namespace SamCluster.Coordinator.Lifecycle;

/// <summary>Where one comparison of a sequential study stands: its decided looks, in order.</summary>
/// <param name="MarginPp">The design's futility margin (what a futility stop says), null without one.</param>
public sealed record ComparisonLooks(StudyComparison Comparison, IReadOnlyList<LookDecided> Decided, int LookCount, double? MarginPp)
{
    public LookDecided? Last => Decided.Count == 0 ? null : Decided[^1];

    /// <summary>Still running repeats: no look has stopped it.</summary>
    public bool IsOpen => Last is null || Last.Decision == LookResult.NameOf(LookDecision.Continue);

    /// <summary>The look whose repeats run now (open), or the look that stopped it.</summary>
    public int Reached => IsOpen ? Decided.Count + 1 : Last!.Look;

    /// <summary>"look 1 of 4: running", "look 2 of 4: continue", "stopped at look 1: SAM better", "stopped at look 2:
    /// gain &lt; 0.2 pp", "look 4 of 4: not shown" (the words of <see cref="LookResult.Describe"/>).</summary>
    public string Describe()
    {
        if (Last is null) return $"look 1 of {LookCount}: running";
        var decision = Enum.GetValues<LookDecision>().First(d => LookResult.NameOf(d) == Last.Decision);
        var title = Experiment.Vocabulary.FindOptimizer(Comparison.Treatment)?.Title ?? Comparison.Treatment;
        return new LookResult(Last.Look, LookCount, Last.NPerArm, decision, Last.Statistic, Last.Df, Last.NominalAlpha, Last.PValue,
            Last.Difference, null).Describe(title, MarginPp);
    }
}

/// <summary>A look due for a decision: every trial it decides on is finished.</summary>
public sealed record DueLook(StudyComparison Comparison, int Look);

/// <summary>
/// The looks of a sequential study, as the coordinator runs them — a pure rule, no actors. It folds the journaled
/// decisions (<see cref="LookDecided"/>) and answers which trials may run (a trial runs when some comparison it serves has
/// reached the trial's look: a control arm shared by several comparisons runs while any of them needs it), which will
/// never run (every comparison it serves stopped before its look), and which looks are due (every trial of the look is
/// finished and the look is not decided). The decision itself is <see cref="SequentialStudy.Decide"/>'s, the report's too.
/// </summary>
public sealed class LookSchedule(SequentialStudy study)
{
    readonly Dictionary<string, List<LookDecided>> _decided = study.Comparisons.ToDictionary(c => c.Id, _ => new List<LookDecided>());

    public SequentialStudy Study => study;

    /// <summary>Folds one journaled decision. A decision of a look already decided (journaled twice) is ignored.</summary>
    public bool Apply(LookDecided decided)
    {
        if (!_decided.TryGetValue(decided.Comparison, out var looks)) return false;
        if (looks.Any(l => l.Look == decided.Look)) return false;
        looks.Add(decided);
        looks.Sort((a, b) => a.Look.CompareTo(b.Look));
        return true;
    }

    public ComparisonLooks Of(StudyComparison comparison) => new(comparison, _decided[comparison.Id].ToList(), study.Plan.Looks.Count, study.Plan.MarginPp);

    public IReadOnlyList<ComparisonLooks> All => study.Comparisons.Select(Of).ToList();

    /// <summary>Some comparison the trial serves has reached its look (a trial in no comparison always runs).</summary>
    public bool MayRun(TrialKey key)
    {
        var comparisons = study.ComparisonsOf(key).ToList();
        var look = study.LookOf(key.Repeat);
        return comparisons.Count == 0 || comparisons.Any(c => look <= Of(c).Reached);
    }

    /// <summary>Every comparison the trial serves has stopped before its look: it will never run.</summary>
    public bool NeverRuns(TrialKey key)
    {
        var comparisons = study.ComparisonsOf(key).ToList();
        return comparisons.Count > 0 && comparisons.All(c => !Of(c).IsOpen) && !MayRun(key);
    }

    /// <summary>The open comparisons whose current look has every trial finished, and that look.</summary>
    public IReadOnlyList<DueLook> Due(IReadOnlySet<string> finishedIds) =>
        study.Comparisons.Select(Of).Where(c => c.IsOpen && study.LookComplete(c.Comparison, c.Reached, finishedIds))
            .Select(c => new DueLook(c.Comparison, c.Reached)).ToList();

    /// <summary>The decision of a due look as the journal records it.</summary>
    public LookDecided Decide(DueLook due, IEnumerable<LookInput> finished, DateTimeOffset now)
    {
        var r = study.Decide(due.Comparison, due.Look, finished);
        return new LookDecided(due.Comparison.Id, r.Look, LookResult.NameOf(r.Decision), r.NPerArm, r.Statistic, r.Df, r.NominalAlpha,
            r.PValue, r.Difference, now);
    }
}
