"""image.ShotNoise: Poisson photon-counting noise."""
from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field

from ..core.params import BaseParams, RangeParam, draw
from . import kernels
from .base import ImageTransform


class ShotNoise(ImageTransform):
    """Poisson (shot) noise: full white collects ``photons`` photons on average.

    A value x in [0, 1] becomes ``Poisson(x * photons) / photons`` (variance ``x / photons``:
    fewer photons, more noise). By default the pixel values are taken as proportional to light
    (``linear: false``, the common augmentation). With ``linear: true`` the image is treated as
    sRGB: decoded to linear light, photon-counted, re-encoded, as a camera sensor would see it.
    """

    name = "image.ShotNoise"

    class Params(BaseParams):
        photons: RangeParam(gt=0, le=1e9, unit="photons at full white") = Field(50.0, description="mean photon count at full white")
        linear: bool = Field(False, description="decode sRGB to linear light before counting photons")

    def make_params(self, data: np.ndarray, rng: np.random.Generator) -> dict[str, Any]:
        return {"photons": draw(self.params.photons, rng)}

    def apply(self, data: np.ndarray, params: dict[str, Any], rng: np.random.Generator) -> np.ndarray:
        return kernels.shot_noise(data, params["photons"], rng, linear=self.params.linear)
