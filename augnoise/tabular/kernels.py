"""Tabular-noise kernels on batches of tables ``(B, R * M)`` (B samples of R rows by M columns,
flattened per sample; NaN = missing), one 64-bit key per sample.

Randomness is counter-based (the Philox streams of :mod:`augnoise.core.philox`). Cell
``p = r * M + j`` of a sample uses normal ``p`` (Gaussian noise), or 32-bit words ``2p`` (the
hit test: exact threshold ``p * 2**32``) and ``2p + 1`` (the donor). So a result is a pure
function of (sample, key), a row alone gives the same numbers as the same row keyed alone in a
batch of rows, and each kernel is one row-major pass.

Weighted donor pools are sampled with Walker/Vose alias tables (built once per fitted
statistics): one 32-bit draw gives the slot (multiply-shift) and the coin (the product's low
bits); the bias of both is below 2**-24 for pools of at most 256 values.

Exactness: a cell a kernel does not change is copied with its bytes (-0.0 and NaN payloads
included), for every dtype. Integer tables are computed in integer arithmetic (no float64 round
trip) and saturate at the dtype's range; replacement values (pool donors, fills) are rounded and
saturated into the dtype. Float sums past the dtype's finite range saturate at its largest
value; float16 runs through float32.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..core import philox
from ..core.errors import InputError, escape

CHUNK = philox.CHUNK


def _nb():
    """The numba kernels (:mod:`augnoise.tabular._numba`, compiled or loaded on first use)."""
    from . import _numba

    return _numba


def thresholds(p: np.ndarray) -> np.ndarray:
    """32-bit hit thresholds ``round(p * 2**32)`` per sample (p = 1 hits every cell)."""
    p = np.asarray(p, np.float64).reshape(-1)
    return np.minimum(np.rint(p * 4294967296.0), 4294967296.0).astype(np.uint64)


def count_inf(x: np.ndarray) -> int:
    """Number of +-inf values in a float array (one pass, no temporary; float16 through numpy)."""
    if _half(x):
        return int(np.isinf(x).sum())
    return int(_nb().count_inf(np.ascontiguousarray(x).reshape(-1)))


def alias_tables(values: list[np.ndarray], counts: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Flattened (offsets, values, prob, alias) of every column's weighted pool."""
    build = _nb().build_alias
    off = np.cumsum([0] + [len(v) for v in values]).astype(np.int64)
    probs, aliases = [], []
    for c in counts:
        if len(c):
            pr, al = build(np.asarray(c, np.int64))
        else:
            pr, al = np.zeros(0), np.zeros(0, np.int64)
        probs.append(pr)
        aliases.append(al)
    cat = (lambda parts, dt: np.concatenate(parts).astype(dt) if off[-1] else np.zeros(1, dt))
    return off, cat(values, np.float64), cat(probs, np.float64), cat(aliases, np.int64)


def _half(x: np.ndarray) -> bool:
    return x.dtype.kind == "f" and x.dtype.itemsize < 4


def _keys(keys: np.ndarray) -> np.ndarray:
    return np.asarray(keys, np.uint64).reshape(-1)


def compute_dtype(dtype: Any) -> np.dtype:
    """The dtype tabular kernels compute a float table of ``dtype`` in (float16 in float32)."""
    dt = np.dtype(dtype)
    return np.dtype(np.float32) if dt.itemsize < 4 else dt


def saturate(v: np.ndarray, dtype: Any) -> np.ndarray:
    """Float values ``v`` as ``dtype``: integers rounded half to even and saturated at the
    dtype's range (float64 cannot hold 2**63 - 1: the top is handled exactly), floats
    saturated at the dtype's finite range (NaN stays NaN) so a finite value never becomes inf."""
    dt = np.dtype(dtype)
    v = np.asarray(v, np.float64)
    if dt.kind == "f":
        top = float(np.finfo(dt).max)
        return np.clip(v, -top, top).astype(dt)
    info = np.iinfo(dt)
    r = np.rint(v)
    top = float(info.max)
    if int(top) > info.max:  # 2**63 - 1 and 2**64 - 1 round up in float64
        top = float(np.nextafter(top, 0.0))
    out = np.clip(r, float(info.min), top).astype(dt)
    out[r > top] = info.max
    return out


def int_bounds(dtype: Any, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column integer bounds ``[ceil(lo), floor(hi)]`` met with ``dtype``'s range, as
    exact Python integers (an empty meet keeps the nearer end)."""
    info = np.iinfo(np.dtype(dtype))
    los, his = [], []
    for a, b in zip(np.asarray(lo, np.float64), np.asarray(hi, np.float64)):
        la = info.min if not np.isfinite(a) else min(max(math.ceil(a), info.min), info.max)
        hb = info.max if not np.isfinite(b) else min(max(math.floor(b), info.min), info.max)
        los.append(la)
        his.append(max(hb, la))
    return np.array(los, object), np.array(his, object)


def check_sigma(std: np.ndarray, scale_hi: float, dtype: Any, names: Any = None) -> None:
    """Refuse a noise std ``scale_hi * std`` that overflows the compute dtype (float tables
    of values near the dtype's maximum): one :class:`InputError` naming the column."""
    ct = compute_dtype(dtype) if np.dtype(dtype).kind == "f" else np.dtype(np.float64)
    top = float(np.finfo(ct).max)
    with np.errstate(over="ignore", invalid="ignore"):
        sig = np.asarray(std, np.float64) * float(scale_hi)
    bad = np.flatnonzero(~(np.abs(sig) <= top))
    if bad.size:
        j = int(bad[0])
        label = repr(escape(names[j], 80)) if names is not None and j < len(names) else str(j)
        raise InputError(f"column {label}: noise std {float(scale_hi):g} x {float(std[j]):.6g} overflows {ct} "
                         f"(its largest value is {top:.6g}); rescale the column or lower scale")


def gaussian_noise(x: np.ndarray, scale: np.ndarray, std: np.ndarray, is_int: np.ndarray, lo: np.ndarray,
                   hi: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Per-column additive Gaussian noise on ``(B, R, M)`` (see the module doc): sample b's
    column j gets std ``scale[b] * std[j]``; returns a new array of ``x``'s dtype.

    Float tables (float32, float64; float16 computes in float32): cells without noise and NaN
    cells keep their bytes; sums beyond the finite range saturate at the dtype's largest value.
    Integer tables are computed exactly: a noisy cell is ``x`` plus the noise ``sigma * z``
    rounded half to even, added in exact integer arithmetic (no float64 round trip, so int64
    beyond 2**53 keeps every digit) and saturated at the dtype's range and the declared
    bounds."""
    x = np.ascontiguousarray(x)
    b = x.shape[0]
    keys = _keys(keys)
    scale = np.asarray(scale, np.float64)
    if x.dtype.kind in "iu":
        out = np.empty_like(x)
        lo_i, hi_i = int_bounds(x.dtype, lo, hi)
        signed = x.dtype.kind == "i"
        flip = 1 << 63 if signed else 0
        ulo = np.array([(v + flip) & 0xFFFFFFFFFFFFFFFF for v in lo_i], np.uint64)  # u = x - min (mod 2**64)
        uhi = np.array([(v + flip) & 0xFFFFFFFFFFFFFFFF for v in hi_i], np.uint64)
        _nb().gaussian_int(x.reshape(b, -1), out.reshape(b, -1), philox.gaussian_table(), scale,
                           np.asarray(std, np.float64), np.uint64(flip), ulo, uhi, keys)
        return out
    ct = compute_dtype(x.dtype)
    xc = x.astype(ct, copy=False)
    out = np.empty_like(xc)
    dt = ct.type
    post = (std > 0) & (is_int | np.isfinite(lo) | np.isfinite(hi))
    lo_c, hi_c = inward(lo, hi, ct)
    _nb().gaussian(xc.reshape(b, -1), out.reshape(b, -1), philox.gaussian_table(), scale,
                   std.astype(dt), post, is_int.astype(np.bool_), lo_c, hi_c, dt(np.finfo(ct).max), keys)
    return out if ct == x.dtype else saturate(out, x.dtype)


def inward(lo: np.ndarray, hi: np.ndarray, dtype: Any) -> tuple[np.ndarray, np.ndarray]:
    """Bounds as ``dtype`` rounded inwards (a clipped value never lies outside the declared
    bounds after the cast)."""
    dt = np.dtype(dtype)
    top = float(np.finfo(dt).max)
    lo64, hi64 = (np.asarray(v, np.float64) for v in (lo, hi))
    lo64, hi64 = (np.where(np.isfinite(v), np.clip(v, -top, top), v) for v in (lo64, hi64))
    lc, hc = lo64.astype(dt), hi64.astype(dt)
    lc = np.where(lc.astype(np.float64) < lo64, np.nextafter(lc, dt.type(np.inf)), lc).astype(dt)
    hc = np.where(hc.astype(np.float64) > hi64, np.nextafter(hc, dt.type(-np.inf)), hc).astype(dt)
    return lc, hc


def replace_cells(x: np.ndarray, p: np.ndarray, keys: np.ndarray, enabled: np.ndarray, *,
                  const: np.ndarray | None = None,
                  alias: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Replace each enabled non-NaN cell of sample b of ``(B, R, M)`` with probability ``p[b]``
    by ``const[column]`` or by a draw from the column's pool (``alias`` from
    :func:`alias_tables`). Returns (new array, mask)."""
    if _half(x):
        y, mask = replace_cells(x.astype(np.float32), p, keys, enabled, const=const, alias=alias)
        return saturate(y, x.dtype), mask
    x = np.ascontiguousarray(x)
    b, m = x.shape[0], x.shape[2]
    out = np.empty_like(x)
    mask = np.empty(x.shape, np.bool_)
    flat = (x.reshape(b, -1), out.reshape(b, -1), mask.reshape(b, -1), thresholds(p), _keys(keys),
            enabled.astype(np.bool_))
    if alias is not None:
        off, values, prob, al = alias
        _nb().replace(*flat, 1, np.zeros(m, x.dtype), off, saturate(values, x.dtype), prob, al)
    else:
        assert const is not None
        _nb().replace(*flat, 0, saturate(const, x.dtype), np.zeros(m + 1, np.int64), np.zeros(1, x.dtype),
                          np.zeros(1), np.zeros(1, np.int64))
    return out, mask


def swap_within(x: np.ndarray, p: float, key: int, enabled: np.ndarray, width: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Swap noise on one table ``(R, M)`` with donors from its other rows (the input's dtype,
    values copied exactly). Returns (table, mask)."""
    if _half(x):
        y, mask = swap_within(x.astype(np.float32), p, key, enabled, width)
        return y.astype(x.dtype), mask
    x = np.ascontiguousarray(x)
    out = np.empty_like(x)
    mask = np.empty(x.shape, np.bool_)
    _nb().swap_table(x, out, mask, thresholds(p)[0], np.uint64(int(key) & 0xFFFFFFFFFFFFFFFF),
                         enabled.astype(np.bool_), int(width))
    return out, mask
