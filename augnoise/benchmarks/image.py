"""augnoise bench image: image.GaussianNoise vs albumentations GaussNoise at equal std.

uint8 HxWx3 at 256 and 512, one thread each, rounds interleaved so both see the same machine
load; the median round is reported. augnoise is timed through a Pipeline, i.e. including the
per-sample key derivation (Philox) that real use pays for. The same run also
measures the std each library delivers on a mid-grey image (albumentations truncates), and
image.Corruption (the four ImageNet-C noise corruptions at severity 3, uint8 224x224x3) against
the reference definitions written with numpy (a seeded Generator) as the peer.
"""
from __future__ import annotations

import sys

import numpy as np

from ._common import machine, median, rate, single_thread

STD = 0.1
CORRUPTIONS = ("gaussian_noise", "shot_noise", "impulse_noise", "speckle_noise")


def reference_corruption(x8: np.ndarray, name: str, c: float, rng: np.random.Generator) -> np.ndarray:
    """The ImageNet-C definition (hendrycks/robustness make_imagenet_c.py) with numpy: the peer."""
    x = x8 / 255.0
    if name == "gaussian_noise":
        y = x + rng.normal(size=x.shape, scale=c)
    elif name == "shot_noise":
        y = rng.poisson(x * c) / c
    elif name == "impulse_noise":  # scikit-image random_noise(mode='s&p', amount=c): per value
        y = x.copy()
        flipped = rng.random(x.shape) < c
        salted = rng.random(x.shape) < 0.5
        y[flipped & salted] = 1.0
        y[flipped & ~salted] = 0.0
    else:
        y = x + x * rng.normal(size=x.shape, scale=c)
    return np.uint8(np.clip(y, 0, 1) * 255)


def main(quick: bool = False) -> int:
    single_thread()
    import albumentations as A

    import augnoise
    from augnoise.image import GaussianNoise

    rounds, budget = (3, 0.2) if quick else (7, 1.5)
    pipe = augnoise.Pipeline(sample=[GaussianNoise(std=STD)], seed=0)
    albu = A.GaussNoise(std_range=(STD, STD), mean_range=(0.0, 0.0), per_channel=True, p=1.0)
    albu.set_random_seed(0)

    print(f"augnoise bench image: GaussianNoise std={STD} (fraction of range), uint8 HxWx3")
    print(f"machine: {machine()}")
    print()
    print("| size | albumentations GaussNoise (img/s) | augnoise image.GaussianNoise (img/s) | ratio |")
    print("|---|---:|---:|---:|")
    for size in (256, 512):
        img = np.random.default_rng(1).integers(0, 256, (size, size, 3), dtype=np.uint8)
        probe = rate(lambda i: albu(image=img), 3, 1)[0]
        calls = max(3, int(probe * budget / rounds))
        ra, ro = [], []
        for _ in range(rounds):
            ra += rate(lambda i: albu(image=img), calls, 1)
            ro += rate(lambda i: pipe(img, index=i), calls, 1)
        a, o = median(ra), median(ro)
        print(f"| {size}x{size}x3 | {a:,.0f} | {o:,.0f} | {o / a:.2f}x |")

    print()
    print("Accuracy on mid-grey (128) uint8 256x256x3, same run (expected std includes the 1/12 level^2")
    print("that round-to-nearest adds):")
    print()
    print("| requested std | library | measured std (levels) | error vs expected | unchanged pixels |")
    print("|---|---|---:|---:|---:|")
    grey = np.full((256, 256, 3), 128, np.uint8)
    for std in (0.02, STD):
        expected = float(np.sqrt((std * 255) ** 2 + 1 / 12))
        a = A.GaussNoise(std_range=(std, std), mean_range=(0.0, 0.0), p=1.0)
        a.set_random_seed(0)
        ours = augnoise.Pipeline(sample=[GaussianNoise(std=std)], seed=0)
        for label, out in (("albumentations", a(image=grey)["image"]), ("augnoise", ours(grey, index=0))):
            n = out.astype(np.float64) - 128
            print(f"| {std} ({std * 255:.1f} levels) | {label} | {n.std():.2f} | {n.std() / expected - 1:+.1%} "
                  f"| {np.mean(n == 0):.1%} |")
    corruptions(rounds, budget)
    return 0


def corruptions(rounds: int, budget: float) -> None:
    """image.Corruption vs the numpy reference definition, severity 3, uint8 224x224x3."""
    import augnoise
    from augnoise.image import Corruption
    from augnoise.image.corruption import CONSTANTS

    img = np.random.default_rng(2).integers(0, 256, (224, 224, 3), dtype=np.uint8)
    print()
    print("image.Corruption (ImageNet-C table, severity 3) vs the reference definition in numpy, uint8 224x224x3:")
    print()
    print("| corruption | numpy reference (img/s) | augnoise image.Corruption (img/s) | ratio |")
    print("|---|---:|---:|---:|")
    for name in CORRUPTIONS:
        c = CONSTANTS["imagenet_c"][name][2]
        rng = np.random.default_rng(0)
        pipe = augnoise.Pipeline(sample=[Corruption(name=name, severity=3)], seed=0)
        pipe(img, index=0)  # compile / load the kernel outside the timing
        probe = rate(lambda i: reference_corruption(img, name, c, rng), 3, 1)[0]
        calls = max(3, int(probe * budget / rounds))
        rr, ro = [], []
        for _ in range(rounds):
            rr += rate(lambda i: reference_corruption(img, name, c, rng), calls, 1)
            ro += rate(lambda i: pipe(img, index=i), calls, 1)
        r, o = median(rr), median(ro)
        print(f"| {name} | {r:,.0f} | {o:,.0f} | {o / r:.2f}x |")


if __name__ == "__main__":
    sys.exit(main(quick="--quick" in sys.argv))
