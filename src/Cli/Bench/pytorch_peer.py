#!/usr/bin/env python3
"""The PyTorch peer of `samcluster bench`: the same training step in PyTorch eager, for side-by-side ratios.

SamCluster's own copy (src/Cli/Bench/pytorch_peer.py, shipped beside the program as bench/pytorch_peer.py, which
`samcluster bench` runs unless given --peer PATH). It began as a copy of the team's shared/bench/pytorch_peer.py and
keeps its command line, so figures taken with either compare.

What it times: torchvision-shaped ResNet-18/34 (ImageNet stem, as SamCluster's default stem), SGD with momentum 0.9,
or over it SAM (rho 0.05: ascend to w + rho * g / ||g||, take the gradient there, step from w), Momentum-SAM (rho 0.3)
or LookSAM (rho 0.05, k 5, alpha 0.7) as their reference implementation (MarlonBecker/MSAM, optimizer/msam.py and
optimizer/looksam.py) steps: per-parameter loops, as the reference writes them; cross-entropy, one fixed random batch; 5 warm-up steps, then --steps timed steps (the GPU synchronised before and after). cuDNN's autotuner is
left off, as SamCluster leaves it. Contract with `samcluster bench`: exit 0 and a last line ending in `img/s=N`.
  CPU:  apt-get install -y python3-torch   then  python3 pytorch_peer.py --depth 18 --threads 2
  GPU:  python3 pytorch_peer.py --device cuda --depth 34 --size 256 --channels 3 --classes 8
"""
import argparse, time, torch, torch.nn as nn, torch.nn.functional as F

class Block(nn.Module):
    def __init__(s, cin, cout, stride):
        super().__init__()
        s.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False); s.b1 = nn.BatchNorm2d(cout)
        s.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False); s.b2 = nn.BatchNorm2d(cout)
        s.down = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
                  if stride != 1 or cin != cout else None)
    def forward(s, x):
        y = s.b2(s.c2(F.relu(s.b1(s.c1(x)))))
        return F.relu(y + (x if s.down is None else s.down(x)))

def resnet(depth, channels, classes):
    layers = {18: [2, 2, 2, 2], 34: [3, 4, 6, 3]}[depth]
    mods = [nn.Conv2d(channels, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(3, 2, 1)]
    cin = 64
    for n, (cout, stride) in zip(layers, [(64, 1), (128, 2), (256, 2), (512, 2)]):
        for k in range(n):
            mods.append(Block(cin, cout, stride if k == 0 else 1)); cin = cout
    mods += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, classes)]
    return nn.Sequential(*mods)

def main():
    a = argparse.ArgumentParser()
    a.add_argument("--depth", type=int, default=18); a.add_argument("--device", default="cpu")
    a.add_argument("--batch", type=int, default=128); a.add_argument("--size", type=int, default=28)
    a.add_argument("--channels", type=int, default=1); a.add_argument("--classes", type=int, default=5)
    a.add_argument("--optimizer", choices=["sgd", "sam", "msam", "looksam"], default="sgd")
    a.add_argument("--rho", type=float, default=None, help="default: 0.05 (sam, looksam), 0.3 (msam)")
    a.add_argument("--looksam-k", type=int, default=5); a.add_argument("--looksam-alpha", type=float, default=0.7)
    a.add_argument("--threads", type=int, default=2); a.add_argument("--steps", type=int, default=20)
    a.add_argument("--channels-last", action="store_true")
    o = a.parse_args()
    if o.rho is None: o.rho = 0.3 if o.optimizer == "msam" else 0.05
    torch.set_num_threads(o.threads); torch.manual_seed(0)
    dev = torch.device(o.device)
    m = resnet(o.depth, o.channels, o.classes).to(dev)
    fmt = torch.channels_last if o.channels_last else torch.contiguous_format
    m = m.to(memory_format=fmt)
    opt = torch.optim.SGD(m.parameters(), lr=1e-3, momentum=0.9)
    x = torch.randn(o.batch, o.channels, o.size, o.size, device=dev).to(memory_format=fmt)
    y = torch.randint(0, o.classes, (o.batch,), device=dev)
    params = [p for p in m.parameters()]

    def norm_of(ts):
        return torch.norm(torch.stack([t.norm(2) for t in ts]), 2)

    def sgd_step():
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(m(x), y).backward()
        opt.step()

    def sam_step():
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(m(x), y).backward()
        with torch.no_grad():
            norm = norm_of([p.grad for p in params])
            eps = [p.grad * (o.rho / (norm + 1e-12)) for p in params]
            for p, e in zip(params, eps): p.add_(e)
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(m(x), y).backward()
        with torch.no_grad():
            for p, e in zip(params, eps): p.sub_(e)
        opt.step()

    # msam.py's step: one pass; back from the ascent point, the momentum step, then up to the next ascent point.
    buffers = {p: torch.zeros_like(p) for p in params}
    msam = {"inverse_norm": 0.0}
    def msam_step():
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(m(x), y).backward()
        with torch.no_grad():
            for p in params:
                buf = buffers[p]
                p.add_(buf, alpha=o.rho * msam["inverse_norm"])
                buf.mul_(0.9).add_(p.grad)
                p.add_(buf, alpha=-1e-3)
            msam["inverse_norm"] = 1 / (norm_of([buffers[p] for p in params]) + 1e-12)
            for p in params:
                p.sub_(buffers[p], alpha=o.rho * msam["inverse_norm"])

    # looksam.py's step: SAM's second pass every k steps, storing the gradient's component orthogonal to the plain
    # gradient; in between, that component (times alpha ||g||) corrects the plain gradient.
    look = {"counter": o.looksam_k, "gv": None}
    def looksam_step():
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(m(x), y).backward()
        if look["counter"] == o.looksam_k:
            look["counter"] = 0
            with torch.no_grad():
                scale = o.rho / (norm_of([p.grad for p in params]) + 1e-12)
                grads = [p.grad.detach().clone() for p in params]
                eps = [g * scale for g in grads]
                for p, e in zip(params, eps): p.add_(e)
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(m(x), y).backward()
            with torch.no_grad():
                dot = torch.sum(torch.stack([(p.grad * g).sum() for p, g in zip(params, grads)]))
                grad_norm = norm_of(grads)
                for p, e in zip(params, eps): p.sub_(e)
                gv = [p.grad - dot / (grad_norm ** 2 + 1e-12) * g for p, g in zip(params, grads)]
                gv_norm = norm_of(gv)
                look["gv"] = [v.div_(gv_norm) for v in gv]
        else:
            with torch.no_grad():
                grad_norm = norm_of([p.grad for p in params])
                for p, v in zip(params, look["gv"]): p.grad.add_(v, alpha=o.looksam_alpha * grad_norm)
        opt.step()
        look["counter"] += 1

    step = {"sgd": sgd_step, "sam": sam_step, "msam": msam_step, "looksam": looksam_step}[o.optimizer]

    sync = (lambda: torch.cuda.synchronize()) if dev.type == "cuda" else (lambda: None)
    for _ in range(5): step()
    sync(); t = time.perf_counter()
    for _ in range(o.steps): step()
    sync(); dt = time.perf_counter() - t
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else f"cpu x{torch.get_num_threads()}"
    print(f"pytorch {torch.__version__} {name} resnet{o.depth} {o.optimizer} batch={o.batch} "
          f"input={o.channels}x{o.size}x{o.size} img/s={o.steps * o.batch / dt:.1f}")

if __name__ == "__main__":
    main()
