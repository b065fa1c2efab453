using static TorchSharp.torch;

namespace SamCluster.Training.Optimization;

/// <summary>Sharpness-Aware Minimization (Foret et al. 2021) wrapping a base optimizer, as davda54/sam does.
/// FirstStep climbs to w + e with e = rho·g/‖g‖ (the norm over all parameters together; ASAM: e = rho·w²·g/‖|w|·g‖);
/// SecondStep returns to w and lets the base optimizer step with the gradient taken at w + e. Works on the flat
/// parameter and gradient buffers, so each of these is one or two kernels whatever the number of parameter tensors.</summary>
public sealed class Sam : IDisposable
{
    private const double NormEpsilon = 1e-12;   // as davda54/sam: keeps a zero gradient from dividing by zero
    private readonly FlatParameters parameters;
    private readonly FlatBuffer perturbation;
    private readonly FlatSgd baseOptimizer;
    private readonly double rho;
    private readonly bool adaptive;

    public Sam(FlatParameters parameters, FlatSgd baseOptimizer, double rho, bool adaptive = false)
    {
        // rho 0 is allowed (the grid accepts it): SAM then steps exactly as its base optimizer, a useful control.
        if (!(rho >= 0)) throw new SamCluster.Messages.UserInputException($"SAM's rho must be 0 or more, got {rho}");
        this.parameters = parameters;
        perturbation = parameters.Values.ZerosLike();
        this.baseOptimizer = baseOptimizer;
        this.rho = rho;
        this.adaptive = adaptive;
    }

    /// <summary>w += e, computed from the gradients now in the parameters; then clears the gradients.</summary>
    public void FirstStep()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var (w, g, e) = (parameters.Values.Values, parameters.Gradients.Values, perturbation.Values);
        var gradNorm = adaptive ? w.abs().mul_(g).norm() : g.norm();
        var scale = gradNorm.add_(NormEpsilon).reciprocal_().mul_(rho);   // stays on the device: no host round trip
        if (adaptive) e.copy_(w).pow_(2).mul_(g).mul_(scale);
        else e.copy_(g).mul_(scale);
        w.add_(e);
        parameters.ZeroGradients();
    }

    /// <summary>w -= e, then the base optimizer's step with the gradients taken at w + e.</summary>
    public void SecondStep()
    {
        using (no_grad()) parameters.Values.Values.sub_(perturbation.Values);
        baseOptimizer.Step();
    }

    public void Dispose() => perturbation.Dispose();
}
