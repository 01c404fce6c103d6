"""image.SpeckleNoise: multiplicative Gaussian noise."""
from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field

from ..core.params import BaseParams, RangeParam
from ..core.transform import Example
from .base import ImageTransform, example_image


class SpeckleNoise(ImageTransform):
    """Multiplicative noise ``x * (1 + std * n)``, n standard normal: brighter pixels get more
    noise, black stays black (as in radar and ultrasound speckle). Clipped to the valid range;
    integers rounded half to even."""

    name = "image.SpeckleNoise"

    class Params(BaseParams):
        std: RangeParam(ge=0, le=10, unit="relative std") = Field(0.1, description="relative std of the multiplier")
        per_channel: bool = Field(True, description="independent multiplier per channel")

    examples = (
        Example({"std": 0.3}, example_image(np.uint8)),
        Example({"std": [0.1, 0.5], "per_channel": False}, example_image(np.float32)),
        Example({"std": 0.2}, example_image(np.uint16, (7, 3, 2))),
    )

    def draw(self, r: Any) -> dict[str, Any]:
        return {"std": r.value(self.params.std), "key": r.key()}
