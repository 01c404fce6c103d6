"""numba kernels of image.MultiplicativeNoise and the draws of the other additive modes
(imported on first use, since it imports numba; see :mod:`augnoise.image.additive`).

Per value (or per pixel when the channels share a draw) the multiplier ``m0 + m1 * z`` takes
``z`` from a 65,536-entry inverse-CDF table of the distribution, indexed by the 16-bit lanes of
stream 0 at the canonical HWC position, as image.GaussianNoise draws its normals: with
``m0 = 1`` and the Gaussian table it is image.SpeckleNoise's arithmetic, value for value."""
from __future__ import annotations

import functools

import numba as nb
import numpy as np

from ..core._philox_numba import key_words, normals
from ..core.philox import CHUNK
from ._numba import chunk_normals, chunk_pixels, row, scratch, store

u64 = np.uint64
jit = functools.partial(nb.njit, cache=True, nogil=True, boundscheck=False, error_model="numpy")


@nb.njit(inline="always")
def multiply(s, d, a, m0, m1, inv, maxval):
    for i in range(s.shape[0]):
        store(d, i, np.float64(s[i]) * inv * (m0 + m1 * np.float64(a[i])), maxval)


@nb.njit(inline="always")
def mult_one(s_all, d_all, table, m0, m1, key, maxval, channels, cf, shared, noise, al, words):
    k0, k1 = key_words(key)
    inv = 1.0 / maxval if maxval > 0.0 else 1.0
    pixels = s_all.shape[0] // channels
    pc = chunk_pixels(channels)
    for p0 in range(0, pixels, pc):
        m = min(pc, pixels - p0)
        a = chunk_normals(noise, al, words, table, k0, k1, p0, m, channels, cf, shared)
        if cf:
            for c in range(channels):
                seg = slice(c * pixels + p0, c * pixels + p0 + m)
                multiply(s_all[seg], d_all[seg], a[row(c, m, shared):row(c, m, shared) + m], m0, m1, inv, maxval)
        else:
            seg = slice(p0 * channels, (p0 + m) * channels)
            multiply(s_all[seg], d_all[seg], a[:m * channels], m0, m1, inv, maxval)


@jit
def mult(src, dst, table, m0s, m1s, keys, maxval, channels, cf, shared):
    noise, al, words = scratch(channels)
    for b in range(src.shape[0]):
        mult_one(src[b], dst[b], table, m0s[b], m1s[b], keys[b], maxval, channels, cf, shared, noise, al, words)


@jit
def mult1(src, dst, table, m0, m1, key, maxval, channels, cf, shared):
    noise, al, words = scratch(channels)
    mult_one(src, dst, table, np.float64(m0), np.float64(m1), u64(key), maxval, channels, cf, shared, noise, al,
             words)


@jit
def draws(table, keys, count):
    """``(B, count)`` float32: the table values at positions 0 .. count - 1 of stream 0 of each
    key (the few draws of the per-channel and constant modes, and the padded fields of grain)."""
    out = np.empty((keys.shape[0], count), np.float32)
    words = np.empty(CHUNK // 2 + 8, np.uint32)
    for b in range(keys.shape[0]):
        k0, k1 = key_words(keys[b])
        for start in range(0, count, CHUNK):
            m = min(CHUNK, count - start)
            normals(out[b, start:start + m], words, table, k0, k1, start, m, 0)
    return out
