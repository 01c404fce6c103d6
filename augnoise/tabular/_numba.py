"""numba kernels of the tabular transforms (imported on first use, since it imports numba; see
:mod:`augnoise.tabular.kernels`). Module-level functions, so numba's on-disk cache serves
every process."""
from __future__ import annotations

import numba as nb
import numpy as np

from ..core._philox_numba import fill_words, key_words, normals, uniforms
from ..core.philox import CHUNK


u64 = np.uint64
low32 = np.uint64(0xFFFFFFFF)
s32 = np.uint64(32)
two32 = 4294967296.0
half = CHUNK // 2


@nb.njit(inline="always")
def words_at(buf, tmp, k0, k1, first, count):
    # buf[:count] = stream-0 words first .. first + count - 1 (any first)
    off = first & 3
    fill_words(tmp, k0, k1, first >> 2, (off + count + 3) >> 2, 0)
    for i in range(count):
        buf[i] = tmp[off + i]


@nb.njit(cache=True, nogil=True, boundscheck=False)
def gaussian(x, out, table, scale, std, post, is_int, lo, hi, fmax, keys):
    # Float tables: v = x + scale[b] * std[j] * z. A cell whose sigma is 0 (column without
    # noise) or that is NaN is copied as it is (its bytes, -0.0 and NaN payloads included).
    # A sum past the dtype's finite range saturates at +-fmax (never inf). Only columns with
    # post[j] (integer or bounded, with noise) are rounded half to even and clipped to
    # [lo[j], hi[j]].
    m = std.shape[0]
    n = x.shape[1]
    noise = np.empty(CHUNK, np.float32)
    words = np.empty(half + 4, np.uint32)
    sigma = np.empty(m, x.dtype)
    for b in range(x.shape[0]):
        k0, k1 = key_words(keys[b])
        for j in range(m):
            sigma[j] = scale[b] * std[j]
        xs = x[b]
        os_ = out[b]
        j0 = 0
        for start in range(0, n, CHUNK):
            cnt = min(CHUNK, n - start)
            normals(noise, words, table, k0, k1, start, cnt, 0)
            j = j0
            for k in range(cnt):
                xv = xs[start + k]
                s = sigma[j]
                if s == 0 or xv != xv:
                    os_[start + k] = xv
                else:
                    v = xv + s * noise[k]
                    if v > fmax:
                        v = fmax
                    elif v < -fmax:
                        v = -fmax
                    if post[j]:
                        if is_int[j]:
                            v = np.rint(v)
                        v = min(max(v, lo[j]), hi[j])
                    os_[start + k] = v
                j += 1
                if j == m:
                    j = 0
            j0 = j


two64 = 18446744073709551616.0
umax = np.uint64(0xFFFFFFFFFFFFFFFF)
two63 = 9223372036854775808.0


@nb.njit(inline="always")
def add_saturated(u, d, lo_, hi_):
    # clamp(u + d, lo_, hi_) for u in [0, 2**64) and an integral float d, exactly
    if abs(d) < two63:  # the common case: a wrapping add, the wrap tells the side
        di = np.int64(d)
        r = u + u64(di)
        r = umax if (di >= 0) & (r < u) else r
        r = u64(0) if (di < 0) & (r > u) else r
        return min(max(r, lo_), hi_)
    if d > 0:
        du = umax if d >= two64 else u64(d)
        return hi_ if (u >= hi_ or du >= hi_ - u) else max(u + du, lo_)
    du = umax if -d >= two64 else u64(-d)
    return lo_ if (u <= lo_ or du >= u - lo_) else min(u - du, hi_)


@nb.njit(cache=True, nogil=True, boundscheck=False)
def gaussian_int(x, out, table, scale, std, flip, ulo, uhi, keys):
    # Integer tables, exactly: each value as u = x - dtype.min in uint64 (signed: the two's
    # complement bits with the sign bit flipped, ``flip``; unsigned: ``flip`` 0). A noisy cell
    # becomes x + round-half-to-even(sigma * z), added in exact integer arithmetic and
    # saturated at [ulo[j], uhi[j]] (the dtype's range met with the declared bounds); cells
    # of columns without noise are copied.
    m = std.shape[0]
    n = x.shape[1]
    noise = np.empty(CHUNK, np.float32)
    words = np.empty(half + 4, np.uint32)
    sigma = np.empty(m, np.float64)
    for b in range(x.shape[0]):
        k0, k1 = key_words(keys[b])
        for j in range(m):
            sigma[j] = scale[b] * std[j]
        xs = x[b]
        os_ = out[b]
        j0 = 0
        for start in range(0, n, CHUNK):
            cnt = min(CHUNK, n - start)
            normals(noise, words, table, k0, k1, start, cnt, 0)
            j = j0
            for k in range(cnt):
                xv = xs[start + k]
                if sigma[j] == 0:
                    os_[start + k] = xv
                else:
                    u = u64(np.int64(xv)) ^ flip  # int64(xv): the bits of any integer dtype
                    r = add_saturated(u, np.rint(sigma[j] * noise[k]), ulo[j], uhi[j])
                    os_[start + k] = np.int64(r ^ flip)
                j += 1
                if j == m:
                    j = 0
            j0 = j


@nb.njit(cache=True, nogil=True, boundscheck=False)
def replace(x, out, mask, thresh, keys, enabled, mode, const, off, values, prob, alias):
    # A hit (enabled, non-NaN) cell takes const[j] (mode 0) or a draw from column j's
    # alias table (mode 1); mask marks hit cells.
    m = enabled.shape[0]
    n = x.shape[1]
    buf = np.empty(CHUNK + 8, np.uint32)
    for b in range(x.shape[0]):
        k0, k1 = key_words(keys[b])
        th = thresh[b]
        xs = x[b]
        os_ = out[b]
        ms = mask[b]
        j = 0
        for start in range(0, n, half):
            cnt = min(half, n - start)
            uniforms(buf, k0, k1, 2 * start, 2 * cnt, 0)
            for k in range(cnt):
                c = start + k
                v = xs[c]
                os_[c] = v
                ms[c] = False
                jj = j
                j += 1
                if j == m:
                    j = 0
                if not enabled[jj] or v != v or u64(buf[2 * k]) >= th:
                    continue
                if mode == 0:
                    os_[c] = const[jj]
                else:
                    a = off[jj]
                    size = off[jj + 1] - a
                    if size == 0:
                        continue
                    prod = u64(buf[2 * k + 1]) * u64(size)
                    slot = a + np.int64(prod >> s32)
                    coin = np.float64(prod & low32) / two32
                    os_[c] = values[slot] if coin < prob[slot] else values[a + alias[slot]]
                ms[c] = True


@nb.njit(cache=True, nogil=True, boundscheck=False)
def swap_table(x, out, mask, thresh, key, enabled, width):
    # One table sample (R rows x M columns, R >= 2). Donor: another row, uniform among the
    # rows where the column is not NaN. Columns are processed ``width`` at a time through
    # column-major buffers (one row-major read and one write of the table), so the random
    # donor reads hit one contiguous column of compressed non-NaN values.
    n, m = x.shape
    k0, k1 = key_words(key)
    ld = n + 64  # padded rows: the buffer's rows do not alias the same cache sets
    colbuf = np.empty((width, ld), x.dtype)
    outbuf = np.empty((width, ld), x.dtype)
    mbuf = np.empty((width, ld), np.bool_)
    hits = np.empty((width, ld), np.uint32)
    donors = np.empty((width, ld), np.uint32)
    vals = np.empty(n, x.dtype)
    wb = np.empty(2 * width + 8, np.uint32)
    tmp = np.empty(2 * width + 16, np.uint32)
    for jb in range(0, m, width):
        w = min(width, m - jb)
        for r in range(n):
            words_at(wb, tmp, k0, k1, 2 * (r * m + jb), 2 * w)
            for c in range(w):
                colbuf[c, r] = x[r, jb + c]
                hits[c, r] = wb[2 * c]
                donors[c, r] = wb[2 * c + 1]
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
                if not enabled[j] or k < 2 or u64(hits[c, r]) >= thresh:
                    continue
                d = np.int64((u64(donors[c, r]) * u64(k - 1)) >> s32)
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
