"""image.SaltAndPepper: impulse noise with exact rates."""
from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field

from ..core.params import BaseParams, RangeParam, draw
from . import kernels
from .base import ImageTransform


class SaltAndPepper(ImageTransform):
    """Replace a fraction ``amount`` of pixels: ``salt_ratio`` of them with the maximum value
    (salt), the rest with 0 (pepper).

    Each pixel is hit independently with probability ``amount`` (all its channels together;
    ``per_channel: true`` hits each value independently instead). Untouched pixels are
    unchanged bit for bit.
    """

    name = "image.SaltAndPepper"
    batch_capable = True
    batch_draws = ("amount", "salt_ratio")

    class Params(BaseParams):
        amount: RangeParam(ge=0, le=1, unit="fraction of pixels") = Field(0.01, description="fraction of pixels replaced")
        salt_ratio: RangeParam(ge=0, le=1) = Field(0.5, description="fraction of the replaced pixels set to the max")
        per_channel: bool = Field(False, description="hit each channel value independently")

    def make_params(self, data: np.ndarray, rng: np.random.Generator) -> dict[str, Any]:
        shape = data.shape if (self.params.per_channel or data.ndim == 2) else data.shape[:2] + (1,)
        return {
            "amount": draw(self.params.amount, rng),
            "salt_ratio": draw(self.params.salt_ratio, rng),
            "u": rng.random(shape, dtype=np.float32),
        }

    def apply(self, data: np.ndarray, params: dict[str, Any], rng: np.random.Generator) -> np.ndarray:
        u = params["u"]
        if u.shape != data.shape:
            u = np.broadcast_to(u, data.shape)
        return kernels.salt_and_pepper(data, params["amount"], params["salt_ratio"], u)
