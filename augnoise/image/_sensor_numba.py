"""numba kernel of image.SensorNoise (imported on first use, since it imports numba).

Per value at canonical HWC position ``pos`` of pixel ``p``: the Poisson part from stream 1
(counter blocks ``(pos, attempt)``, the shot-noise sampler), the Gaussian read noise (or, in the
Gaussian model, the whole noise) from the inverse-CDF table normals of stream 0 at ``pos`` (as
image.GaussianNoise draws them), the chroma noise from one block of stream 3 at ``p`` (two
Box-Muller normals, Cb and Cr, shared by the pixel's three channels)."""
from __future__ import annotations

import functools
import math

import numba as nb
import numpy as np

from ..core._philox_numba import block, key_words
from ._numba import chunk_normals, decode, encode, poisson, scratch, store, unit, chunk_pixels

u32 = np.uint32
u64 = np.uint64
jit = functools.partial(nb.njit, cache=True, nogil=True, boundscheck=False, error_model="numpy")
TWO_PI = 2.0 * math.pi
#: below this ``a`` the photon part (std <= 1e-6 of the range) is left out: x / a would not fit a count
A_MIN = 1e-12


@nb.njit(inline="always")
def normal_pair(stream, pos, k0, k1):
    w0, w1, w2, w3 = block(u32(u64(pos) & u64(0xFFFFFFFF)), u32(u64(pos) >> u64(32)), u32(stream), u32(0), k0, k1)
    r = math.sqrt(-2.0 * math.log(unit(w0)))
    t = TWO_PI * unit(w1)
    return r * math.cos(t), r * math.sin(t)


@nb.njit(inline="always")
def sensor_value(x, z, p, c, pos, a, sb, chroma, gaussian, k0, k1, linear):
    if linear:
        x = decode(x)
    if gaussian:  # heteroscedastic Gaussian: the same mean and variance, no Poisson skew
        v = a * x + sb * sb
        y = x + math.sqrt(v if v > 0.0 else 0.0) * z
    else:
        y = a * poisson(x / a, k0, k1, pos) if a > A_MIN else x
        y += sb * z
    if chroma > 0.0:  # BT.601 YCbCr -> RGB rows of the pixel's Cb and Cr noise
        cb, cr = normal_pair(3, p, k0, k1)
        if c == 0:
            y += chroma * 1.402 * cr
        elif c == 1:
            y += chroma * (-0.344136 * cb - 0.714136 * cr)
        else:
            y += chroma * 1.772 * cb
    if linear:
        y = encode(min(y, 1.0))
    return y


@nb.njit(inline="always")
def sensor_one(s, d, table, a, sb, chroma, gaussian, key, maxval, linear, channels, cf, noise, al, words):
    k0, k1 = key_words(key)
    inv = 1.0 / maxval if maxval > 0.0 else 1.0
    pixels = s.shape[0] // channels
    pc = chunk_pixels(channels)
    for p0 in range(0, pixels, pc):
        m = min(pc, pixels - p0)
        z = chunk_normals(noise, al, words, table, k0, k1, p0, m, channels, cf, False)  # read noise, stream 0
        if cf:
            for c in range(channels):
                for j in range(m):
                    p = p0 + j
                    i = c * pixels + p
                    y = sensor_value(np.float64(s[i]) * inv, np.float64(z[c * m + j]), p, c, p * channels + c, a, sb,
                                     chroma, gaussian, k0, k1, linear)
                    store(d, i, y, maxval)
        else:
            for j in range(m):
                p = p0 + j
                for c in range(channels):
                    i = p * channels + c
                    y = sensor_value(np.float64(s[i]) * inv, np.float64(z[j * channels + c]), p, c, i, a, sb, chroma,
                                     gaussian, k0, k1, linear)
                    store(d, i, y, maxval)


@jit
def sensor(src, dst, table, a, sb, chroma, gaussian, keys, maxval, linear, channels, cf):
    noise, al, words = scratch(channels)
    for b in range(src.shape[0]):
        sensor_one(src[b], dst[b], table, a[b], sb[b], chroma[b], gaussian, keys[b], maxval, linear, channels, cf,
                   noise, al, words)
