"""Shared base of image transforms: field ``image`` by default, input checks, and the sample
images the conformance harness runs every image transform on."""
from __future__ import annotations

from typing import Any, Callable, ClassVar

import numpy as np

from ..core.transform import Transform
from .checks import check_image


class ImageTransform(Transform):
    """An image transform: HxW or HxWxC (1-4 channels), uint8/uint16/float32 in [0, 1].

    Output keeps the dtype and shape and stays in the valid range.
    """

    modality = "image"
    default_field = "image"
    #: whether ``check`` must verify float values (False when the kernel checks them itself)
    check_float_range: ClassVar[bool] = True

    def check(self, x: Any, batched: bool = False) -> Any:
        return check_image(x, float_range=self.check_float_range, batched=batched)


def example_image(dtype: Any = np.uint8, shape: tuple[int, ...] = (8, 8, 3)) -> Callable[[], dict[str, Any]]:
    """A sample factory: a smooth ramp between 20% and 80% of the range (no value saturates,
    every value differs from its neighbours), as ``{"image": array}``."""
    def make() -> dict[str, Any]:
        n = int(np.prod(shape))
        ramp = 0.2 + 0.6 * (np.arange(n, dtype=np.float64) / max(n - 1, 1)).reshape(shape)
        if np.dtype(dtype).kind == "f":
            return {"image": ramp.astype(dtype)}
        return {"image": np.round(ramp * np.iinfo(dtype).max).astype(dtype)}

    return make
