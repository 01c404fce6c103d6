"""image.ShotNoise: Poisson photon-counting noise."""
from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field

from ..core.params import BaseParams, RangeParam
from ..core.transform import Example
from .base import ImageTransform, example_image


class ShotNoise(ImageTransform):
    """Poisson (shot) noise: full white collects ``photons`` photons on average.

    A value x in [0, 1] becomes ``Poisson(x * photons) / photons`` (variance ``x / photons``:
    fewer photons, more noise). By default the pixel values are taken as proportional to light
    (``linear: false``, the common augmentation). With ``linear: true`` the image is treated as
    sRGB: decoded to linear light, photon-counted, re-encoded, as a camera sensor would see it.
    """

    name = "image.ShotNoise"
    exact_backends = False  # float64 reductions / FFT / transcendentals: equal up to rounding

    class Params(BaseParams):
        photons: RangeParam(gt=0, le=1e9, unit="photons at full white") = Field(50.0, description="mean photon count at full white")
        linear: bool = Field(False, description="decode sRGB to linear light before counting photons")

    examples = (
        Example({"photons": 20}, example_image(np.uint8)),
        Example({"photons": [5, 500], "linear": True}, example_image(np.float32)),
        Example({"photons": 2000}, example_image(np.uint16, (6, 6, 1))),
    )

    def draw(self, r: Any) -> dict[str, Any]:
        return {"photons": r.value(self.params.photons), "key": r.key()}
