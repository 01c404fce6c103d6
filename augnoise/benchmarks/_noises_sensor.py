"""bench noises, part "sensor": image.SensorNoise vs albumentations ISONoise (colour shift plus
Poisson-like luminance noise) on uint8 RGB images. Strength: ISONoise(intensity 0.1-0.5,
color_shift 0.01-0.05) vs SensorNoise(a = 0.004, b = 1e-4, chroma 0.02): luminance std about
0.04 of the range at mid-grey on both sides."""
from __future__ import annotations

from typing import Any, Iterator

import numpy as np


def rows(rounds: int, budget: float, interleaved: Any, Row: Any) -> Iterator[Any]:
    import albumentations as A

    import augnoise
    from augnoise.image import SensorNoise

    peer = A.ISONoise(color_shift=(0.01, 0.05), intensity=(0.1, 0.5), p=1.0)
    peer.set_random_seed(0)
    cases = (("a 0.004, b 1e-4, exact Poisson", {"a": 0.004, "b": 1e-4}),
             ("a 0.004, b 1e-4, model gaussian", {"a": 0.004, "b": 1e-4, "model": "gaussian"}),
             ("a 0.004, b 1e-4, chroma 0.02, model gaussian", {"a": 0.004, "b": 1e-4, "chroma": 0.02,
                                                               "model": "gaussian"}))
    for size in (256, 512):
        img = np.random.default_rng(1).integers(0, 256, (size, size, 3), dtype=np.uint8)
        for label, params in cases:
            pipe = augnoise.Pipeline(sample=[SensorNoise(**params)], seed=0)
            rp, ro = interleaved(lambda i: peer(image=img), lambda i: pipe(img, index=i), rounds, budget)
            yield Row(f"image.SensorNoise ({label})", "albumentations ISONoise (intensity 0.1-0.5, color_shift 0.01-0.05)",
                      f"uint8 {size}x{size}x3", rp, ro)
