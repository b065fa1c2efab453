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
    private readonly SGD sgd;
    // The SGD's one parameter group's options and its per-parameter states, in parameter order: the same objects for
    // the optimizer's life (loading a state dict loads into them), so they are taken once, not at every step.
    private readonly SGD.Options options;
    private readonly IReadOnlyList<SGD.State> states;
    private readonly FlatParameters flat;
    private readonly FlatBuffer momentum;
    private readonly Tensor?[] published;   // the views handed to SGD's state, to tell them from loaded tensors
    private bool started;                   // momentum holds a first gradient (SGD: buffer is null until the first step)

    public FlatSgd(optim.Optimizer optimizer, FlatParameters flat)
    {
        sgd = optimizer as SGD ?? throw new ArgumentException($"FlatSgd steps TorchSharp's SGD, not {optimizer.GetType().Name}");
        var state = sgd.state_dict();
        if (state.Options.Count != 1) throw new ArgumentException("FlatSgd steps an SGD with one parameter group");
        options = (SGD.Options)state.Options[0];
        states = state.State.Cast<SGD.State>().ToList();
        if (options.dampening is not (null or 0) || options.nesterov == true || options.maximize == true)
            throw new ArgumentException("FlatSgd supports momentum and weight decay only (no dampening, Nesterov or maximize)");
        if (states.Count != flat.Parameters.Length)
            throw new ArgumentException($"the SGD holds {states.Count} parameters, the flat buffer {flat.Parameters.Length}");
        this.flat = flat;
        momentum = flat.Values.ZerosLike();
        published = new Tensor?[flat.Parameters.Length];
    }

    public void Step()
    {
        var (learningRate, weightDecay, momentumFactor) = (sgd.ParamGroups.First().LearningRate, options.weight_decay ?? 0, options.momentum ?? 0);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        AdoptState();
        var step = weightDecay != 0 ? flat.Gradients.Values.add(flat.Values.Values, alpha: weightDecay) : flat.Gradients.Values;
        if (momentumFactor != 0)
        {
            if (started) momentum.Values.mul_(momentumFactor).add_(step);
            else
            {
                momentum.Values.copy_(step);
                started = true;
                Publish();
            }
            step = momentum.Values;
        }
        flat.Values.Values.add_(step, alpha: -learningRate);
    }

    /// <summary>Takes momentum buffers that are not our views (a checkpoint loaded into the SGD) into the flat momentum.</summary>
    private void AdoptState()
    {
        int missing = 0, foreign = 0;
        for (int i = 0; i < states.Count; i++)
        {
            var buffer = states[i].momentum_buffer;
            if (buffer is null) missing++;
            else if (!ReferenceEquals(buffer, published[i])) foreign++;
        }
        if (missing == states.Count)
        {
            started = false;
            Array.Clear(published);
            return;
        }
        if (missing > 0) throw new InvalidOperationException($"SGD state has momentum for {states.Count - missing} of {states.Count} parameters");
        if (foreign == 0) return;
        for (int i = 0; i < states.Count; i++)
        {
            var buffer = states[i].momentum_buffer!;
            if (ReferenceEquals(buffer, published[i])) continue;
            using (var slice = momentum.Slice(i)) slice.copy_(buffer);
            buffer.Dispose();
            states[i].momentum_buffer = published[i] = momentum.Slice(i).DetachFromDisposeScope();
        }
        started = true;
    }

    /// <summary>Hands SGD's state views of the flat momentum, so saving the optimizer saves it.</summary>
    private void Publish()
    {
        for (int i = 0; i < states.Count; i++)
            states[i].momentum_buffer = published[i] = momentum.Slice(i).DetachFromDisposeScope();
    }

    /// <summary>Frees the flat momentum; SGD's state views of it are the SGD's to dispose.</summary>
    public void Dispose() => momentum.Dispose();
}
