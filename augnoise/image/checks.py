"""Validation of image inputs: one clear sentence per problem."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..core.arrays import adapter_for
from ..core.errors import InputError

IMAGE_DTYPES = ("uint8", "uint16", "float32")
_NP_IMAGE_DTYPES = {np.dtype(d): d for d in IMAGE_DTYPES}


def _dtype_name(x: Any) -> str:
    name = _NP_IMAGE_DTYPES.get(x.dtype) if isinstance(x, np.ndarray) else None
    return name or str(x.dtype).replace("torch.", "")


def check_image(x: Any, *, float_range: bool = False, batched: bool = False) -> Any:
    """Check that ``x`` is an HxW or HxWxC (C in 1..4) uint8/uint16/float32 non-empty array
    (with ``batched``, such images stacked on axis 0). numpy arrays, and in the batch stage
    torch tensors.

    With ``float_range``, float images must also be finite and within [0, 1] (transforms whose
    kernel does not check that itself ask for it).
    """
    if isinstance(x, np.ndarray) and not float_range and not batched and x.ndim in (2, 3) and x.size \
            and x.dtype in _NP_IMAGE_DTYPES and (x.ndim == 2 or x.shape[2] <= 4):
        return x  # the common case, all checks passed
    if not isinstance(x, np.ndarray) and not (batched and adapter_for(x) is not None):
        raise InputError(f"image must be a numpy array, got {type(x).__name__}")
    name = _dtype_name(x)
    if name not in IMAGE_DTYPES:
        hint = " (convert with .astype(np.float32) and scale to [0, 1])" if "float" in name else ""
        raise InputError(f"image dtype must be uint8, uint16 or float32, got {name}{hint}")
    shape = tuple(x.shape[1:]) if batched else tuple(x.shape)
    what = "batch-stage images must be (B, H, W) or (B, H, W, C)" if batched else "image must be HxW or HxWxC"
    if len(shape) not in (2, 3):
        raise InputError(f"{what}, got shape {tuple(x.shape)}")
    if len(shape) == 3 and not 1 <= shape[2] <= 4:
        raise InputError(f"image must have 1 to 4 channels in the last axis (HxWxC), got shape {tuple(x.shape)}")
    if 0 in shape:
        raise InputError(f"image is empty (shape {tuple(x.shape)})")
    if float_range and "float" in name:
        if isinstance(x, np.ndarray):
            from .kernels import maybe_outside_unit

            if not maybe_outside_unit(x):
                return x
            finite = np.isfinite(x)
            bad = int(x.size - finite.sum())
            lo, hi = (float(x.min()), float(x.max())) if not bad else (0.0, 1.0)
        else:
            bad, lo, hi = adapter_for(x).finite_range(x)
        if bad:
            raise InputError(f"float image holds {bad} NaN or inf value(s)")
        if lo < 0.0 or hi > 1.0:
            raise InputError(f"float image values must lie in [0, 1], got [{lo:g}, {hi:g}]")
    return x
