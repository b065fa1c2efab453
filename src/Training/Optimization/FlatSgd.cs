using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SamCluster.Training.Optimization;

/// <summary>A model's trainable parameters and their gradients, each as views into one flat buffer (<see cref="FlatBuffer"/>).
/// Backward accumulates into the gradient views in place (libtorch adds into a defined .grad when grad mode is off, as
/// it is during backward), so the gradients arrive already flat; clearing them is one kernel.</summary>
public sealed class FlatParameters : IDisposable
{
    public Parameter[] Parameters { get; }
    public FlatBuffer Values { get; }
    public FlatBuffer Gradients { get; }

    public FlatParameters(IEnumerable<Parameter> parameters)
    {
        Parameters = parameters.Where(p => p.requires_grad).ToArray();
        Values = FlatBuffer.Rebind(Parameters);
        Gradients = Values.ZerosLike();
        for (int i = 0; i < Parameters.Length; i++)
        {
            using var view = Gradients.Slice(i);
            Parameters[i].grad = view;
        }
    }

    public void ZeroGradients() => Gradients.Values.zero_();

    public void Dispose()
    {
        Values.Dispose();
        Gradients.Dispose();
    }
}

/// <summary>TorchSharp's SGD (momentum, weight decay; no dampening, Nesterov or maximize) stepped as whole-buffer
/// operations on <see cref="FlatParameters"/>: the same arithmetic per element, in the same order, as SGD.step(), in
/// 3–4 kernels instead of ~3 per parameter tensor. The SGD object stays the one the rest of the system knows: its
/// learning rate (which the plateau schedule lowers) is read at every step, and its per-parameter momentum buffers are
/// views into this flat momentum, so checkpoints save and load them as before. A load replaces those buffers with new
/// tensors; the next step notices and takes their values into the flat momentum.</summary>
public sealed class FlatSgd : IDisposable
{
    private readonly SGD _sgd;
    // The SGD's one parameter group's options and its per-parameter states, in parameter order: the same objects for
    // the optimizer's life (loading a state dict loads into them), so they are taken once, not at every step.
    private readonly SGD.Options _options;
    private readonly IReadOnlyList<SGD.State> _states;
    private readonly FlatParameters _flat;
    private readonly FlatBuffer _momentum;
    private readonly Tensor?[] _published;   // the views handed to SGD's state, to tell them from loaded tensors
    private bool _started;                   // the momentum holds a first gradient (SGD: buffer is null until the first step)

    public FlatSgd(optim.Optimizer optimizer, FlatParameters flat)
    {
        _sgd = optimizer as SGD ?? throw new ArgumentException($"FlatSgd steps TorchSharp's SGD, not {optimizer.GetType().Name}");
        var state = _sgd.state_dict();
        if (state.Options.Count != 1) throw new ArgumentException("FlatSgd steps an SGD with one parameter group");
        _options = (SGD.Options)state.Options[0];
        _states = States(_sgd);
        if (_options.dampening is not (null or 0) || _options.nesterov == true || _options.maximize == true)
            throw new ArgumentException("FlatSgd supports momentum and weight decay only (no dampening, Nesterov or maximize)");
        if (_states.Count != flat.Parameters.Length)
            throw new ArgumentException($"the SGD holds {_states.Count} parameters, the flat buffer {flat.Parameters.Length}");
        _flat = flat;
        _momentum = flat.Values.ZerosLike();
        _published = new Tensor?[flat.Parameters.Length];
    }

    /// <summary>An SGD's per-parameter states (its momentum buffers), in parameter order: the objects the SGD itself
    /// reads and saves, so what is set on them is the SGD's.</summary>
    public static IReadOnlyList<SGD.State> States(optim.Optimizer optimizer) =>
        (optimizer as SGD ?? throw new ArgumentException($"not an SGD but {optimizer.GetType().Name}"))
            .state_dict().State.Cast<SGD.State>().ToList();

    /// <summary>SGD's weight decay, for a step that adds it to the gradient itself (<see cref="Step(bool)"/>).</summary>
    public double WeightDecay => _options.weight_decay ?? 0;

    public double MomentumFactor => _options.momentum ?? 0;

    /// <summary>A packed model's learning rates, one per element (each member's own, as its plateau schedule set it;
    /// <see cref="MemberLayout.Expand"/>); null: the SGD's one rate for every element.</summary>
    public Tensor? PerElementLearningRate { get; set; }

    /// <summary>The flat momentum, with any loaded into the SGD taken in first (zeros before the first step): MSAM
    /// perturbs along it.</summary>
    public Tensor Momentum
    {
        get
        {
            AdoptState();
            return _momentum.Values;
        }
    }

    public void Step() => Step(addWeightDecay: true);

    /// <summary>One SGD step; without <paramref name="addWeightDecay"/> the gradients already hold the weight decay
    /// (MSAM adds it at the weights its gradient was taken at, before it moves them).</summary>
    public void Step(bool addWeightDecay)
    {
        var (learningRate, weightDecay, momentumFactor) = (_sgd.ParamGroups.First().LearningRate, addWeightDecay ? WeightDecay : 0, MomentumFactor);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        AdoptState();
        // SGD's d_p = g + weight_decay·w, computed in the gradient buffer itself (the same add, element for element): the
        // gradients are cleared before the next backward anyway, and a new buffer the size of the model at every step
        // is, on the CPU, a fresh mapping (above malloc's 32 MiB) whose pages the kernel faults in and zeroes each time.
        var step = weightDecay != 0 ? _flat.Gradients.Values.AddInPlace(_flat.Values.Values, alpha: weightDecay) : _flat.Gradients.Values;
        if (momentumFactor != 0)
        {
            if (_started) _momentum.Values.MulInPlace(momentumFactor).AddInPlace(step);
            else
            {
                _momentum.Values.copy_(step);
                _started = true;
                Publish();
            }
            step = _momentum.Values;
        }
        if (PerElementLearningRate is { } rates) _flat.Values.Values.AddProductInPlace(step, rates, -1);
        else _flat.Values.Values.AddInPlace(step, alpha: -learningRate);
    }

    /// <summary>Takes momentum buffers that are not our views (a checkpoint loaded into the SGD) into the flat momentum.</summary>
    private void AdoptState()
    {
        int missing = 0, foreign = 0;
        for (int i = 0; i < _states.Count; i++)
        {
            var buffer = _states[i].momentum_buffer;
            if (buffer is null) missing++;
            else if (!ReferenceEquals(buffer, _published[i])) foreign++;
        }
        if (missing == _states.Count)
        {
            _started = false;
            Array.Clear(_published);
            return;
        }
        if (missing > 0) throw new InvalidOperationException($"SGD state has momentum for {_states.Count - missing} of {_states.Count} parameters");
        if (foreign == 0) return;
        for (int i = 0; i < _states.Count; i++)
        {
            var buffer = _states[i].momentum_buffer!;
            if (ReferenceEquals(buffer, _published[i])) continue;
            using (var slice = _momentum.Slice(i)) slice.copy_(buffer);
            buffer.Dispose();
            _states[i].momentum_buffer = _published[i] = _momentum.Slice(i).DetachFromDisposeScope();
        }
        _started = true;
    }

    /// <summary>Hands SGD's state views of the flat momentum, so saving the optimizer saves it.</summary>
    private void Publish()
    {
        for (int i = 0; i < _states.Count; i++)
            _states[i].momentum_buffer = _published[i] = _momentum.Slice(i).DetachFromDisposeScope();
    }

    /// <summary>Frees the flat momentum; SGD's state views of it are the SGD's to dispose.</summary>
    public void Dispose() => _momentum.Dispose();
}
