"""Pure tabular-noise kernels on 2-D float tables (rows x columns, NaN = missing).

Randomness is counter-based: cell ``i = row * n_columns + column`` uses the 64-bit word
``mix(key + (i + 1) * gamma)`` (its low 32 bits decide whether the cell is hit, the high 32 bits
pick the donor), or, for Gaussian noise, stream position ``i`` of :mod:`augnoise.core.fastnormal`.
So the result is a pure function of (table, key), and one pass does the whole table.
"""
from __future__ import annotations

import functools

import numpy as np

from ..core import fastnormal

MODE_CONST, MODE_POOL = 0, 1


@functools.lru_cache(maxsize=1)
def _jit():
    import numba as nb

    fn = fastnormal.jit()
    fill, mix = fn.fill, fn.mix
    block = fastnormal.BLOCK
    u64 = nb.uint64
    gamma = np.uint64(fastnormal.GOLDEN_GAMMA)
    low32 = np.uint64(0xFFFFFFFF)
    s32 = np.uint64(32)

    @nb.njit(cache=True, nogil=True, boundscheck=False)
    def gaussian(x, out, table, sigma, is_int, lo, hi, key):
        # sigma[j] = noise std of column j (0: untouched); integer columns rounded half to
        # even; then clipped to [lo[j], hi[j]]. NaN stays NaN.
        n, m = x.shape
        flat_x = x.reshape(-1)
        flat_o = out.reshape(-1)
        noise = np.empty(block, np.float32)
        total = n * m
        for start in range(0, total, block):
            cnt = min(block, total - start)
            fill(noise, table, key, start, cnt)
            for k in range(cnt):
                i = start + k
                j = i % m
                v = flat_x[i]
                s = sigma[j]
                if s > 0.0 and v == v:
                    v = v + s * noise[k]
                    if is_int[j]:
                        v = np.rint(v)
                    v = min(max(v, lo[j]), hi[j])
                flat_o[i] = v

    @nb.njit(inline="always")
    def pick(h, k):
        # uniform integer in [0, k) from 32 random bits (multiply-shift; bias <= k / 2**32)
        return np.int64((h * u64(k)) >> s32)

    @nb.njit(cache=True, nogil=True, boundscheck=False)
    def replace(x, out, mask, thresh, key, enabled, mode, const, pool_off, pool_vals, pool_cum):
        # Each enabled, non-NaN cell is hit when its low 32 random bits < thresh; a hit cell
        # takes const[j] (MODE_CONST) or a draw from column j's weighted pool (MODE_POOL).
        n, m = x.shape
        for r in range(n):
            for j in range(m):
                i = r * m + j
                v = x[r, j]
                out[r, j] = v
                if not enabled[j] or v != v:
                    continue
                z = mix(u64(key) + gamma * u64(i + 1))
                if (z & low32) >= thresh:
                    continue
                if mode == 0:
                    out[r, j] = const[j]
                else:
                    a, b = pool_off[j], pool_off[j + 1]
                    if b == a:
                        continue
                    total = pool_cum[b - 1]
                    t = pick(z >> s32, total)
                    lo_, hi_ = a, b - 1  # first index with cum > t
                    while lo_ < hi_:
                        mid = (lo_ + hi_) >> 1
                        if pool_cum[mid] > t:
                            hi_ = mid
                        else:
                            lo_ = mid + 1
                    out[r, j] = pool_vals[lo_]
                mask[r, j] = True

    @nb.njit(cache=True, nogil=True, boundscheck=False)
    def swap_batch(x, out, mask, thresh, key, enabled):
        # A hit cell takes the same column's value from another row of the table, drawn
        # uniformly among the rows where that column is not NaN (never itself).
        n, m = x.shape
        out[:, :] = x
        for j in range(m):
            if not enabled[j]:
                continue
            full = True
            for r in range(n):
                if x[r, j] != x[r, j]:
                    full = False
                    break
            rows = np.empty(0, np.int64)
            if not full:
                rows = np.nonzero(x[:, j] == x[:, j])[0]
            k = n if full else rows.size
            if k < 2:
                continue
            for r in range(n):
                v = x[r, j]
                if v != v:
                    continue
                i = r * m + j
                z = mix(u64(key) + gamma * u64(i + 1))
                if (z & low32) >= thresh:
                    continue
                d = pick(z >> s32, k - 1)
                if full:
                    donor = d + 1 + r if d >= r else d  # skip self
                else:
                    pos = np.searchsorted(rows, r)  # self's place among the non-NaN rows
                    donor = rows[d + 1] if d >= pos else rows[d]
                out[r, j] = x[donor, j]
                mask[r, j] = True

    return gaussian, replace, swap_batch


def _key(key: int) -> np.uint64:
    return np.uint64(int(key) & 0xFFFFFFFFFFFFFFFF)


def threshold(p: float) -> np.uint64:
    """32-bit hit threshold for probability ``p`` (p = 1 hits every cell)."""
    return np.uint64(min(int(round(p * 2**32)), 2**32))


def gaussian_noise(x: np.ndarray, sigma: np.ndarray, is_int: np.ndarray, lo: np.ndarray, hi: np.ndarray, key: int) -> np.ndarray:
    """Per-column additive Gaussian noise (see module doc); returns a new table."""
    x = np.ascontiguousarray(x)
    out = np.empty_like(x)
    dt = x.dtype.type
    _jit()[0](x, out, fastnormal.gaussian_table(), sigma.astype(dt), is_int.astype(np.bool_),
              lo.astype(dt), hi.astype(dt), _key(key))
    return out


def replace_cells(x: np.ndarray, p: float, key: int, enabled: np.ndarray, *, const: np.ndarray | None = None,
                  pools: tuple[list[np.ndarray], list[np.ndarray]] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Replace each enabled non-NaN cell with probability ``p`` by ``const[column]`` or by a
    draw from the column's weighted pool ``(values, counts)``. Returns (table, mask)."""
    x = np.ascontiguousarray(x)
    out = np.empty_like(x)
    mask = np.zeros(x.shape, np.bool_)
    m = x.shape[1]
    if pools is not None:
        values, counts = pools
        off = np.cumsum([0] + [len(v) for v in values]).astype(np.int64)
        vals = np.concatenate(values).astype(x.dtype) if off[-1] else np.zeros(1, x.dtype)
        cum = np.concatenate([np.cumsum(c) for c in counts]).astype(np.int64) if off[-1] else np.zeros(1, np.int64)
        _jit()[1](x, out, mask, threshold(p), _key(key), enabled.astype(np.bool_), MODE_POOL,
                  np.zeros(m, x.dtype), off, vals, cum)
    else:
        assert const is not None
        _jit()[1](x, out, mask, threshold(p), _key(key), enabled.astype(np.bool_), MODE_CONST,
                  const.astype(x.dtype), np.zeros(m + 1, np.int64), np.zeros(1, x.dtype), np.zeros(1, np.int64))
    return out, mask


def swap_within(x: np.ndarray, p: float, key: int, enabled: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Swap noise with donors from other rows of ``x`` itself. Returns (table, mask)."""
    x = np.ascontiguousarray(x)
    out = np.empty_like(x)
    mask = np.zeros(x.shape, np.bool_)
    _jit()[2](x, out, mask, threshold(p), _key(key), enabled.astype(np.bool_))
    return out, mask
