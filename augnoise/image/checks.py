"""Validation of image inputs: one clear sentence per problem (see :mod:`.layout`, which does
the full job with the call's declarations; this is the quick test a step makes before it
draws)."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..core.arrays import is_array
from ..core.errors import InputError


def check_image(x: Any, *, batched: bool = False) -> Any:
    """Check that ``x`` is an array (numpy, or a tensor through its adapter); everything else
    (dtype, layout, channels, domain) is checked by :func:`augnoise.image.layout.image_batch`."""
    if not isinstance(x, np.ndarray) and not is_array(x):
        raise InputError(f"image must be a numpy array or a tensor, got {type(x).__name__}")
    return x
