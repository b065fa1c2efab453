using SamCluster.Messages;
using static TorchSharp.torch;

namespace SamCluster.Training.Optimization;

/// <summary>LookSAM (Liu et al. 2022), stepped as MarlonBecker/MSAM's optimizer/looksam.py steps it, on the flat
/// buffers. Every k-th step is SAM's (ascent to w + e, e = ρ·g/‖g‖, a second pass there giving g_s, back by w − e);
/// it stores the part of g_s orthogonal to g, normalised: g_v = (g_s − (g·g_s/(‖g‖²+ε))·g)/‖…‖. The steps in between
/// take one pass and descend with g + α·‖g‖·g_v. The descent is SGD's momentum step in both cases.
/// The k-cycle restarts at every epoch (<see cref="Restart"/>; the reference counts across epochs): an epoch then begins
/// with a SAM step that computes g_v afresh, so a checkpoint between epochs needs no LookSAM state and a resumed run ends
/// exactly as one that went on. The two agree whenever k divides the steps per epoch.</summary>
public sealed class LookSam : IDisposable
{
    private const double NormEpsilon = 1e-12;   // as the reference
    private readonly FlatParameters _parameters;
    private readonly FlatSgd _baseOptimizer;
    private readonly double _rho, _alpha;
    private readonly int _k;
    private readonly FlatBuffer _firstGradient;   // g, taken at w, during a SAM step
    private readonly FlatBuffer _orthogonal;      // g_v, normalised
    private readonly Tensor _scale;               // ρ/(‖g‖+ε) of the SAM step under way, on the device
    private int _stepsSinceSam;

    public LookSam(FlatParameters parameters, FlatSgd baseOptimizer, double rho, int k, double alpha)
    {
        if (!(rho >= 0)) throw new UserInputException($"LookSAM's rho must be 0 or more, got {rho}");
        if (k < 1) throw new UserInputException($"LookSAM's k must be 1 or more, got {k}");
        if (!(alpha >= 0)) throw new UserInputException($"LookSAM's alpha must be 0 or more, got {alpha}");
        _parameters = parameters;
        _baseOptimizer = baseOptimizer;
        (_rho, _k, _alpha) = (rho, k, alpha);
        _firstGradient = parameters.Values.ZerosLike();
        _orthogonal = parameters.Values.ZerosLike();
        var w = parameters.Values.Values;
        _scale = zeros(Array.Empty<long>(), w.dtype, w.device).DetachFromDisposeScope();
        Restart();
    }

    /// <summary>Whether this step is SAM's (the reference's iteration_counter == k): its first, then every k-th.</summary>
    public bool SamStepDue => _stepsSinceSam == _k;

    /// <summary>The next step is a SAM step, and the cycle counts from it.</summary>
    public void Restart() => _stepsSinceSam = _k;

    /// <summary>SAM step, first half: keeps g, w += e, clears the gradients for the pass at w + e.</summary>
    public void Ascend()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var (w, g) = (_parameters.Values.Values, _parameters.Gradients.Values);
        _scale.copy_(g.norm().AddInPlace(NormEpsilon).reciprocal_().MulInPlace(_rho));
        _firstGradient.Values.copy_(g);
        w.AddProductInPlace(g, _scale, 1);   // + e, e = g·scale, as the reference's p.add_(e_w)
        _parameters.ZeroGradients();
    }

    /// <summary>SAM step, second half, with g_s (taken at w + e) in the gradients: w −= e, g_v from g and g_s, and
    /// SGD's step with g_s.</summary>
    public void Descend()
    {
        using (NewDisposeScope())
        using (no_grad())
        {
            var (w, gs, g, gv) = (_parameters.Values.Values, _parameters.Gradients.Values, _firstGradient.Values, _orthogonal.Values);
            w.AddProductInPlace(g, _scale, -1);   // − e, the same product as Ascend's: the reference's p.sub_(e_w)
            var projection = gs.dot(g).div_(g.norm().PowInPlace(2).AddInPlace(NormEpsilon));
            gv.copy_(g).mul_(projection).neg_().AddInPlace(gs);
            gv.div_(gv.norm());
        }
        _baseOptimizer.Step();
        _stepsSinceSam = 1;
    }

    /// <summary>A step between SAM steps: g += α·‖g‖·g_v, then SGD's step.</summary>
    public void Reuse()
    {
        using (NewDisposeScope())
        using (no_grad())
        {
            var g = _parameters.Gradients.Values;
            g.AddProductInPlace(_orthogonal.Values, g.norm().MulInPlace(_alpha), 1);
        }
        _baseOptimizer.Step();
        _stepsSinceSam++;
    }

    public void Dispose()
    {
        _firstGradient.Dispose();
        _orthogonal.Dispose();
        _scale.Dispose();
    }
}
