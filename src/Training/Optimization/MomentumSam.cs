using SamCluster.Messages;
using static TorchSharp.torch;

namespace SamCluster.Training.Optimization;

/// <summary>Momentum-SAM (Becker et al. 2024), stepped as MarlonBecker/MSAM's optimizer/msam.py steps it, on the flat
/// buffers. The ascent direction is SGD's momentum v, which SGD keeps anyway, so a step costs one forward and backward
/// pass: between steps the model's weights sit at the ascent point w − ρ·v/‖v‖, and the gradient the next pass takes
/// there is the one the step descends with. A step: the weight decay is added to the gradient at the ascent point (as the
/// reference adds it there); the weights go back to the descent point with the previous v and norm; SGD's momentum step;
/// then up to the new ascent point with the new v. Evaluation, checkpoints and weights files want the descent point:
/// <see cref="ToDescentPoint"/> and <see cref="ToAscentPoint"/> move between the two as the reference's
/// move_back_from_momentumAscent and move_up_to_momentumAscent do.</summary>
public sealed class MomentumSam : IDisposable
{
    private const double NormEpsilon = 1e-12;   // as the reference
    private readonly FlatParameters _parameters;
    private readonly FlatSgd _baseOptimizer;
    private readonly double _rho;
    // ρ/(‖v‖+ε) of the v the weights were last moved up with; a 0-dim tensor on the device (no host round trip). Zero
    // before the first step, as the reference's inverse_norm_buffer: the first step starts at w itself.
    private readonly Tensor _scale;

    public MomentumSam(FlatParameters parameters, FlatSgd baseOptimizer, double rho)
    {
        if (!(rho >= 0)) throw new UserInputException($"Momentum-SAM's rho must be 0 or more, got {rho}");
        // With momentum 0 TorchSharp's SGD keeps no momentum, and MSAM would have no direction to perturb along.
        if (!(baseOptimizer.MomentumFactor > 0)) throw new UserInputException("Momentum-SAM perturbs along SGD's momentum: momentum must be more than 0");
        _parameters = parameters;
        _baseOptimizer = baseOptimizer;
        _rho = rho;
        var w = parameters.Values.Values;
        _scale = zeros(Array.Empty<long>(), w.dtype, w.device).DetachFromDisposeScope();
    }

    /// <summary>One MSAM step with the gradients now in the parameters (taken at the ascent point).</summary>
    public void Step()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var (w, g, v) = (_parameters.Values.Values, _parameters.Gradients.Values, _baseOptimizer.Momentum);
        if (_baseOptimizer.WeightDecay != 0) g.AddInPlace(w, _baseOptimizer.WeightDecay);
        w.AddProductInPlace(v, _scale, 1);              // back to the descent point, with the previous v
        _baseOptimizer.Step(addWeightDecay: false);     // v = μ·v + g; w −= lr·v
        Rescale(v);
        w.AddProductInPlace(v, _scale, -1);             // up to the new ascent point
    }

    /// <summary>Weights from the ascent point to the descent point (before evaluating or saving them).</summary>
    public void ToDescentPoint()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        _parameters.Values.Values.AddProductInPlace(_baseOptimizer.Momentum, _scale, 1);
    }

    /// <summary>Weights from the descent point to the ascent point. The scale is computed again from the momentum, so a
    /// run resumed from a checkpoint (descent-point weights and momentum) takes the very same step as one that went on.</summary>
    public void ToAscentPoint()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var v = _baseOptimizer.Momentum;
        Rescale(v);
        _parameters.Values.Values.AddProductInPlace(v, _scale, -1);
    }

    private void Rescale(Tensor momentum) =>
        _scale.copy_(momentum.norm().AddInPlace(NormEpsilon).reciprocal_().MulInPlace(_rho));

    public void Dispose() => _scale.Dispose();
}
