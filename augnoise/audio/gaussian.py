"""audio.GaussianNoise: white Gaussian noise at an absolute level."""
from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field

from ..core.params import RangeParam, draw
from .base import AudioParams, AudioTransform
from .kernels import white_noise


class GaussianNoise(AudioTransform):
    """Add white Gaussian noise of absolute ``std`` on the full-scale [-1, 1] range (0.01 is
    -40 dBFS RMS), independent per channel, whatever the signal's level. For noise relative to
    the signal use ``audio.GaussianSNR``."""

    name = "audio.GaussianNoise"
    batch_capable = True
    batch_draws = ("std",)

    class Params(AudioParams):
        std: RangeParam(ge=0, le=1, unit="fraction of full scale") = Field(0.01, description="noise std on the [-1, 1] scale")

    def make_params(self, data: np.ndarray, rng: np.random.Generator) -> dict[str, Any]:
        return {"std": draw(self.params.std, rng), "key": self.key(rng)}

    def process(self, x: np.ndarray, params: dict[str, Any], rng: np.random.Generator) -> np.ndarray:
        z = white_noise(x.shape[0], x.shape[1], params["key"], x.dtype)
        return x + x.dtype.type(params["std"]) * z
