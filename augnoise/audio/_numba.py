"""numba helpers of the audio kernels (imported on first use, since it imports numba).
Module-level functions, so numba's on-disk cache serves every process."""
from __future__ import annotations

import numba as nb
import numpy as np

from ..core._philox_numba import key_words, normals
from ..core.philox import CHUNK


chunk = CHUNK


@nb.njit(cache=True, nogil=True, boundscheck=False, fastmath={"reassoc", "contract"})
def mean_squares(x):
    # (B, C, N) -> (B, C) float64
    b_, c_, n = x.shape
    out = np.empty((b_, c_), np.float64)
    for b in range(b_):
        for i in range(c_):
            acc = 0.0
            row = x[b, i]
            for j in range(n):
                v = np.float64(row[j])
                acc += v * v
            out[b, i] = acc / n
    return out


@nb.njit(cache=True, nogil=True, boundscheck=False)
def stats(x):
    # (number of NaN/inf values, peak |x| over the finite ones), one pass
    bad = 0
    peak = 0.0
    for v in x:
        if v - v != 0.0:
            bad += 1
        elif abs(v) > peak:
            peak = abs(v)
    return bad, peak


@nb.njit(cache=True, nogil=True, boundscheck=False)
def white(keys, n, table):
    # (B, n) float32 standard normals, row b from key b
    out = np.empty((keys.shape[0], n), np.float32)
    words = np.empty(chunk // 2 + 4, np.uint32)
    for b in range(keys.shape[0]):
        k0, k1 = key_words(keys[b])
        row = out[b]
        for start in range(0, n, chunk):
            m = min(chunk, n - start)
            normals(row[start:start + m], words, table, k0, k1, start, m, 0)
    return out
