"""Pure tabular-noise kernels on 2-D float tables (rows x columns, NaN = missing).

Randomness is counter-based. Cell ``i = row * n_columns + column`` uses the 64-bit word
``mix(key + (i + 1) * gamma)``: its low 32 bits decide whether the cell is hit (exact threshold
``p * 2**32``), its high 32 bits pick the donor. Gaussian noise uses stream position ``i`` of
:mod:`augnoise.core.fastnormal`. So results are a pure function of (table, key), and each
kernel is one row-major pass over the table.

Weighted donor pools are sampled with Walker/Vose alias tables (built once per fitted
statistics): one 32-bit draw gives the slot (multiply-shift) and the coin (the product's low
bits); the bias of both is below 2**-24 for pools of at most 256 values.
"""
from __future__ import annotations

import functools

import numpy as np

from ..core import fastnormal

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
    two32 = 4294967296.0

    @nb.njit(cache=True, nogil=True, boundscheck=False)
    def gaussian(x, out, table, sigma, post, is_int, lo, hi, key):
        # v = x + sigma[j] * z: NaN stays NaN by arithmetic and sigma 0 leaves a value as it
        # is, so most cells take no branch. Only columns with post[j] (integer or bounded,
        # with noise) are rounded half to even and clipped to [lo[j], hi[j]].
        m = x.shape[1]
        flat_x = x.reshape(-1)
        flat_o = out.reshape(-1)
        noise = np.empty(block, np.float32)
        total = flat_x.size
        j0 = 0
        for start in range(0, total, block):
            cnt = min(block, total - start)
            fill(noise, table, key, start, cnt)
            j = j0
            for k in range(cnt):
                v = flat_x[start + k] + sigma[j] * noise[k]
                if post[j] and v == v:
                    if is_int[j]:
                        v = np.rint(v)
                    v = min(max(v, lo[j]), hi[j])
                flat_o[start + k] = v
                j += 1
                if j == m:
                    j = 0
            j0 = j

    @nb.njit(cache=True, nogil=True, boundscheck=False)
    def replace(x, out, mask, thresh, key, enabled, mode, const, off, values, prob, alias):
        # A hit (enabled, non-NaN) cell takes const[j] (mode 0) or a draw from column j's
        # alias table (mode 1); mask marks hit cells.
        n, m = x.shape
        for r in range(n):
            base = r * m
            for j in range(m):
                v = x[r, j]
                out[r, j] = v
                if not enabled[j] or v != v:
                    continue
                z = mix(u64(key) + gamma * u64(base + j + 1))
                if (z & low32) >= thresh:
                    continue
                if mode == 0:
                    out[r, j] = const[j]
                else:
                    a = off[j]
                    size = off[j + 1] - a
                    if size == 0:
                        continue
                    prod = (z >> s32) * u64(size)
                    slot = a + np.int64(prod >> s32)
                    coin = np.float64(prod & low32) / two32
                    out[r, j] = values[slot] if coin < prob[slot] else values[a + alias[slot]]
                mask[r, j] = True

    @nb.njit(cache=True, nogil=True, boundscheck=False)
    def swap_batch(x, out, mask, thresh, key, enabled, width):
        # Donor: another row, uniform among the rows where the column is not NaN. Columns are
        # processed ``width`` at a time through a column-major buffer (one row-major read and
        # one write of the table), so the random donor reads hit one contiguous column of
        # compressed non-NaN values instead of the whole row-major table.
        n, m = x.shape
        ld = n + 64  # padded rows: the buffer's rows do not alias the same cache sets
        colbuf = np.empty((width, ld), x.dtype)
        outbuf = np.empty((width, ld), x.dtype)
        mbuf = np.empty((width, ld), np.bool_)
        vals = np.empty(n, x.dtype)
        for jb in range(0, m, width):
            w = min(width, m - jb)
            for r in range(n):
                for c in range(w):
                    colbuf[c, r] = x[r, jb + c]
            for c in range(w):
                j = jb + c
                col = colbuf[c]
                ob = outbuf[c]
                mb = mbuf[c]
                k = 0
                for r in range(n):
                    v = col[r]
                    if v == v:
                        vals[k] = v
                        k += 1
                pos = 0
                for r in range(n):
                    v = col[r]
                    ob[r] = v
                    mb[r] = False
                    if v != v:
                        continue
                    mine = pos  # this row's place among the non-NaN rows
                    pos += 1
                    if not enabled[j] or k < 2:
                        continue
                    z = mix(u64(key) + gamma * u64(r * m + j + 1))
                    if (z & low32) >= thresh:
                        continue
                    d = np.int64(((z >> s32) * u64(k - 1)) >> s32)
                    if d >= mine:
                        d += 1  # skip itself
                    ob[r] = vals[d]
                    mb[r] = True
            for r in range(n):
                for c in range(w):
                    out[r, jb + c] = outbuf[c, r]
                    mask[r, jb + c] = mbuf[c, r]

    @nb.njit(cache=True, nogil=True)
    def count_inf(flat):
        c = 0
        for v in flat:
            if v - v != 0.0 and v == v:
                c += 1
        return c

    @nb.njit(cache=True)
    def build_alias(counts):
        # Vose's alias method for one pool; returns (prob, alias)
        k = counts.size
        prob = np.empty(k, np.float64)
        alias = np.zeros(k, np.int64)
        total = counts.sum()
        scaled = counts.astype(np.float64) * k / total
        small = np.empty(k, np.int64)
        large = np.empty(k, np.int64)
        ns = nl = 0
        for i in range(k):
            if scaled[i] < 1.0:
                small[ns] = i
                ns += 1
            else:
                large[nl] = i
                nl += 1
        while ns > 0 and nl > 0:
            ns -= 1
            s = small[ns]
            nl -= 1
            g = large[nl]
            prob[s] = scaled[s]
            alias[s] = g
            scaled[g] = scaled[g] + scaled[s] - 1.0
            if scaled[g] < 1.0:
                small[ns] = g
                ns += 1
            else:
                large[nl] = g
                nl += 1
        for t in range(nl):
            prob[large[t]] = 1.0
        for t in range(ns):
            prob[small[t]] = 1.0
        return prob, alias

    return dict(gaussian=gaussian, replace=replace, swap_batch=swap_batch,
                count_inf=count_inf, build_alias=build_alias)


def _key(key: int) -> np.uint64:
    return np.uint64(int(key) & 0xFFFFFFFFFFFFFFFF)


def threshold(p: float) -> np.uint64:
    """32-bit hit threshold for probability ``p`` (p = 1 hits every cell)."""
    return np.uint64(min(int(round(p * 2**32)), 2**32))


def count_inf(x: np.ndarray) -> int:
    """Number of +-inf values in a float array (one pass, no temporary)."""
    return int(_jit()["count_inf"](np.ascontiguousarray(x).reshape(-1)))


def alias_tables(values: list[np.ndarray], counts: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Flattened (offsets, values, prob, alias) of every column's weighted pool."""
    build = _jit()["build_alias"]
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


def gaussian_noise(x: np.ndarray, sigma: np.ndarray, is_int: np.ndarray, lo: np.ndarray, hi: np.ndarray, key: int) -> np.ndarray:
    """Per-column additive Gaussian noise (see module doc); returns a new table."""
    x = np.ascontiguousarray(x)
    out = np.empty_like(x)
    dt = x.dtype.type
    post = (sigma > 0) & (is_int | np.isfinite(lo) | np.isfinite(hi))
    _jit()["gaussian"](x, out, fastnormal.gaussian_table(), sigma.astype(dt), post, is_int.astype(np.bool_),
                       lo.astype(dt), hi.astype(dt), _key(key))
    return out


def replace_cells(x: np.ndarray, p: float, key: int, enabled: np.ndarray, *, const: np.ndarray | None = None,
                  alias: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Replace each enabled non-NaN cell with probability ``p`` by ``const[column]`` or by a
    draw from the column's pool (``alias`` from :func:`alias_tables`). Returns (table, mask)."""
    x = np.ascontiguousarray(x)
    out = np.empty_like(x)
    mask = np.zeros(x.shape, np.bool_)
    m = x.shape[1]
    if alias is not None:
        off, values, prob, al = alias
        _jit()["replace"](x, out, mask, threshold(p), _key(key), enabled.astype(np.bool_), 1,
                          np.zeros(m, x.dtype), off, values.astype(x.dtype), prob, al)
    else:
        assert const is not None
        _jit()["replace"](x, out, mask, threshold(p), _key(key), enabled.astype(np.bool_), 0,
                          const.astype(x.dtype), np.zeros(m + 1, np.int64), np.zeros(1, x.dtype),
                          np.zeros(1), np.zeros(1, np.int64))
    return out, mask


def swap_within(x: np.ndarray, p: float, key: int, enabled: np.ndarray, width: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Swap noise with donors from other rows of ``x`` itself. Returns (table, mask)."""
    x = np.ascontiguousarray(x)
    out = np.empty_like(x)
    mask = np.empty(x.shape, np.bool_)
    _jit()["swap_batch"](x, out, mask, threshold(p), _key(key), enabled.astype(np.bool_), int(width))
    return out, mask
