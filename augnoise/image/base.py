"""Shared base of image transforms: field ``image`` by default and input checks."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..core.transform import Transform
from .checks import check_image


class ImageTransform(Transform):
    """An image transform: HxW or HxWxC (1-4 channels), uint8/uint16/float32 in [0, 1].

    Output keeps the dtype and shape and stays in the valid range.
    """

    modality = "image"
    #: whether ``check`` must verify float values (False when the kernel checks them itself)
    check_float_range = True

    def check(self, data: Any) -> np.ndarray:
        return check_image(data, float_range=self.check_float_range)
