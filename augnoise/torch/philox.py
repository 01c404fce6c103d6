"""The Philox-4x32-10 streams of :mod:`augnoise.core.philox` in torch operations, on any device.

torch has no unsigned 32-bit arithmetic for every op, so words live in int64 tensors: the
product of two 32-bit values wraps in int64 with the same low 64 bits, and the high word is an
arithmetic shift masked to 32 bits. The numbers are therefore bit-identical to the numba
kernels' for the same key. Eager by default; on CUDA the block function is compiled with
``torch.compile`` (one fused kernel) when that works on the machine, and eager otherwise.
"""
from __future__ import annotations

import functools
from typing import Any

import numpy as np
import torch

from ..core import philox as ref

MASK32 = ref.MASK32


def block(c0: torch.Tensor, c1: Any, c2: Any, c3: Any, k0: torch.Tensor, k1: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Philox-4x32-10 on int64 tensors holding 32-bit values (broadcasting)."""
    for _ in range(ref.ROUNDS):
        p0 = c0 * ref.M0
        p1 = c2 * ref.M1
        c0, c1, c2, c3 = ((p1 >> 32) & MASK32) ^ c1 ^ k0, p1 & MASK32, ((p0 >> 32) & MASK32) ^ c3 ^ k1, p0 & MASK32
        k0 = (k0 + ref.W0) & MASK32
        k1 = (k1 + ref.W1) & MASK32
    return c0, c1, c2, c3


_compiled: dict[str, Any] = {}


def _block_fn(device: torch.device) -> Any:
    """The block function for ``device``: compiled on CUDA when torch.compile works there."""
    if device.type != "cuda":
        return block
    fn = _compiled.get("cuda")
    if fn is None:
        try:
            fn = torch.compile(block, dynamic=True)
            one = torch.ones(8, dtype=torch.int64, device=device)
            if not all(torch.equal(a, b) for a, b in zip(fn(one, one, one, one, one, one), block(one, one, one, one, one, one))):
                fn = block
        except Exception:  # no working compiler on this machine: eager
            fn = block
        _compiled["cuda"] = fn
    return fn


def keys_tensor(keys: Any, device: Any) -> torch.Tensor:
    """uint64 kernel keys (numpy) as an int64 tensor of the same bits on ``device``."""
    k = np.ascontiguousarray(np.asarray(keys, np.uint64).reshape(-1)).view(np.int64)
    return torch.from_numpy(k.copy()).to(device)


def words(keys: torch.Tensor, n: int, stream: int = 0) -> torch.Tensor:
    """``(B, n)`` int64 words 0..n-1 of ``stream`` of each key."""
    nq = (n + 3) // 4
    q = torch.arange(nq, device=keys.device, dtype=torch.int64)[None, :]
    k0 = (keys & MASK32)[:, None]
    k1 = ((keys >> 32) & MASK32)[:, None]
    zero = torch.zeros((), dtype=torch.int64, device=keys.device)
    out = _block_fn(keys.device)(q & MASK32, q >> 32, zero + stream, zero, k0, k1)
    return torch.stack(out, dim=-1).reshape(keys.shape[0], 4 * nq)[:, :n]


@functools.lru_cache(maxsize=8)
def _table(device: str) -> torch.Tensor:
    return torch.from_numpy(ref.gaussian_table().copy()).to(device)


def lanes(keys: torch.Tensor, n: int, stream: int = 0) -> torch.Tensor:
    """``(B, n)`` int64 16-bit table indices at positions 0..n-1 (two per 32-bit word, low half
    first): what :func:`normals` looks up, for any 65,536-entry table."""
    w = words(keys, (n + 1) // 2, stream)
    return torch.stack([w & 0xFFFF, (w >> 16) & 0xFFFF], dim=-1).reshape(keys.shape[0], -1)[:, :n]


def normals(keys: torch.Tensor, n: int, stream: int = 0) -> torch.Tensor:
    """``(B, n)`` float32 standard normals at positions 0..n-1 (the inverse-CDF table)."""
    return _table(str(keys.device))[lanes(keys, n, stream)]


def uniform32(keys: torch.Tensor, n: int, stream: int = 0) -> torch.Tensor:
    """``(B, n)`` int64 values in [0, 2**32): the 32-bit words at positions 0..n-1."""
    return words(keys, n, stream)


def unit(keys: torch.Tensor, n: int, stream: int = 0, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """``(B, n)`` uniforms in (0, 1): ``(word + 0.5) / 2**32``."""
    return (uniform32(keys, n, stream).to(torch.float64) + 0.5).mul_(2.0 ** -32).to(dtype)
