"""torch kernels of the tabular transforms (any device), with the fitted statistics as device
tensors: the cell positions, hit thresholds, alias draws and float arithmetic of the numba
kernels, so on CPU tensors they give the same values: float tables in their own dtype
(float16 and bfloat16 in float32, see :mod:`augnoise.tabular.frame`), integer tables in exact
integer arithmetic saturated at the dtype's range (uint16/32/64 through their signed bits). ``stats: batch`` (statistics of each
sample's own table) runs on numpy arrays and CPU tensors only. torch loads when a kernel first
runs. Each kernel returns ``(table, mask of corrupted cells)``."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..core.errors import InputError
from ..core.kernels import col, kernel
from .gaussian import GaussianNoise
from .kernels import check_sigma, int_bounds, inward, saturate, thresholds
from .mask import MaskNoise
from .swap import SwapNoise


def _fitted_only(t: Any) -> None:
    if t.params.stats != "fitted":
        raise InputError("stats: batch runs on numpy arrays and CPU tensors only; use fitted statistics on this device")


def _resolved(t: Any, x: Any, ctx: Any, params: dict[str, Any]) -> Any:
    _fitted_only(t)
    return t.resolve(params["_table"], ctx.section("tabular"), x[0])


def _cols(v: np.ndarray, x: Any) -> Any:
    import torch

    return torch.from_numpy(np.require(v, requirements=("C", "W"))).to(x.device)  # a read-only view is copied


def _np_dtype(dt: Any) -> np.dtype:
    return np.dtype(str(dt).replace("torch.", ""))


def _present(x: Any) -> Any:
    """Cells that hold a value (not NaN); every cell of an integer table."""
    import torch

    if x.is_floating_point():
        return ~torch.isnan(x)
    return torch.ones(x.shape, dtype=torch.bool, device=x.device)


_SAME_BITS = {"uint16": "int16", "uint32": "int32", "uint64": "int64"}


def _bits(x: Any) -> Any:
    """``x`` as a dtype torch can select on (unsigned 16/32/64-bit tensors: the signed view of
    the same bits), for ``torch.where`` and indexing."""
    import torch

    name = str(x.dtype).replace("torch.", "")
    return x.view(getattr(torch, _SAME_BITS[name])) if name in _SAME_BITS else x


def _unbits(y: Any, dtype: Any) -> Any:
    return y.view(dtype) if y.dtype != dtype else y


def _int_sum(x: Any, s: Any, lo_i: np.ndarray, hi_i: np.ndarray) -> Any:
    """``x + round-half-to-even(s)`` for an integer tensor ``x`` and float64 ``s``, in exact
    integer arithmetic and saturated at per-column bounds ``[lo_i, hi_i]`` (Python integers
    within the dtype's range): the numba kernel's result, with values split into 32-bit
    halves so that int64 never overflows (uint64 through its int64 bits)."""
    import torch

    unsigned64 = x.dtype == torch.uint64
    if unsigned64:
        bits = x.view(torch.int64)
        hi = (bits >> 32) & 0xFFFFFFFF
        lo = bits & 0xFFFFFFFF
    else:
        xi = x.to(torch.int64)
        hi = xi >> 32
        lo = xi & 0xFFFFFFFF
    d = torch.round(s).clamp(-(2.0 ** 65), 2.0 ** 65)  # the noise rounded half to even
    dh = torch.floor(d * 2.0 ** -32)
    dl = (d - dh * 2.0 ** 32).to(torch.int64)
    rl = lo + dl
    rh = hi + dh.to(torch.int64) + (rl >> 32)
    rl = rl & 0xFFFFFFFF
    halves = [np.array([v >> 32 for v in b], np.int64) for b in (lo_i, hi_i)] + \
             [np.array([v & 0xFFFFFFFF for v in b], np.int64) for b in (lo_i, hi_i)]
    lh, uh, ll, ul = (_cols(v, x) for v in halves)
    below = (rh < lh) | ((rh == lh) & (rl < ll))
    above = (rh > uh) | ((rh == uh) & (rl > ul))
    rh = torch.where(below, lh, torch.where(above, uh, rh))
    rl = torch.where(below, ll, torch.where(above, ul, rl))
    if unsigned64:
        return ((rh - 2 ** 31) * 2 ** 32 + rl) ^ (-(2 ** 63))  # the uint64 value's int64 bits
    return rh * 2 ** 32 + rl


@kernel(GaussianNoise, "torch")
def gaussian(t: GaussianNoise, x: Any, params: dict[str, Any], ctx: Any) -> tuple[Any, Any]:
    import torch

    from ..torch import philox

    r = _resolved(t, x, ctx, params)
    kinds = r.stats.kind_array()
    noisy = r.enabled & np.isin(kinds, ("continuous", "integer"))
    std64 = np.where(noisy, r.stats.std, 0.0)
    dt = _np_dtype(x.dtype)
    check_sigma(std64, t.scale_hi(), dt, r.stats.names)
    is_int = kinds == "integer"
    b, rows, m = x.shape
    scale = _cols(col(params["scale"]), x)
    z = philox.normals(philox.keys_tensor(params["key"], x.device), rows * m).reshape(b, rows, m)
    if not x.is_floating_point():  # exact integer arithmetic, saturated
        sigma = (scale[:, None] * _cols(std64, x)[None, :])[:, None, :]
        lo_i, hi_i = int_bounds(dt, r.lo, r.hi)
        noisy_cells = (sigma > 0) & _present(x)
        y = _int_sum(x, sigma * z.to(torch.float64), lo_i, hi_i)
        if x.dtype == torch.uint64:
            return _unbits(torch.where(noisy_cells, y, x.view(torch.int64)), torch.uint64), noisy_cells
        return torch.where(noisy_cells, y, x.to(torch.int64)).to(x.dtype), noisy_cells
    std = std64.astype(dt)
    lo, hi = inward(np.where(is_int, np.ceil(r.lo), r.lo), np.where(is_int, np.floor(r.hi), r.hi), dt)
    post = (std > 0) & (is_int | np.isfinite(lo) | np.isfinite(hi))
    sigma = (scale[:, None] * _cols(std, x).to(torch.float64)[None, :]).to(x.dtype)[:, None, :]
    top = float(np.finfo(dt).max)
    v = (x + sigma * z.to(x.dtype)).clamp(-top, top)
    rounded = torch.where(_cols(is_int, x), torch.round(v), v)
    clipped = torch.minimum(torch.maximum(rounded, _cols(lo, x)), _cols(hi, x))
    mask = (sigma > 0) & ~torch.isnan(x)
    y = torch.where(mask, torch.where(_cols(post, x), clipped, v), x)
    return y, mask


def _replace(t: Any, x: Any, params: dict[str, Any], p: np.ndarray, r: Any, const: np.ndarray | None) -> tuple[Any, Any]:
    import torch

    from ..torch import philox

    b, rows, m = x.shape
    dt = _np_dtype(x.dtype)
    xb = _bits(x)
    words = philox.uniform32(philox.keys_tensor(params["key"], x.device), 2 * rows * m).reshape(b, rows, m, 2)
    th = _cols(thresholds(p).view(np.int64), x)[:, None, None]
    hit = (words[..., 0] < th) & _cols(r.enabled, x) & _present(x)
    if const is not None:
        fill = _cols(saturate(const, dt).view(_np_dtype(xb.dtype)), x)
        return _unbits(torch.where(hit, fill, xb), x.dtype), hit
    off, values, prob, alias = r.stats.alias()
    off_t = _cols(off, x)
    size = off_t[1:] - off_t[:-1]
    hit = hit & (size > 0)
    prod = words[..., 1] * size  # < 2**40: exact in int64
    slot = torch.clamp(off_t[:-1] + (prod >> 32), max=max(len(values) - 1, 0))
    coin = (prod & 0xFFFFFFFF).to(torch.float64) / 4294967296.0
    vals = _cols(saturate(values, dt).view(_np_dtype(xb.dtype)), x)
    first = vals[slot]
    other = vals[torch.clamp(off_t[:-1] + _cols(alias, x)[slot], max=max(len(values) - 1, 0))]
    donor = torch.where(coin < _cols(prob, x)[slot], first, other)
    return _unbits(torch.where(hit, donor, xb), x.dtype), hit


@kernel(SwapNoise, "torch")
def swap(t: SwapNoise, x: Any, params: dict[str, Any], ctx: Any) -> tuple[Any, Any]:
    r = _resolved(t, x, ctx, params)
    return _replace(t, x, params, col(params["p_swap"]), r, None)


@kernel(MaskNoise, "torch")
def mask(t: MaskNoise, x: Any, params: dict[str, Any], ctx: Any) -> tuple[Any, Any]:
    r = _resolved(t, x, ctx, params)
    if t.params.fill == "marginal":
        return _replace(t, x, params, col(params["p_mask"]), r, None)
    return _replace(t, x, params, col(params["p_mask"]), r, t.fill_values(r.stats, x.shape[2]))
