using System.Text.Json;
using SamCluster.Experiment;
using SamCluster.Training.Optimization;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace SamCluster.Tests.Training;

/// <summary>Momentum-SAM and LookSAM against their reference implementations (MarlonBecker/MSAM, optimizer/msam.py and
/// optimizer/looksam.py), whose update rules the Python script below re-expresses with Debian's python3-torch: the same
/// small network, weights and batches, five steps each, compared to 1e-5 relative. The reference loops over parameters
/// and takes norms of per-parameter norms; ours works on the flat buffers, so the two agree to rounding, not bit for bit.</summary>
[Collection(TorchGlobalState.Name)]
public sealed class ReferenceOptimizerTests(ITestOutputHelper log)
{
    private const int Steps = 5, Batch = 16, Inputs = 6, Hidden = 8, Classes = 3;
    private const double Tolerance = 1e-5;

    // The reference's steps, as in the repository: MSAM's step() with its zero-initialised momentum and inverse norm,
    // then move_back_from_momentumAscent for the descent point; LookSAM's step() (move_up, second pass, move_back, or
    // update_gradient) and its SGD_step. The loss is ours (cross-entropy; the repository trains with label smoothing),
    // and its setBatchNormTracking(False) is a save and restore of the running statistics.
    private const string Script = """
        import json, sys, torch
        import torch.nn as nn
        import torch.nn.functional as F
        from collections import OrderedDict
        cfg = json.load(open(sys.argv[1]))
        net = nn.Sequential(OrderedDict([("fc1", nn.Linear(6, 8)), ("bn", nn.BatchNorm1d(8)), ("relu", nn.ReLU()), ("fc2", nn.Linear(8, 3))]))
        params = list(net.parameters())
        with torch.no_grad():
            for p, v in zip(params, cfg["params"]):
                p.copy_(torch.tensor(v, dtype=torch.float32).view_as(p))
        net.train()
        xs = torch.tensor(cfg["x"], dtype=torch.float32).view(-1, 16, 6)
        ys = torch.tensor(cfg["y"], dtype=torch.long).view(-1, 16)
        lr, mom, wd, rho = cfg["lr"], cfg["momentum"], cfg["weight_decay"], cfg["rho"]
        state = {p: {"momentum_buffer": torch.zeros_like(p).detach()} for p in params}

        def backward(i):
            for p in params:
                p.grad = None
            F.cross_entropy(net(xs[i]), ys[i]).backward()

        def norm_of(ts):
            return torch.norm(torch.stack([t.norm(p=2) for t in ts]), p=2)

        def flat():
            return torch.cat([p.detach().reshape(-1) for p in params]).tolist()

        out = {}
        if cfg["optimizer"] == "msam":
            inverse_norm = 0
            for i in range(len(xs)):
                backward(i)
                with torch.no_grad():
                    for p in params:
                        d_p = p.grad
                        if wd != 0:
                            d_p.add_(p, alpha=wd)
                        buf = state[p]["momentum_buffer"]
                        p.add_(buf, alpha=rho * inverse_norm)
                        buf.mul_(mom).add_(d_p)
                        p.add_(buf, alpha=-lr)
                    inverse_norm = 1 / (norm_of([state[p]["momentum_buffer"] for p in params]) + 1e-12)
                    for p in params:
                        p.sub_(state[p]["momentum_buffer"], alpha=rho * inverse_norm)
            out["ascent"] = flat()
            with torch.no_grad():
                for p in params:
                    p.add_(state[p]["momentum_buffer"], alpha=rho * inverse_norm)
            out["descent"] = flat()
        else:
            k, alpha = cfg["k"], cfg["alpha"]
            counter = k
            running = list(net.buffers())
            for i in range(len(xs)):
                backward(i)
                if counter == k:
                    counter = 0
                    with torch.no_grad():
                        scale = rho / (norm_of([p.grad for p in params]) + 1e-12)
                        for p in params:
                            e_w = p.grad * scale
                            p.add_(e_w)
                            state[p]["e_w"] = e_w.detach().clone()
                            state[p]["grad"] = p.grad.detach().clone()
                    saved = [b.clone() for b in running]
                    backward(i)
                    with torch.no_grad():
                        for b, s in zip(running, saved):
                            b.copy_(s)
                        dot = torch.sum(torch.stack([(p.grad * state[p]["grad"]).sum() for p in params]))
                        grad_norm = norm_of([state[p]["grad"] for p in params])
                        for p in params:
                            p.sub_(state[p]["e_w"])
                            state[p]["gv"] = (p.grad - dot / (grad_norm ** 2 + 1e-12) * state[p]["grad"]).detach().clone()
                        gv_norm = norm_of([state[p]["gv"] for p in params])
                        for p in params:
                            state[p]["gv"].div_(gv_norm)
                else:
                    with torch.no_grad():
                        grad_norm = norm_of([p.grad for p in params])
                        for p in params:
                            p.grad.add_(state[p]["gv"], alpha=alpha * grad_norm)
                with torch.no_grad():
                    for p in params:
                        d_p = p.grad.add(p, alpha=wd) if wd != 0 else p.grad
                        buf = state[p]["momentum_buffer"]
                        buf.mul_(mom).add_(d_p)
                        p.add_(buf, alpha=-lr)
                counter += 1
            out["ascent"] = flat()
        print(json.dumps(out))
        """;

    [SkippableTheory]
    [InlineData("msam", 0.3)]
    [InlineData("looksam", 0.05)]
    public void FiveStepsMatchTheReferenceImplementation(string optimizer, double rho)
    {
        var python = PythonTorch.Find();
        Skip.If(python is null, "no python3 with torch here (apt-get install -y python3-torch)");

        torch.manual_seed(11);
        using var model = nn.Sequential(("fc1", nn.Linear(Inputs, Hidden)), ("bn", nn.BatchNorm1d(Hidden)), ("relu", nn.ReLU()),
            ("fc2", nn.Linear(Hidden, Classes)));
        var x = randn(Steps, Batch, Inputs);
        var y = randint(0, Classes, [Steps, Batch]);
        var recipe = RecipeTable.Defaults(1, optimizer) with { LearningRate = 0.1, Momentum = 0.9, WeightDecay = 0.01, Rho = rho, LookSamK = 2, LookSamAlpha = 0.7 };
        // Doubles in JSON: each float32 goes through exactly and comes back the same float32.
        var input = new Dictionary<string, object>
        {
            ["optimizer"] = optimizer, ["lr"] = recipe.LearningRate, ["momentum"] = recipe.Momentum, ["weight_decay"] = recipe.WeightDecay,
            ["rho"] = recipe.Rho, ["k"] = recipe.LookSamK, ["alpha"] = recipe.LookSamAlpha,
            ["params"] = model.parameters().Select(p => Doubles(p)).ToList(),
            ["x"] = Doubles(x), ["y"] = y.data<long>().ToArray(),
        };
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, JsonSerializer.Serialize(input));
            var output = PythonTorch.RunScript(python!, Script, file);
            var reference = JsonSerializer.Deserialize<Dictionary<string, double[]>>(output.Trim().Split('\n')[^1])!;

            using var step = TrainingStep.Create(optimizer, model, recipe);
            for (int i = 0; i < Steps; i++)
            {
                var (logits, loss) = step.Run(x[i], y[i]);
                logits.Dispose();
                loss.Dispose();
            }
            AssertClose("weights after 5 steps", reference["ascent"], Weights(model));
            if (optimizer != "msam") return;
            step.EndEpoch();
            AssertClose("descent point (evaluated and saved)", reference["descent"], Weights(model));
            step.BeginEpoch();
            AssertClose("back at the ascent point", reference["ascent"], Weights(model));
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static double[] Doubles(Tensor t) => t.detach().reshape(-1).data<float>().Select(v => (double)v).ToArray();

    private static double[] Weights(nn.Module model) => model.parameters().SelectMany(Doubles).ToArray();

    /// <summary>Relative to the largest reference weight (‖ours − theirs‖∞ / ‖theirs‖∞), so weights near zero do not
    /// turn rounding into large ratios; the largest element-wise ratio is logged beside it.</summary>
    private void AssertClose(string what, double[] expected, double[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        var scale = expected.Max(Math.Abs);
        var worst = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max() / scale;
        var elementwise = expected.Zip(actual, (e, a) => Math.Abs(e - a) / Math.Max(Math.Abs(e), 1e-30)).Max();
        log.WriteLine($"{what}: max |ours - reference| / max |reference| = {worst:E2}; largest element-wise ratio {elementwise:E2}");
        Assert.True(worst <= Tolerance, $"{what}: relative difference {worst:E2} > {Tolerance:E0}");
    }
}
