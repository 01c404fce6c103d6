"""Audio inputs: validation and the PCM <-> [-1, 1] float scale.

Audio is channels-first ``(C, N)`` or mono ``(N,)``; in a batch ``(B, C, N)`` or ``(B, N)``.
float16 / bfloat16 / float32 / float64 in [-1, 1], or int16 / int32 PCM (full scale 2**15 /
2**31). Noise is computed on the [-1, 1] scale in float32 (float64 for float64 and for int32,
whose 31 bits float32 cannot hold), and returned in the input dtype; integer output is rounded
half to even and saturated.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..core.arrays import adapter_for
from ..core.errors import InputError

AUDIO_DTYPES = ("float16", "bfloat16", "float32", "float64", "int16", "int32")
FULL_SCALE = {"int16": 2.0**15, "int32": 2.0**31}


_NP_NAMES = {np.dtype(d): d for d in ("float16", "float32", "float64", "int16", "int32")}


def dtype_name(x: Any) -> str:
    name = _NP_NAMES.get(x.dtype) if isinstance(x, np.ndarray) else None
    return name or str(x.dtype).replace("torch.", "")


def _tensor_problem(x: Any) -> str:
    """Why the tensor ``x`` holds no values a kernel can read ('' if it does): sparse, nested
    or otherwise non-strided tensors and tensors on the ``meta`` device."""
    if getattr(x, "is_nested", False):
        return "audio must be a dense tensor, got a nested tensor"
    layout = getattr(x, "layout", None)
    if layout is not None and str(layout) != "torch.strided":
        return f"audio must be a dense (strided) tensor, got layout {str(layout).replace('torch.', '')}"
    if getattr(getattr(x, "device", None), "type", "") == "meta":
        return "audio is a tensor on the meta device, which holds no values"
    return ""


def _finite_range(x: Any) -> tuple[int, float, float]:
    """``(count of NaN/inf values, min, max)`` through the array's adapter (for tensors one fused
    ``torch.aminmax`` pass and one host sync, see ``TorchAdapter.finite_range``)."""
    return adapter_for(x).finite_range(x)


def check_audio(x: Any, batched: bool = False) -> Any:
    """Check type, dtype, shape ((C, N) or (N,); in a batch (B, C, N) or (B, N)), emptiness,
    finiteness and full scale (float audio within [-1, 1]); return ``x`` unchanged. The
    sample and the batch stage run this same check (numpy arrays and tensors on any device),
    so they refuse the same inputs with the same sentence."""
    if not isinstance(x, np.ndarray) and adapter_for(x) is None:
        raise InputError(f"audio must be a numpy array or a tensor, got {type(x).__name__}")
    problem = "" if isinstance(x, np.ndarray) else _tensor_problem(x)
    if problem:
        raise InputError(problem)
    name = dtype_name(x)
    if name not in AUDIO_DTYPES:
        hint = ""
        if isinstance(x, np.ndarray) and not x.dtype.isnative:
            hint = f" (non-native byte order: convert with .astype(np.{x.dtype.newbyteorder('=').name}))"
        raise InputError(f"audio dtype must be float16, bfloat16, float32, float64, int16 or int32, got {name}{hint}")
    shape = tuple(x.shape[1:]) if batched else tuple(x.shape)
    if len(shape) not in (1, 2):
        what = "batch-stage audio must be (B, N) or (B, C, N)" if batched else "audio must be (N,) mono or (C, N) channels-first"
        raise InputError(f"{what}, got shape {tuple(x.shape)}")
    if 0 in shape:
        raise InputError(f"audio is empty (shape {tuple(x.shape)})")
    if len(shape) == 2 and shape[0] > shape[1]:
        raise InputError(
            f"audio has more channels ({shape[0]}) than samples ({shape[1]}): audio is channels-first "
            f"(C, N); transpose an (N, C) array with .T"
        )
    if "float" in name:
        if isinstance(x, np.ndarray):
            from .kernels import finite_peak

            bad, peak = finite_peak(x if x.dtype != np.float16 else x.astype(np.float32))
        else:
            bad, lo, hi = _finite_range(x)  # one fused reduction, one host sync
            peak = max(abs(lo), abs(hi))
        if bad:
            raise InputError(f"audio holds {bad} NaN or inf value(s)")
        if peak > 1.0:
            raise InputError(f"float audio must lie in [-1, 1], got a peak of {peak:g} (is it PCM stored as float?)")
    return x


def to_unit(x: np.ndarray) -> np.ndarray:
    """A batch ``(B, N)`` / ``(B, C, N)`` as ``(B, C, N)`` floats on the [-1, 1] scale (float32;
    float64 for int32). For float32 input this is a view: kernels must not write into it."""
    x3 = x.reshape(x.shape[0], 1, x.shape[1]) if x.ndim == 2 else x
    scale = FULL_SCALE.get(x.dtype.name)
    if scale is None:
        return x3.astype(np.float32) if x.dtype == np.float16 else x3
    work = np.float64 if x.dtype == np.int32 else np.float32
    return x3.astype(work) * work(1.0 / scale)


def from_unit(y: np.ndarray, like: np.ndarray, clip: bool | str = True) -> np.ndarray:
    """Back to ``like``'s dtype and shape. ``clip``: True clips to [-1, 1]; "rescale" scales
    each clip down by its peak when that exceeds 1 (every channel's SNR is kept); False leaves
    float values as they are. Integer output always saturates."""
    if clip == "rescale":
        peak = np.abs(y).reshape(y.shape[0], -1).max(axis=1)
        over = peak > 1.0
        if over.any():
            y = y.copy() if not y.flags.writeable else y
            y[over] *= (1.0 / peak[over]).astype(y.dtype)[:, None, None]
    elif clip:
        np.clip(y, -1.0, 1.0, out=y)
    scale = FULL_SCALE.get(like.dtype.name)
    if scale is not None:
        info = np.iinfo(like.dtype)
        y = np.clip(np.rint(y * scale), info.min, info.max).astype(like.dtype)
    elif y.dtype != like.dtype:
        y = y.astype(like.dtype)
    return y.reshape(like.shape)
