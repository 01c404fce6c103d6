"""image.SaltAndPepper: impulse noise with exact rates."""
from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field

from ..core.params import BaseParams, RangeParam
from ..core.transform import Example
from .base import ImageTransform, example_image


class SaltAndPepper(ImageTransform):
    """Replace a fraction ``amount`` of pixels: ``salt_ratio`` of them with the maximum value
    (salt), the rest with 0 (pepper).

    Each pixel is hit independently with probability ``amount`` (all its channels together;
    ``per_channel: true`` hits each value independently instead), decided by one 32-bit
    uniform, so rates are exact to 2**-32. Untouched pixels are unchanged bit for bit.
    """

    name = "image.SaltAndPepper"

    class Params(BaseParams):
        amount: RangeParam(ge=0, le=1, unit="fraction of pixels") = Field(0.01, description="fraction of pixels replaced")
        salt_ratio: RangeParam(ge=0, le=1) = Field(0.5, description="fraction of the replaced pixels set to the max")
        per_channel: bool = Field(False, description="hit each channel value independently")

    examples = (
        Example({"amount": 0.3}, example_image(np.uint8)),
        Example({"amount": [0.2, 0.5], "salt_ratio": 0.3, "per_channel": True}, example_image(np.float32)),
        Example({"amount": 0.4, "p": 0.6}, example_image(np.uint16, (9, 5))),
    )

    def draw(self, r: Any) -> dict[str, Any]:
        return {"amount": r.value(self.params.amount), "salt_ratio": r.value(self.params.salt_ratio), "key": r.key()}
