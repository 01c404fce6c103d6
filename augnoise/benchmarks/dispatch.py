"""augnoise bench dispatch: the per-sample cost of a small pipeline, where dispatch dominates.

Three steps (Gaussian noise, salt-and-pepper, speckle) on an 8x8x3 uint8 image, one sample per
call, through ``Pipeline.__call__`` (key derivation, draws, checks, kernels): microseconds per
sample, against albumentations' Compose of the nearest transforms (GaussNoise,
SaltAndPepper, MultiplicativeNoise) on the same image, interleaved rounds, medians. Also the
sample stage's vectorised path (``apply_many``, as the DataLoader's batched fetch uses it).
"""
from __future__ import annotations

import sys
import time

import numpy as np

from ._common import machine, median, single_thread


def main(quick: bool = False) -> int:
    single_thread()
    import albumentations as A

    import augnoise

    rounds, n = (3, 2000) if quick else (9, 20000)
    img = np.random.default_rng(0).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    pipe = augnoise.loads("seed: 0\nsample:\n  - image.GaussianNoise: {std: 0.05}\n"
                          "  - image.SaltAndPepper: {amount: 0.02}\n  - image.SpeckleNoise: {std: 0.1}\n")
    albu = A.Compose([A.GaussNoise(std_range=(0.05, 0.05), p=1.0), A.SaltAndPepper(amount=(0.02, 0.02), p=1.0),
                      A.MultiplicativeNoise(multiplier=(0.9, 1.1), elementwise=True, p=1.0)])
    albu.set_random_seed(0)
    batch = [img] * 256

    def per_call(fn) -> float:
        fn(0)
        t0 = time.perf_counter()
        for i in range(n):
            fn(i)
        return (time.perf_counter() - t0) / n * 1e6

    def many() -> float:
        pipe.apply_many(batch, list(range(256)))
        t0 = time.perf_counter()
        for k in range(n // 256):
            pipe.apply_many(batch, list(range(k * 256, (k + 1) * 256)))
        return (time.perf_counter() - t0) / (n // 256 * 256) * 1e6

    ours, theirs, vec = [], [], []
    for _ in range(rounds):
        ours.append(per_call(lambda i: pipe(img, index=i)))
        theirs.append(per_call(lambda i: albu(image=img)))
        vec.append(many())
    o, a, v = median(ours), median(theirs), median(vec)
    print("augnoise bench dispatch: 3 steps (Gaussian, salt-and-pepper, speckle) on 8x8x3 uint8, one sample per call")
    print(f"machine: {machine()}")
    print()
    print("| path | us per sample | vs albumentations |")
    print("|---|---:|---:|")
    print(f"| albumentations Compose (GaussNoise, SaltAndPepper, MultiplicativeNoise) | {a:.1f} | 1.00x |")
    print(f"| augnoise Pipeline, one call per sample | {o:.1f} | {a / o:.1f}x |")
    print(f"| augnoise Pipeline.apply_many, 256 samples per call | {v:.1f} | {a / v:.1f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main(quick="--quick" in sys.argv))
