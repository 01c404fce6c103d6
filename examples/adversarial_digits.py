"""Worked example: a small CNN on scikit-learn's digits (bundled, no download), trained plainly
and with FGSM-plus-noise in the batch stage, then evaluated clean, under FGSM, under a PGD check
and under Gaussian noise. About a minute on one CPU core.

    python examples/adversarial_digits.py [--epochs 12] [--eps 0.1]
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F

import augnoise
from augnoise.adversarial import evaluate
from augnoise.torch import make_loader

ADVERSARIAL = """
seed: 0
sample: []
batch:
  - adversarial.FGSMNoise: {{eps: {eps}, variant: {variant}, noise_std: 0.02, p: 0.5}}
"""


class Net(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.c1 = torch.nn.Conv2d(1, 16, 3, padding=1)
        self.c2 = torch.nn.Conv2d(16, 32, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(32)
        self.fc = torch.nn.Linear(32 * 4 * 4, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.c1(x))
        x = F.max_pool2d(F.relu(self.bn(self.c2(x))), 2)
        return self.fc(x.flatten(1))


class Digits:
    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        self.x, self.y = torch.tensor(x, dtype=torch.float32)[:, None], torch.tensor(y)

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int):
        return self.x[i], self.y[i]


def train(pipeline_text: str | None, train_set: Digits, epochs: int, seed: int = 0) -> Net:
    torch.manual_seed(seed)  # the example's own model initialisation (augnoise never seeds torch)
    net = Net()
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    pipe = augnoise.loads(pipeline_text) if pipeline_text else augnoise.Pipeline(seed=seed)
    loader = make_loader(train_set, pipe, batch_size=64, shuffle=True, model=net, targets=1)
    net.train()
    for epoch in range(epochs):
        loader.set_epoch(epoch)
        for x, y in loader:  # with the adversarial pipeline, half of each batch is FGSM + noise
            opt.zero_grad()
            F.cross_entropy(net(x), y).backward()
            opt.step()
    return net


def main() -> None:
    from sklearn.datasets import load_digits

    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--eps", type=float, default=0.1)
    ap.add_argument("--variant", default="fgsm_rs", choices=["seed", "rfgsm", "fgsm_rs", "nfgsm"])
    args = ap.parse_args()
    torch.set_num_threads(1)
    d = load_digits()
    x, y = d.images / 16.0, d.target
    order = np.random.default_rng(0).permutation(len(y))
    train_idx, test_idx = order[:1400], order[1400:]
    train_set, test_set = Digits(x[train_idx], y[train_idx]), Digits(x[test_idx], y[test_idx])
    test_loader = [(test_set.x[i : i + 128], test_set.y[i : i + 128]) for i in range(0, len(test_set), 128)]
    print(f"digits: {len(train_set)} train, {len(test_set)} test; eps {args.eps}; {args.epochs} epochs")
    print("| training | clean | FGSM | PGD-10 | noise 0.1 | noise 0.3 | FGSM - PGD | time (s) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, text in (("plain", None), (f"FGSM+noise ({args.variant}, half of each batch)",
                                           ADVERSARIAL.format(eps=args.eps, variant=args.variant))):
        t0 = time.perf_counter()
        net = train(text, train_set, args.epochs)
        r = evaluate(net, test_loader, eps=args.eps, pgd_steps=10, noise_levels=(0.1, 0.3))
        print(f"| {label} | {r['clean']:.3f} | {r['fgsm']:.3f} | {r['pgd']:.3f} | {r['noise_0.1']:.3f} | "
              f"{r['noise_0.3']:.3f} | {r['co_gap']:+.3f} | {time.perf_counter() - t0:.0f} |")


if __name__ == "__main__":
    main()
