"""The counter-based generator of augnoise.core.fastnormal, in torch int64 operations.

Position ``i`` of a stream with 64-bit ``key`` uses word ``mix(key + (i // 4 + 1) * gamma)``
(SplitMix64) and its 16-bit lane ``i % 4``; a Gaussian value is the inverse-CDF table entry
at that lane. torch has no unsigned 64-bit arithmetic, so the words live in int64 (wrapping
multiplication is the same bits) and logical right shifts are arithmetic shifts masked.
The values are therefore bit-identical to the numba kernels' for the same key, on any device.
"""
from __future__ import annotations

import functools

import numpy as np
import torch

from ..core import fastnormal


def _s64(u: int) -> int:
    """An unsigned 64-bit constant as the int64 with the same bits."""
    u &= 0xFFFFFFFFFFFFFFFF
    return u - (1 << 64) if u >= 1 << 63 else u


GAMMA = _s64(fastnormal.GOLDEN_GAMMA)
M1 = _s64(0xBF58476D1CE4E5B9)
M2 = _s64(0x94D049BB133111EB)


def _shr(z: torch.Tensor, s: int) -> torch.Tensor:
    """Logical right shift of int64 bits."""
    return (z >> s) & ((1 << (64 - s)) - 1)


def mix(z: torch.Tensor) -> torch.Tensor:
    z = (z ^ _shr(z, 30)) * M1
    z = (z ^ _shr(z, 27)) * M2
    return z ^ _shr(z, 31)


def words(keys: torch.Tensor, n_words: int) -> torch.Tensor:
    """``(B, n_words)`` int64 words of each sample's stream (``keys``: int64 bits, shape (B,))."""
    q = torch.arange(1, n_words + 1, device=keys.device, dtype=torch.int64)
    return mix(keys[:, None] + q[None, :] * GAMMA)


def lanes(keys: torch.Tensor, n: int) -> torch.Tensor:
    """``(B, n)`` 16-bit lane values (int64 in [0, 65535]) for positions 0..n-1."""
    w = words(keys, (n + 3) // 4)
    shifts = torch.tensor([0, 16, 32, 48], device=keys.device, dtype=torch.int64)
    return (_shr_lanes(w[:, :, None], shifts) & 0xFFFF).reshape(keys.shape[0], -1)[:, :n]


def _shr_lanes(w: torch.Tensor, shifts: torch.Tensor) -> torch.Tensor:
    # logical shift by a per-lane amount: arithmetic shift, then mask off the sign copies
    masks = torch.where(shifts == 0, torch.full_like(shifts, -1), (torch.ones_like(shifts) << (64 - shifts)) - 1)
    return (w >> shifts) & masks


@functools.lru_cache(maxsize=8)
def _table(device: str) -> torch.Tensor:
    return torch.from_numpy(fastnormal.gaussian_table()).to(device)


def standard_normal(keys: torch.Tensor, n: int) -> torch.Tensor:
    """``(B, n)`` float32 standard-normal values, sample b from key ``keys[b]``."""
    return _table(str(keys.device))[lanes(keys, n)]


def uniform(keys: torch.Tensor, n: int) -> torch.Tensor:
    """``(B, n)`` float32 uniforms in [0, 1) with 16-bit resolution, from the same stream."""
    return lanes(keys, n).to(torch.float32) * (1.0 / 65536.0)


def to_int64(keys: list[int]) -> np.ndarray:
    """Python uint64 keys as int64 bits."""
    return np.array([_s64(k) for k in keys], dtype=np.int64)
