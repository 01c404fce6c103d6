"""image.SpeckleNoise: multiplicative Gaussian noise."""
from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field

from ..core.params import BaseParams, RangeParam, draw
from . import kernels
from .base import ImageTransform


class SpeckleNoise(ImageTransform):
    """Multiplicative noise ``x * (1 + std * n)``, n standard normal: brighter pixels get more
    noise, black stays black (as in radar and ultrasound speckle). Clipped to the valid range;
    integers rounded half to even."""

    name = "image.SpeckleNoise"

    class Params(BaseParams):
        std: RangeParam(ge=0, le=10, unit="relative std") = Field(0.1, description="relative std of the multiplier")
        per_channel: bool = Field(True, description="independent multiplier per channel")

    def make_params(self, data: np.ndarray, rng: np.random.Generator) -> dict[str, Any]:
        shape = data.shape if (self.params.per_channel or data.ndim == 2) else data.shape[:2] + (1,)
        return {"std": draw(self.params.std, rng), "noise": rng.standard_normal(shape, dtype=np.float32)}

    def apply(self, data: np.ndarray, params: dict[str, Any], rng: np.random.Generator) -> np.ndarray:
        return kernels.speckle_noise(data, params["std"], params["noise"])
