using static TorchSharp.torch;

namespace SamCluster.Training.Optimization;

/// <summary>Sharpness-Aware Minimization (Foret et al. 2021) wrapping a base optimizer, as davda54/sam does.
/// FirstStep saves w and climbs to w + e with e = rho·g/‖g‖ (the norm over all parameters together; ASAM:
/// e = rho·w²·g/‖|w|·g‖); SecondStep restores the saved w (bit for bit, as davda54/sam's p.data = old_p: subtracting e
/// again would round) and lets the base optimizer step with the gradient taken at w + e. Works on the flat parameter and
/// gradient buffers, so each of these is one or two kernels whatever the number of parameter tensors.</summary>
public sealed class Sam : IDisposable
{
    private const double NormEpsilon = 1e-12;   // as davda54/sam: keeps a zero gradient from dividing by zero
    private readonly FlatParameters _parameters;
    private readonly FlatBuffer _savedWeights;
    private readonly FlatSgd _baseOptimizer;
    private readonly double _rho;
    private readonly bool _adaptive;
    private readonly MemberLayout? _members;

    /// <param name="members">For a packed model: each member's radius from its own gradient norm, as in its solo run.</param>
    public Sam(FlatParameters parameters, FlatSgd baseOptimizer, double rho, bool adaptive = false, MemberLayout? members = null)
    {
        // rho 0 is allowed (the grid accepts it): SAM then steps exactly as its base optimizer, a useful control.
        if (!(rho >= 0)) throw new SamCluster.Messages.UserInputException($"SAM's rho must be 0 or more, got {rho}");
        _parameters = parameters;
        _savedWeights = parameters.Values.ZerosLike();
        _baseOptimizer = baseOptimizer;
        _rho = rho;
        _adaptive = adaptive;
        _members = members;
    }

    /// <summary>Saves w, then w += e, computed from the gradients now in the parameters; then clears the gradients.</summary>
    public void FirstStep()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var (w, g, saved) = (_parameters.Values.Values, _parameters.Gradients.Values, _savedWeights.Values);
        var gradNorm = _members is null
            ? (_adaptive ? w.abs().mul_(g).norm() : g.norm())
            : _members.NormPerMember(_adaptive ? w.abs().mul_(g) : g);
        var scale = gradNorm.AddInPlace(NormEpsilon).reciprocal_().MulInPlace(_rho);   // stays on the device: no host round trip
        saved.copy_(w);
        // e is computed in w's own memory, then the saved w added: w + e in the same operations (and roundings) as
        // davda54/sam's p.add_(e_w), with no buffer besides the saved weights.
        var e = _adaptive ? w.PowInPlace(2).mul_(g) : w.copy_(g);
        if (_members is null) e.mul_(scale);
        else _members.MultiplyPerMember(e, scale);
        e.AddInPlace(saved);
        _parameters.ZeroGradients();
    }

    /// <summary>w = the saved w, then the base optimizer's step with the gradients taken at w + e.</summary>
    public void SecondStep()
    {
        using (no_grad()) _parameters.Values.Values.copy_(_savedWeights.Values);
        _baseOptimizer.Step();
    }

    public void Dispose() => _savedWeights.Dispose();
}
