"""torch kernels of the tabular transforms (any device), with the fitted statistics as device
tensors: the cell positions, hit thresholds, alias draws and float arithmetic of the numba
kernels, so on CPU tensors they give the same values. ``stats: batch`` (statistics of each
sample's own table) runs on numpy arrays and CPU tensors only. torch loads when a kernel first
runs. Each kernel returns ``(table, mask of corrupted cells)``."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..core.errors import InputError
from ..core.kernels import col, kernel
from .gaussian import GaussianNoise
from .kernels import thresholds
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

    return torch.from_numpy(np.ascontiguousarray(v)).to(x.device)


@kernel(GaussianNoise, "torch")
def gaussian(t: GaussianNoise, x: Any, params: dict[str, Any], ctx: Any) -> tuple[Any, Any]:
    import torch

    from ..torch import philox

    r = _resolved(t, x, ctx, params)
    kinds = r.stats.kind_array()
    noisy = r.enabled & np.isin(kinds, ("continuous", "integer"))
    std = np.where(noisy, r.stats.std, 0.0).astype(np.dtype(str(x.dtype).replace("torch.", "")))
    is_int = kinds == "integer"
    lo = np.where(is_int, np.ceil(r.lo), r.lo)
    hi = np.where(is_int, np.floor(r.hi), r.hi)
    post = (std > 0) & (is_int | np.isfinite(lo) | np.isfinite(hi))
    b, rows, m = x.shape
    scale = _cols(col(params["scale"]), x)
    sigma = (scale[:, None] * _cols(std, x).to(torch.float64)[None, :]).to(x.dtype)[:, None, :]
    z = philox.normals(philox.keys_tensor(params["key"], x.device), rows * m).reshape(b, rows, m)
    v = x + sigma * z.to(x.dtype)
    rounded = torch.where(_cols(is_int, x), torch.round(v), v)
    clipped = torch.minimum(torch.maximum(rounded, _cols(lo, x).to(x.dtype)), _cols(hi, x).to(x.dtype))
    y = torch.where(_cols(post, x) & ~torch.isnan(v), clipped, v)
    mask = (sigma > 0) & ~torch.isnan(x)
    return y, mask


def _replace(t: Any, x: Any, params: dict[str, Any], p: np.ndarray, r: Any, const: np.ndarray | None) -> tuple[Any, Any]:
    import torch

    from ..torch import philox

    b, rows, m = x.shape
    words = philox.uniform32(philox.keys_tensor(params["key"], x.device), 2 * rows * m).reshape(b, rows, m, 2)
    th = _cols(thresholds(p).view(np.int64), x)[:, None, None]
    hit = (words[..., 0] < th) & _cols(r.enabled, x) & ~torch.isnan(x)
    if const is not None:
        return torch.where(hit, _cols(const, x).to(x.dtype), x), hit
    off, values, prob, alias = r.stats.alias()
    off_t = _cols(off, x)
    size = off_t[1:] - off_t[:-1]
    hit = hit & (size > 0)
    prod = words[..., 1] * size  # < 2**40: exact in int64
    slot = torch.clamp(off_t[:-1] + (prod >> 32), max=max(len(values) - 1, 0))
    coin = (prod & 0xFFFFFFFF).to(torch.float64) / 4294967296.0
    vals = _cols(values, x).to(x.dtype)
    first = vals[slot]
    other = vals[torch.clamp(off_t[:-1] + _cols(alias, x)[slot], max=max(len(values) - 1, 0))]
    donor = torch.where(coin < _cols(prob, x)[slot], first, other)
    return torch.where(hit, donor, x), hit


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
