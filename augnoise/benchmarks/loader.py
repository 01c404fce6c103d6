"""augnoise bench loader: samples/s through a real torch DataLoader for a three-step image
pipeline at 256x256x3 uint8 (Gaussian noise, salt-and-pepper, horizontal flip), workers 0, 1
and 2, against the same DataLoader running the nearest albumentations Compose; and augnoise's
per-step dispatch overhead (keyed generator, parameter draws, checks) in microseconds.

Each configuration runs 2 epochs after a warm-up batch; the faster epoch is reported.
"""
from __future__ import annotations

import sys
import time
import timeit

import numpy as np

from ._common import machine, single_thread

YAML = """
seed: 0
sample:
  - image.GaussianNoise: {std: 0.05}
  - image.SaltAndPepper: {amount: 0.01}
  - albumentations.HorizontalFlip: {p: 0.5}
"""


class Images:
    def __init__(self, n: int):
        self.x = np.random.default_rng(0).integers(0, 256, (n, 256, 256, 3), dtype=np.uint8)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> np.ndarray:
        return self.x[i]


class AlbuImages(Images):
    def __init__(self, n: int, compose):
        super().__init__(n)
        self.compose = compose

    def __getitem__(self, i: int) -> np.ndarray:
        return self.compose(image=self.x[i])["image"]


def rate(loader, epochs: int = 2) -> float:
    it = iter(loader)
    next(it)  # warm-up: workers started, kernels compiled
    best = 0.0
    for e in range(epochs):
        if hasattr(loader, "set_epoch"):
            loader.set_epoch(e + 1)
        t0 = time.perf_counter()
        n = sum(len(b) for b in loader)
        best = max(best, n / (time.perf_counter() - t0))
    return best


def main(quick: bool = False) -> int:
    single_thread()
    import albumentations as A
    import torch
    from torch.utils.data import DataLoader

    import augnoise
    from augnoise.image import GaussianNoise
    from augnoise.torch import make_loader

    torch.set_num_threads(1)
    n, bs = (128, 16) if quick else (512, 32)
    pipe = augnoise.loads(YAML)
    compose = A.Compose([A.GaussNoise(std_range=(0.05, 0.05), p=1.0), A.SaltAndPepper(amount=(0.01, 0.01), p=1.0),
                         A.HorizontalFlip(p=0.5)], seed=0)
    print(f"augnoise bench loader: {n} images 256x256x3 uint8, batch {bs}, three steps "
          "(Gaussian noise std 0.05, salt-and-pepper 1%, horizontal flip p 0.5)")
    print(f"machine: {machine()} (each worker one thread)")
    print()
    print("| workers | albumentations Compose (samples/s) | augnoise make_loader (samples/s) | ratio |")
    print("|---:|---:|---:|---:|")
    rates = {}
    for w in (0, 1, 2):
        ours = make_loader(Images(n), pipe, batch_size=bs, num_workers=w, persistent_workers=w > 0)
        theirs = DataLoader(AlbuImages(n, compose), batch_size=bs, num_workers=w, persistent_workers=w > 0)
        a, o = rate(theirs), rate(ours)
        rates[w] = (a, o)
        print(f"| {w} | {a:,.0f} | {o:,.0f} | {o / a:.2f}x |")
    print()
    print(f"Scaling from 1 to 2 workers: albumentations {rates[2][0] / rates[1][0]:.2f}x, "
          f"augnoise {rates[2][1] / rates[1][1]:.2f}x (2 cores)")

    tiny = np.zeros((1, 1, 3), np.uint8)
    times = {}
    for k in (1, 6):
        p = augnoise.Pipeline(sample=[GaussianNoise(std=0.1) for _ in range(k)], seed=0)
        p(tiny, index=0)
        times[k] = min(timeit.repeat(lambda: p(tiny, index=5), number=2000, repeat=7)) / 2000 * 1e6
    per_step = (times[6] - times[1]) / 5
    print()
    print(f"Dispatch overhead (1x1 image, so the kernels cost nothing): {per_step:.1f} us per step, plus "
          f"{times[1] - per_step:.1f} us per sample (its key derivation); a three-step pipeline pays "
          f"{(times[1] - per_step) / 3 + per_step:.1f} us per step on average.")
    return 0


if __name__ == "__main__":
    sys.exit(main(quick="--quick" in sys.argv))
