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
"""
from __future__ import annotations


import numpy as np

from ..core import philox

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
    """Number of +-inf values in a float array (one pass, no temporary)."""
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


def _keys(keys: np.ndarray) -> np.ndarray:
    return np.asarray(keys, np.uint64).reshape(-1)


def gaussian_noise(x: np.ndarray, scale: np.ndarray, std: np.ndarray, is_int: np.ndarray, lo: np.ndarray,
                   hi: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Per-column additive Gaussian noise on ``(B, R, M)`` (see the module doc): sample b's
    column j gets std ``scale[b] * std[j]``; returns a new array."""
    x = np.ascontiguousarray(x)
    out = np.empty_like(x)
    b = x.shape[0]
    dt = x.dtype.type
    post = (std > 0) & (is_int | np.isfinite(lo) | np.isfinite(hi))
    _nb().gaussian(x.reshape(b, -1), out.reshape(b, -1), philox.gaussian_table(), np.asarray(scale, np.float64),
                       std.astype(dt), post, is_int.astype(np.bool_), lo.astype(dt), hi.astype(dt), _keys(keys))
    return out


def replace_cells(x: np.ndarray, p: np.ndarray, keys: np.ndarray, enabled: np.ndarray, *,
                  const: np.ndarray | None = None,
                  alias: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Replace each enabled non-NaN cell of sample b of ``(B, R, M)`` with probability ``p[b]``
    by ``const[column]`` or by a draw from the column's pool (``alias`` from
    :func:`alias_tables`). Returns (new array, mask)."""
    x = np.ascontiguousarray(x)
    b, m = x.shape[0], x.shape[2]
    out = np.empty_like(x)
    mask = np.empty(x.shape, np.bool_)
    flat = (x.reshape(b, -1), out.reshape(b, -1), mask.reshape(b, -1), thresholds(p), _keys(keys),
            enabled.astype(np.bool_))
    if alias is not None:
        off, values, prob, al = alias
        _nb().replace(*flat, 1, np.zeros(m, x.dtype), off, values.astype(x.dtype), prob, al)
    else:
        assert const is not None
        _nb().replace(*flat, 0, const.astype(x.dtype), np.zeros(m + 1, np.int64), np.zeros(1, x.dtype),
                          np.zeros(1), np.zeros(1, np.int64))
    return out, mask


def swap_within(x: np.ndarray, p: float, key: int, enabled: np.ndarray, width: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Swap noise on one table ``(R, M)`` with donors from its other rows. Returns (table, mask)."""
    x = np.ascontiguousarray(x)
    out = np.empty_like(x)
    mask = np.empty(x.shape, np.bool_)
    _nb().swap_table(x, out, mask, thresholds(p)[0], np.uint64(int(key) & 0xFFFFFFFFFFFFFFFF),
                         enabled.astype(np.bool_), int(width))
    return out, mask
