"""Validation of image inputs: one clear sentence per problem."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..core.errors import InputError

IMAGE_DTYPES = (np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.float32))


def check_image(x: Any, *, float_range: bool = False) -> np.ndarray:
    """Check that ``x`` is an HxW or HxWxC (C in 1..4) uint8/uint16/float32 non-empty array.

    With ``float_range``, float images must also be finite and within [0, 1] (transforms whose
    kernel does not check that itself ask for it).
    """
    if not isinstance(x, np.ndarray):
        raise InputError(f"image must be a numpy array, got {type(x).__name__}")
    if x.dtype not in IMAGE_DTYPES:
        hint = " (convert with .astype(np.float32) and scale to [0, 1])" if x.dtype.kind == "f" else ""
        raise InputError(f"image dtype must be uint8, uint16 or float32, got {x.dtype}{hint}")
    if x.ndim not in (2, 3):
        raise InputError(f"image must be HxW or HxWxC, got shape {x.shape}")
    if x.ndim == 3 and not 1 <= x.shape[2] <= 4:
        raise InputError(f"image must have 1 to 4 channels in the last axis (HxWxC), got shape {x.shape}")
    if x.size == 0:
        raise InputError(f"image is empty (shape {x.shape})")
    if float_range and x.dtype.kind == "f":
        finite = np.isfinite(x)
        if not finite.all():
            raise InputError(f"float image holds {int(x.size - finite.sum())} NaN or inf value(s)")
        lo, hi = float(x.min()), float(x.max())
        if lo < 0.0 or hi > 1.0:
            raise InputError(f"float image values must lie in [0, 1], got [{lo:g}, {hi:g}]")
    return x
