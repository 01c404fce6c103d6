"""augnoise bench adversarial: one adversarial.FGSMNoise batch step (fgsm_rs + Gaussian noise,
through Pipeline.apply_batch) divided by a minimal hand-written version of the same attack in
plain torch on the same model and batch (uniform random start, one forward,
torch.autograd.grad to the input, sign step, projection and clamp, added noise): the floor for
this computation. Goal: at most 1.15. Also the ratio to one plain training step (forward and
backward to the parameters) for context. CPU, one thread; a small CIFAR-sized CNN, batch 128.
"""
from __future__ import annotations

import statistics
import sys
import time

from ._common import machine, single_thread


def main(quick: bool = False) -> int:
    single_thread()
    import torch
    import torch.nn.functional as F

    import augnoise

    torch.set_num_threads(1)
    torch.manual_seed(0)  # the benchmark's own model and data
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 32, 3, padding=1), torch.nn.BatchNorm2d(32), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(32, 64, 3, padding=1), torch.nn.BatchNorm2d(64), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(64 * 8 * 8, 10))
    model.train()
    x = torch.rand(128, 3, 32, 32)
    y = torch.randint(0, 10, (128,))
    eps, std = 8 / 255, 0.01
    pipe = augnoise.loads(f"seed: 0\nsample: []\nbatch:\n  - adversarial.FGSMNoise: {{eps: {eps}, variant: fgsm_rs, noise_std: {std}}}\n")
    idx = list(range(128))
    gen = torch.Generator().manual_seed(1)

    def ours() -> None:
        pipe.apply_batch(x, idx, model=model, targets=y)

    def hand() -> None:
        delta = (torch.rand(x.shape, generator=gen) * 2 - 1) * eps
        xs = (x + delta).clamp(0, 1).requires_grad_(True)
        (grad,) = torch.autograd.grad(F.cross_entropy(model(xs), y, reduction="sum"), xs)
        adv = torch.min(torch.max(xs.detach() + 1.25 * eps * grad.sign(), x - eps), x + eps)
        (adv + std * torch.randn(x.shape, generator=gen)).clamp(0, 1)

    opt = torch.optim.SGD(model.parameters(), lr=0.0)

    def train_step() -> None:
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()

    funcs = [("ours", ours), ("hand", hand), ("train", train_step)]
    try:  # installed by `make bench` with --no-deps (its torchvision requirement is unused)
        import torchattacks

        ffgsm = torchattacks.FFGSM(model, eps=eps, alpha=1.25 * eps)
        funcs.append(("torchattacks", lambda: ffgsm(x, y)))
    except ImportError:
        print("(torchattacks not installed: its row is skipped)")
    rounds = 5 if quick else 15
    times: dict[str, list[float]] = {name: [] for name, _ in funcs}
    for _, f in funcs:
        f()  # warm-up
    for _ in range(rounds):
        for name, f in funcs:
            t0 = time.perf_counter()
            f()
            times[name].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in times.items()}
    print("augnoise bench adversarial: FGSMNoise (fgsm_rs + noise) on a CIFAR-sized CNN, batch 128x3x32x32, CPU")
    print(f"machine: {machine()}")
    print()
    print("| computation | median time (ms) | ratio to hand-written |")
    print("|---|---:|---:|")
    print(f"| hand-written plain torch attack | {med['hand'] * 1e3:.1f} | 1.00 |")
    print(f"| augnoise adversarial.FGSMNoise batch step | {med['ours'] * 1e3:.1f} | {med['ours'] / med['hand']:.2f} |")
    print(f"| one plain training step (forward + backward) | {med['train'] * 1e3:.1f} | {med['train'] / med['hand']:.2f} |")
    if "torchattacks" in med:
        print(f"| torchattacks 3.5.1 FFGSM (random start, no added noise) | {med['torchattacks'] * 1e3:.1f} | "
              f"{med['torchattacks'] / med['hand']:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(quick="--quick" in sys.argv))
