using SamCluster.Messages;
using static TorchSharp.torch;
using SamCluster.Experiment;

namespace SamCluster.Training.Optimization;

/// <summary>One optimisation step on one batch: SGD, or SAM, Momentum-SAM or LookSAM over SGD. Shared by the trial loop and the benchmark so
/// both measure the same code. The model's parameters and gradients live in flat buffers from here on
/// (<see cref="FlatParameters"/>), so create it after the model is on its device.</summary>
public abstract class TrainingStep : IDisposable
{
    protected readonly nn.Module<Tensor, Tensor> Model;
    protected readonly Func<Tensor, Tensor, Tensor> Loss;
    protected readonly FlatParameters Flat;
    protected readonly FlatSgd Sgd;

    /// <summary>The SGD the schedule and checkpoints work with (learning rate, momentum buffers).</summary>
    public optim.Optimizer Optimizer { get; }

    /// <summary>A packed model's members in the flat buffers; null for a solo model.</summary>
    protected readonly MemberLayout? Members;

    protected TrainingStep(nn.Module<Tensor, Tensor> model, FlatParameters flat, optim.Optimizer sgd, Func<Tensor, Tensor, Tensor>? loss,
        int members = 1)
    {
        Model = model;
        Flat = flat;
        Optimizer = sgd;
        Sgd = new FlatSgd(sgd, flat);
        Loss = loss ?? ((logits, target) => nn.functional.cross_entropy(logits, target));
        if (members > 1) Members = new MemberLayout(flat, members);
    }

    /// <summary>Whether <paramref name="optimizer"/> trains packed: its step reduces over the model only where
    /// <see cref="MemberLayout"/> can do it per member (SAM's gradient norm). Momentum-SAM's and LookSAM's reductions are
    /// not split per member: their packs train one member after another.</summary>
    public static bool SupportsPacking(string optimizer) =>
        Vocabulary.FindOptimizer(optimizer) is { } facts && facts.Name is not (Vocabulary.MsamName or Vocabulary.LookSamName);

    /// <summary>A packed model's members' learning rates (each its own plateau schedule's), for the steps from now on.</summary>
    public void SetMemberLearningRates(IReadOnlyList<double> rates)
    {
        if (Members is null) throw new InvalidOperationException("a solo model has the SGD's one learning rate");
        if (rates.Count != Members.Members) throw new ArgumentException($"{rates.Count} rates for {Members.Members} members");
        using var perMember = tensor(rates.ToArray(), dtype: Flat.Values.Values.dtype, device: Flat.Values.Values.device);
        Sgd.PerElementLearningRate?.Dispose();
        Sgd.PerElementLearningRate = Members.Expand(perMember).DetachFromDisposeScope();
    }

    /// <summary>Updates the model from (input, target). Returns the first forward pass's logits and loss, detached,
    /// for the epoch's running figures.</summary>
    public abstract (Tensor Logits, Tensor Loss) Run(Tensor input, Tensor target);

    /// <summary>Before an epoch's first step, a resumed one's included (Momentum-SAM: the weights go up to the ascent
    /// point; LookSAM: its k-cycle restarts).</summary>
    public virtual void BeginEpoch() { }

    /// <summary>After an epoch's last step, before the weights are evaluated or saved (Momentum-SAM: back to the descent
    /// point, the weights it stands for).</summary>
    public virtual void EndEpoch() { }

    public virtual void Dispose()
    {
        Sgd.PerElementLearningRate?.Dispose();
        Sgd.Dispose();
        Optimizer.Dispose();
        Flat.Dispose();   // the parameters keep their storage: the model stays usable
    }

    /// <summary>Fresh gradients (unless already cleared), forward, loss, backward; returns the logits and loss, detached.</summary>
    protected (Tensor Logits, Tensor Loss) ForwardBackward(Tensor input, Tensor target, bool gradientsCleared = false)
    {
        // Every layer's output has a .NET handle that would keep its memory until the step's scope ends; this scope
        // lets the pass's activations go as soon as it is over, so SAM's second pass does not run beside the first's
        // (at 3×256×256 that is gigabytes, and on a GPU the difference between fitting and not).
        using var pass = NewDisposeScope();
        if (!gradientsCleared) Flat.ZeroGradients();
        var logits = Model.call(input);
        var loss = Loss(logits, target);
        loss.backward();
        return (logits.detach().MoveToOuterDisposeScope(), loss.detach().MoveToOuterDisposeScope());
    }

    /// <summary>A <see cref="Vocabulary.Optimizers"/> name with the recipe's SGD (momentum, weight decay) and SAM (rho,
    /// adaptive, LookSAM's k and alpha) settings; "asam" is SAM made adaptive whatever the recipe says.</summary>
    /// <param name="members">Networks fused in <paramref name="model"/> (a pack, <see cref="Models.ResNet"/>): each gets
    /// its own SAM radius and learning rate (<see cref="MemberLayout"/>). SGD, SAM and ASAM only; 1 for a solo model.</param>
    public static TrainingStep Create(string optimizer, nn.Module<Tensor, Tensor> model, Recipe recipe,
        Func<Tensor, Tensor, Tensor>? loss = null, int members = 1)
    {
        var facts = Vocabulary.FindOptimizer(optimizer)
            ?? throw new UserInputException($"unknown optimizer '{optimizer}' (expected {string.Join(", ", Vocabulary.OptimizerNames)})");
        if (members > 1 && !SupportsPacking(optimizer))
            throw new ArgumentException($"{optimizer} does not train packed (its reductions are over the whole model)");
        var flat = new FlatParameters(model.parameters());
        var sgd = optim.SGD(flat.Parameters, recipe.LearningRate, momentum: recipe.Momentum, weight_decay: recipe.WeightDecay);
        try
        {
            return facts.Name switch
            {
                Vocabulary.MsamName => new MomentumSamStep(model, flat, sgd, recipe.Rho, loss),
                Vocabulary.LookSamName => new LookSamStep(model, flat, sgd, recipe.Rho, recipe.LookSamK, recipe.LookSamAlpha, loss),
                _ when facts.UsesSam => new SamStep(model, flat, sgd, recipe.Rho, facts.Adaptive || recipe.Adaptive, loss, members),
                _ => new SgdStep(model, flat, sgd, loss, members),
            };
        }
        catch
        {
            sgd.Dispose();
            flat.Dispose();
            throw;
        }
    }
}

public sealed class SgdStep(nn.Module<Tensor, Tensor> model, FlatParameters flat, optim.Optimizer sgd, Func<Tensor, Tensor, Tensor>? loss,
    int members = 1) : TrainingStep(model, flat, sgd, loss, members)
{
    public override (Tensor Logits, Tensor Loss) Run(Tensor input, Tensor target)
    {
        var result = ForwardBackward(input, target);
        Sgd.Step();
        return result;
    }
}

public sealed class SamStep : TrainingStep
{
    private readonly Sam _sam;
    private readonly BatchNormStatsGuard _batchNormStats;

    public SamStep(nn.Module<Tensor, Tensor> model, FlatParameters flat, optim.Optimizer sgd, double rho, bool adaptive,
        Func<Tensor, Tensor, Tensor>? loss, int members = 1) : base(model, flat, sgd, loss, members)
    {
        _sam = new Sam(flat, Sgd, rho, adaptive, Members);
        _batchNormStats = new BatchNormStatsGuard(model);
    }

    public override (Tensor Logits, Tensor Loss) Run(Tensor input, Tensor target)
    {
        var result = ForwardBackward(input, target);
        _sam.FirstStep();

        _batchNormStats.Save();              // running stats as the first pass left them
        var atPerturbed = ForwardBackward(input, target, gradientsCleared: true);   // FirstStep cleared them
        atPerturbed.Logits.Dispose();
        atPerturbed.Loss.Dispose();
        _batchNormStats.Restore();           // the second pass at w + e must not count
        _sam.SecondStep();
        return result;
    }

    public override void Dispose()
    {
        _sam.Dispose();
        _batchNormStats.Dispose();
        base.Dispose();
    }
}

/// <summary>Momentum-SAM: one pass, taken at the ascent point the weights sit at between steps (<see cref="MomentumSam"/>).</summary>
public sealed class MomentumSamStep : TrainingStep
{
    private readonly MomentumSam _msam;

    public MomentumSamStep(nn.Module<Tensor, Tensor> model, FlatParameters flat, optim.Optimizer sgd, double rho,
        Func<Tensor, Tensor, Tensor>? loss) : base(model, flat, sgd, loss)
    {
        _msam = new MomentumSam(flat, Sgd, rho);
    }

    public override (Tensor Logits, Tensor Loss) Run(Tensor input, Tensor target)
    {
        var result = ForwardBackward(input, target);
        _msam.Step();
        return result;
    }

    public override void BeginEpoch() => _msam.ToAscentPoint();

    public override void EndEpoch() => _msam.ToDescentPoint();

    public override void Dispose()
    {
        _msam.Dispose();
        base.Dispose();
    }
}

/// <summary>LookSAM: SAM's two passes every k-th step, one pass in between (<see cref="LookSam"/>). The second pass
/// leaves BatchNorm's running statistics as SAM's does.</summary>
public sealed class LookSamStep : TrainingStep
{
    private readonly LookSam _lookSam;
    private readonly BatchNormStatsGuard _batchNormStats;

    public LookSamStep(nn.Module<Tensor, Tensor> model, FlatParameters flat, optim.Optimizer sgd, double rho, int k, double alpha,
        Func<Tensor, Tensor, Tensor>? loss) : base(model, flat, sgd, loss)
    {
        _lookSam = new LookSam(flat, Sgd, rho, k, alpha);
        _batchNormStats = new BatchNormStatsGuard(model);
    }

    public override (Tensor Logits, Tensor Loss) Run(Tensor input, Tensor target)
    {
        var result = ForwardBackward(input, target);
        if (!_lookSam.SamStepDue)
        {
            _lookSam.Reuse();
            return result;
        }
        _lookSam.Ascend();
        _batchNormStats.Save();
        var atPerturbed = ForwardBackward(input, target, gradientsCleared: true);   // Ascend cleared them
        atPerturbed.Logits.Dispose();
        atPerturbed.Loss.Dispose();
        _batchNormStats.Restore();
        _lookSam.Descend();
        return result;
    }

    public override void BeginEpoch() => _lookSam.Restart();

    public override void Dispose()
    {
        _lookSam.Dispose();
        _batchNormStats.Dispose();
        base.Dispose();
    }
}
