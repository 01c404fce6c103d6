"""bench noises, part "additive": image.AdditiveNoise, image.MultiplicativeNoise and grain against
albumentations' AdditiveNoise, MultiplicativeNoise and GaussNoise(noise_scale_factor) on uint8
RGB images, at the same std (albumentations' uniform range +-s*sqrt(3) is std s; its Laplace
scale s/sqrt(2) is std s)."""
from __future__ import annotations

import math
from typing import Any, Iterator

import numpy as np


def rows(rounds: int, budget: float, interleaved: Any, Row: Any) -> Iterator[Any]:
    import albumentations as A

    import augnoise
    from augnoise.image import AdditiveNoise, GaussianNoise, MultiplicativeNoise

    s = 0.1
    half = s * math.sqrt(3)
    cases = (
        ("image.AdditiveNoise (uniform, std 0.1, per_pixel)",
         AdditiveNoise(distribution="uniform", std=s),
         "AdditiveNoise (uniform +-0.173, per_pixel)",
         A.AdditiveNoise(noise_type="uniform", spatial_mode="per_pixel", noise_params={"ranges": [(-half, half)]}, p=1)),
        ("image.AdditiveNoise (laplace, std 0.1, shared)",
         AdditiveNoise(distribution="laplace", std=s, mode="shared"),
         "AdditiveNoise (laplace scale 0.0707, shared)",
         A.AdditiveNoise(noise_type="laplace", spatial_mode="shared",
                         noise_params={"mean_range": (0, 0), "scale_range": (s / math.sqrt(2), s / math.sqrt(2))}, p=1)),
        ("image.AdditiveNoise (beta 2, 5, std 0.1, per_pixel)",
         AdditiveNoise(distribution="beta", alpha=2.0, beta=5.0, std=s),
         "AdditiveNoise (beta 2, 5, scale 0.3, per_pixel)",
         A.AdditiveNoise(noise_type="beta", spatial_mode="per_pixel",
                         noise_params={"alpha_range": (2, 2), "beta_range": (5, 5), "scale_range": (0.3, 0.3)}, p=1)),
        ("image.AdditiveNoise (gaussian, std 0.1, per_channel)",
         AdditiveNoise(std=s, mode="per_channel"),
         "AdditiveNoise (gaussian std 0.1, constant)",
         A.AdditiveNoise(noise_type="gaussian", spatial_mode="constant",
                         noise_params={"mean_range": (0, 0), "std_range": (s, s)}, p=1)),
        ("image.MultiplicativeNoise (uniform 0.9-1.1, per_pixel)",
         MultiplicativeNoise(multiplier=[0.9, 1.1]),
         "MultiplicativeNoise (0.9-1.1, per_channel, elementwise)",
         A.MultiplicativeNoise(multiplier=(0.9, 1.1), per_channel=True, elementwise=True, p=1)),
        ("image.MultiplicativeNoise (uniform 0.9-1.1, per_channel)",
         MultiplicativeNoise(multiplier=[0.9, 1.1], mode="per_channel"),
         "MultiplicativeNoise (0.9-1.1, per_channel)",
         A.MultiplicativeNoise(multiplier=(0.9, 1.1), per_channel=True, elementwise=False, p=1)),
        ("image.GaussianNoise (std 0.1, grain 2 px)",
         GaussianNoise(std=s, grain=2.0),
         "GaussNoise (std 0.1, noise_scale_factor 0.5)",
         A.GaussNoise(std_range=(s, s), noise_scale_factor=0.5, p=1)),
    )
    for size in (256, 512):
        img = np.random.default_rng(1).integers(0, 256, (size, size, 3), dtype=np.uint8)
        for label, step, peer_label, peer in cases:
            peer.set_random_seed(0)
            pipe = augnoise.Pipeline(sample=[step], seed=0)
            rp, ro = interleaved(lambda i: peer(image=img), lambda i: pipe(img, index=i), rounds, budget)
            yield Row(label, f"albumentations {peer_label}", f"uint8 {size}x{size}x3", rp, ro)
