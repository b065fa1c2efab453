using MathNet.Numerics.Distributions;

namespace SamCluster.Reporting.Sequential;

/// <summary>What simulated studies under one rule gave: how often efficacy was declared (the type-I error when the true
/// effect is 0, else the power), its Monte Carlo standard error, and the repeats per arm a study ran on average.</summary>
public sealed record SimulationResult(int Studies, double EffectPp, double SdPp, double ControlSdPp, double EfficacyRate, double StandardError,
    double ExpectedRepeatsPerArm, double FutilityRate, IReadOnlyList<double> StoppedAtLook);

/// <summary>
/// Studies simulated under exactly the rule a run follows (<see cref="SequentialRule"/>): each arm's final accuracies
/// normal with sd <c>sdPp</c> (the control's <c>controlSdPp</c>, the same when not given), the treatment's mean <c>effectPp</c> above the control's; looks taken in order until one
/// decides. Deterministic for a seed.
/// </summary>
public static class SequentialSimulation
{
    public static SimulationResult Run(SequentialRule rule, int studies, double effectPp, double sdPp, int seed = 1, double? controlSdPp = null)
    {
        var controlSd = controlSdPp ?? sdPp;
        ArgumentOutOfRangeException.ThrowIfLessThan(studies, 1);
        var design = rule.Design;
        var random = new Random(seed);
        var last = design.Looks[^1];
        var treatment = new double[last];
        var control = new double[last];
        var (efficacy, futility, repeats) = (0, 0, 0L);
        var stoppedAt = new int[design.LookCount];
        for (var s = 0; s < studies; s++)
        {
            for (var i = 0; i < last; i++)
            {
                treatment[i] = effectPp + sdPp * Normal.Sample(random, 0, 1);
                control[i] = controlSd * Normal.Sample(random, 0, 1);
            }
            for (var look = 1; look <= design.LookCount; look++)
            {
                var result = rule.Decide(look, treatment, control);
                if (result.Decision == LookDecision.Continue) continue;
                if (result.Decision == LookDecision.Efficacy) efficacy++;
                if (result.Decision == LookDecision.Futility) futility++;
                repeats += result.NPerArm;
                stoppedAt[look - 1]++;
                break;
            }
        }
        var rate = (double)efficacy / studies;
        return new SimulationResult(studies, effectPp, sdPp, controlSd, rate, Math.Sqrt(rate * (1 - rate) / studies),
            (double)repeats / studies, (double)futility / studies, stoppedAt.Select(c => (double)c / studies).ToList());
    }
}
