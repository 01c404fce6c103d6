"""image.GaussianNoise: additive Gaussian noise with exact std and unbiased rounding."""
from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field

from ..core.params import BaseParams, RangeParam
from ..core.transform import Example
from .base import ImageTransform, example_image


class GaussianNoise(ImageTransform):
    """Add Gaussian noise; ``std`` and ``mean`` are fractions of the full range for every dtype.

    ``std: 0.1`` is 25.5 levels on uint8, 6553.5 on uint16 and 0.1 on float32. A ``[lo, hi]``
    range is sampled once per call. Integer images are rounded to nearest (no truncation bias,
    so the measured std matches the requested one) and saturated; float images are clipped to
    [0, 1] unless ``clip: false``. ``per_channel: false`` adds the same noise value to every
    channel of a pixel (luminance-like noise). ``grain`` (pixels) correlates the noise spatially
    (film grain, sensor blur): the autocorrelation at distance d is ``exp(-d**2 / (2 grain**2))``, the
    std stays ``std`` (see image.AdditiveNoise); 0 (the default) is white noise, byte for byte as
    before. Every call draws fresh noise.
    """

    name = "image.GaussianNoise"

    class Params(BaseParams):
        std: RangeParam(ge=0, le=1, unit="fraction of full range") = Field(0.05, description="noise std, fraction of the full range")
        mean: RangeParam(ge=-1, le=1, unit="fraction of full range") = Field(0.0, description="noise mean, fraction of the full range")
        per_channel: bool = Field(True, description="independent noise per channel (false: shared across channels)")
        clip: bool = Field(True, description="clip float images to [0, 1] (integer images always saturate)")
        grain: RangeParam(ge=0, le=32, unit="pixels") = Field(0.0, description="correlation length in pixels (0: white)")

    examples = (
        Example({"std": [0.05, 0.2]}, example_image(np.uint8)),
        Example({"std": 0.1, "per_channel": False, "p": 0.7}, example_image(np.uint16)),
        Example({"std": 0.1, "mean": 0.05}, example_image(np.float32, (6, 7))),
        Example({"std": 0.1, "clip": False}, example_image(np.float32, (5, 4, 1))),
        Example({"std": 0.1, "grain": [0.0, 2.5], "per_channel": False}, example_image(np.uint8, (9, 7, 3))),
    )

    def draw(self, r: Any) -> dict[str, Any]:
        out = {"std": r.value(self.params.std), "mean": r.value(self.params.mean), "key": r.key()}
        if self.params.grain != 0:  # drawn only when set, so 0.5's pipelines keep their draws and records
            out["grain"] = r.value(self.params.grain)
        return out
