using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SamCluster.Training.Optimization;

/// <summary>Sharpness-Aware Minimization (Foret et al. 2021) wrapping a base optimizer, as davda54/sam does.
/// FirstStep climbs to w + e with e = rho·g/‖g‖ (the norm over all parameters together; ASAM: e = rho·w²·g/‖|w|·g‖);
/// SecondStep returns to w and lets the base optimizer step with the gradient taken at w + e.</summary>
public sealed class Sam : IDisposable
{
    private const double NormEpsilon = 1e-12;   // as davda54/sam: keeps a zero gradient from dividing by zero
    private readonly Parameter[] parameters;
    private readonly Tensor[] perturbations;
    private readonly optim.Optimizer baseOptimizer;
    private readonly double rho;
    private readonly bool adaptive;

    public Sam(IEnumerable<Parameter> parameters, optim.Optimizer baseOptimizer, double rho, bool adaptive = false)
    {
        if (!(rho > 0)) throw new SamCluster.Messages.UserInputException($"SAM's rho must be positive, got {rho}");
        this.parameters = parameters.Where(p => p.requires_grad).ToArray();
        perturbations = this.parameters.Select(p => zeros_like(p).DetachFromDisposeScope()).ToArray();
        this.baseOptimizer = baseOptimizer;
        this.rho = rho;
        this.adaptive = adaptive;
    }

    public optim.Optimizer BaseOptimizer => baseOptimizer;

    /// <summary>w += e, computed from the gradients now in the parameters; then clears the gradients.</summary>
    public void FirstStep()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var gradNorm = stack(parameters.Select(p => adaptive ? p.abs().mul(p.grad!).norm() : p.grad!.norm())).norm();
        var scale = gradNorm.add(NormEpsilon).reciprocal_().mul_(rho);   // stays on the device: no host round trip
        for (int i = 0; i < parameters.Length; i++)
        {
            var e = perturbations[i];
            if (adaptive) e.copy_(parameters[i]).pow_(2).mul_(parameters[i].grad!).mul_(scale);
            else e.copy_(parameters[i].grad!).mul_(scale);
            parameters[i].add_(e);
        }
        baseOptimizer.zero_grad();
    }

    /// <summary>w -= e, then the base optimizer's step with the gradients taken at w + e.</summary>
    public void SecondStep()
    {
        using (no_grad())
            for (int i = 0; i < parameters.Length; i++)
                parameters[i].sub_(perturbations[i]);
        baseOptimizer.step();
    }

    public void Dispose()
    {
        foreach (var e in perturbations) e.Dispose();
    }
}
