"""Shared base of image transforms: field ``image`` by default, input checks, and the sample
images the conformance harness runs every image transform on."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..core.transform import Transform
from .checks import check_image
from .layout import describe


class ImageTransform(Transform):
    """An image transform: numpy HxW / HxWxC, torch HxW / CxHxW (or as declared under
    ``fields:``), 1-4 channels, uint8 / uint16 / float16 / bfloat16 / float32 / float64, float
    values in [0, 1] (or a declared range or normalisation).

    Output keeps the dtype, shape, layout and array type and stays in the valid range.
    """

    modality = "image"
    default_field = "image"
    field_conventions = frozenset({"layout", "range", "normalize"})

    def check(self, x: Any, batched: bool = False, ctx: Any = None) -> Any:
        check_image(x, batched=batched)
        describe(x, ctx, self.field, batched)  # dtype, shape, layout, channels: messages about the input as given
        return x


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
