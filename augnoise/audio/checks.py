"""Audio inputs: validation and the PCM <-> [-1, 1] float scale.

Audio is channels-first ``(C, N)`` or mono ``(N,)``; float32 in [-1, 1], or int16 / int32 PCM
(full scale 2**15 / 2**31). Noise is computed on the [-1, 1] scale (float64 for int32, whose
31 bits float32 cannot hold) and integer output is rounded half to even and saturated.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..core.errors import InputError

AUDIO_DTYPES = (np.dtype(np.float32), np.dtype(np.int16), np.dtype(np.int32))
FULL_SCALE = {np.dtype(np.int16): 2.0**15, np.dtype(np.int32): 2.0**31}


def check_audio(x: Any) -> np.ndarray:
    """Check shape, dtype, emptiness and finiteness; return ``x`` unchanged."""
    if not isinstance(x, np.ndarray):
        raise InputError(f"audio must be a numpy array, got {type(x).__name__}")
    if x.dtype not in AUDIO_DTYPES:
        hint = " (convert with .astype(np.float32))" if x.dtype.kind == "f" else ""
        raise InputError(f"audio dtype must be float32, int16 or int32, got {x.dtype}{hint}")
    if x.ndim not in (1, 2):
        raise InputError(f"audio must be (N,) mono or (C, N) channels-first, got shape {x.shape}")
    if x.size == 0:
        raise InputError(f"audio is empty (shape {x.shape})")
    if x.ndim == 2 and x.shape[0] > x.shape[1]:
        raise InputError(
            f"audio has more channels ({x.shape[0]}) than samples ({x.shape[1]}): audio is channels-first "
            f"(C, N); transpose an (N, C) array with .T"
        )
    if x.dtype.kind == "f":
        from .kernels import finite_peak

        bad, peak = finite_peak(x)
        if bad:
            raise InputError(f"audio holds {bad} NaN or inf value(s)")
        if peak > 1.0:
            raise InputError(f"float audio must lie in [-1, 1], got a peak of {peak:g} (is it PCM stored as float?)")
    return x


def to_unit(x: np.ndarray) -> np.ndarray:
    """2-D ``(C, N)`` float array on the [-1, 1] scale (float32; float64 for int32). For
    float32 input this is a view: kernels must not write into it."""
    x2 = x.reshape(1, -1) if x.ndim == 1 else x
    scale = FULL_SCALE.get(x.dtype)
    if scale is None:
        return x2
    work = np.float64 if x.dtype == np.int32 else np.float32
    return x2.astype(work) * work(1.0 / scale)


def from_unit(y: np.ndarray, like: np.ndarray, clip: bool | str = True) -> np.ndarray:
    """Back to ``like``'s dtype and shape. ``clip``: True clips to [-1, 1]; "rescale" scales the
    whole clip down by its peak when that exceeds 1 (every channel's SNR is kept); False leaves
    float values as they are. Integer output always saturates."""
    if clip == "rescale":
        peak = float(np.abs(y).max())
        if peak > 1.0:
            y = y * y.dtype.type(1.0 / peak)
    elif clip:
        np.clip(y, -1.0, 1.0, out=y)
    scale = FULL_SCALE.get(like.dtype)
    if scale is not None:
        info = np.iinfo(like.dtype)
        y = np.clip(np.rint(y * scale), info.min, info.max).astype(like.dtype)
    elif y.dtype != like.dtype:
        y = y.astype(like.dtype)
    return y.reshape(like.shape)
