"""numba kernels of image.MultiplicativeNoise and the draws of the other additive modes
(imported on first use, since it imports numba; see :mod:`augnoise.image.additive`).

Per value (or per pixel when the channels share a draw) the multiplier ``m0 + m1 * z`` takes
``z`` from a 65,536-entry inverse-CDF table of the distribution, indexed by the 16-bit lanes of
stream 0 at the canonical HWC position, as image.GaussianNoise draws its normals; image.SpeckleNoise runs on it
with ``m0 = 1`` and the Gaussian table."""
from __future__ import annotations

import functools

import numba as nb
import numpy as np

from ..core._philox_numba import key_words, normals
from ..core.philox import CHUNK
from ._numba import chunk_normals, chunk_pixels, row, scratch

u64 = np.uint64
f32 = np.float32
jit = functools.partial(nb.njit, cache=True, nogil=True, boundscheck=False, error_model="numpy")


ROUND = 4503599627370496.0  # 2**52: (v + 2**52) - 2**52 is rint(v), half to even, for 0 <= v < 2**52


@nb.njit(inline="always")
def put(d, i, y, maxval):
    # _numba.store's result (clip, then integers rounded half to even) without a call to rint,
    # so the loop vectorises: rint and clipping to integer bounds commute
    if maxval > 0.0:
        v = y * maxval
        v = v if v > 0.0 else 0.0
        v = v if v < maxval else maxval
        d[i] = (v + ROUND) - ROUND
    else:
        v = y if y > 0.0 else 0.0
        d[i] = v if v < 1.0 else 1.0


@nb.njit(inline="always")
def multiply(s, d, a, m0, m1, inv, maxval):
    for i in range(s.shape[0]):
        put(d, i, np.float64(s[i]) * inv * (m0 + m1 * np.float64(a[i])), maxval)


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


@nb.njit(inline="always")
def offsets_of(z, b, sc, off, channels):
    # the per-channel noise sc * z + off in float32 (z: one value per channel, or one for all)
    k = z.shape[1]
    out = np.empty(channels, np.float32)
    for c in range(channels):
        out[c] = sc * z[b, c if k > 1 else 0] + off
    return out


@nb.njit(inline="always")
def add_vec(s, d, a, fm, clip):
    zero = f32(0.0)
    if fm > 0:
        for i in range(s.shape[0]):
            v = f32(s[i]) + a[i]
            v = v if v > zero else zero
            d[i] = v if v < fm else fm
    elif clip:
        lo = s.dtype.type(0.0)
        hi = s.dtype.type(1.0)
        for i in range(s.shape[0]):
            v = s[i] + a[i]
            v = v if v > lo else lo
            d[i] = v if v < hi else hi
    else:
        for i in range(s.shape[0]):
            d[i] = s[i] + a[i]


@nb.njit(inline="always")
def add_repeated(s, d, pattern, fm, clip):
    # s + pattern repeated along the run (the pattern's length a multiple of its period)
    step = pattern.shape[0]
    for start in range(0, s.shape[0], step):
        m = min(step, s.shape[0] - start)
        add_vec(s[start:start + m], d[start:start + m], pattern[:m], fm, clip)


@jit
def add_planes(src, dst, z, scales, offsets, maxval, clip, channels, cf):
    """Per-channel (or per-image) additive noise: image.GaussianNoise's per-value arithmetic
    ``f32(x) + (sc * z + off)`` with one ``z`` per channel (z: (B, channels) or (B, 1))."""
    fm = f32(maxval)
    pattern = np.empty(channels * 256, np.float32)
    for b in range(src.shape[0]):
        noff = offsets_of(z, b, scales[b], offsets[b], channels)
        s, d = src[b], dst[b]
        pixels = s.shape[0] // channels
        if cf and channels > 1:  # one run per channel plane
            for c in range(channels):
                pattern[:] = noff[c]
                add_repeated(s[c * pixels:(c + 1) * pixels], d[c * pixels:(c + 1) * pixels], pattern, fm, clip)
        else:  # channels last (or one channel): the channels' values repeated over the pixels
            for q in range(pattern.shape[0]):
                pattern[q] = noff[q % channels]
            add_repeated(s, d, pattern, fm, clip)


@nb.njit(inline="always")
def lookup(s, d, lut, channels, cf):
    pixels = s.shape[0] // channels
    if cf:
        for c in range(channels):
            t = lut[c]
            for i in range(c * pixels, (c + 1) * pixels):
                d[i] = t[np.int64(s[i])]
    else:
        for p in range(pixels):
            for c in range(channels):
                d[p * channels + c] = lut[c, np.int64(s[p * channels + c])]


@jit
def mult_planes(src, dst, z, m0s, m1s, maxval, channels, cf):
    """Per-channel (or per-image) multipliers ``m0 + m1 * z``, stored as the fused kernel."""
    inv = 1.0 / maxval if maxval > 0.0 else 1.0
    for b in range(src.shape[0]):
        k = z.shape[1]
        gains = np.empty(channels * 256, np.float64)
        for q in range(gains.shape[0]):
            c = q % channels
            gains[q] = m0s[b] + m1s[b] * np.float64(z[b, c if k > 1 else 0])
        s, d = src[b], dst[b]
        pixels = s.shape[0] // channels
        if maxval == 255.0:  # uint8: a table per channel of the same arithmetic, then a lookup
            lut = np.empty((channels, 256), d.dtype)
            for c in range(channels):
                for v in range(256):
                    put(lut[c], v, np.float64(v) * inv * gains[c], maxval)
            lookup(s, d, lut, channels, cf)
            continue
        if cf and channels > 1:
            for c in range(channels):
                g = gains[c]
                for i in range(c * pixels, (c + 1) * pixels):
                    put(d, i, np.float64(s[i]) * inv * g, maxval)
        else:
            step = gains.shape[0]
            for start in range(0, s.shape[0], step):
                m = min(step, s.shape[0] - start)
                for q in range(m):
                    put(d, start + q, np.float64(s[start + q]) * inv * gains[q], maxval)


@jit
def draws_into(out, table, key):
    """``out[:]`` = the table values at positions 0 .. out.size - 1 of stream 0 of ``key``."""
    words = np.empty(CHUNK // 2 + 8, np.uint32)
    k0, k1 = key_words(key)
    for start in range(0, out.shape[0], CHUNK):
        m = min(CHUNK, out.shape[0] - start)
        normals(out[start:start + m], words, table, k0, k1, start, m, 0)


@jit
def separable(z, taps, h, w, acc, out):
    """``z``: ``(h + 2r, (w + 2r) * planes)`` float32 draws (rows of pixels by planes) ->
    ``out``: ``(h, w * planes)`` float32; taps along W (into ``acc``, ``(h + 2r, w * planes)``),
    then along H, each output the float32 sum over the taps in order (as the torch kernel).
    The buffers come from the caller: allocating megabytes per call costs page faults."""
    k = taps.shape[0]
    hp = z.shape[0]
    planes = z.shape[1] // (w + k - 1)
    n = w * planes
    for i in range(hp):
        a, zi = acc[i], z[i]
        t0 = taps[0]
        for q in range(n):
            a[q] = t0 * zi[q]
        for t in range(1, k):
            tt = taps[t]
            zs = zi[t * planes:t * planes + n]  # a slice (not an offset index), so the loop vectorises
            for q in range(n):
                a[q] = a[q] + tt * zs[q]
    for i in range(h):
        o = out[i]
        t0 = taps[0]
        a0 = acc[i]
        for q in range(n):
            o[q] = t0 * a0[q]
        for t in range(1, k):
            tt = taps[t]
            at = acc[i + t]
            for q in range(n):
                o[q] = o[q] + tt * at[q]


@jit
def add_dense(src, dst, z, scales, offsets, maxval, clip, rep):
    """``x + (sc * z + off)`` with image.GaussianNoise's per-value arithmetic, ``z`` one noise
    value per ``rep`` destination values in order (rep = channels for channels-last shared
    noise, else 1)."""
    fm = f32(maxval)
    zero = f32(0.0)
    for b in range(src.shape[0]):
        s, d, zb = src[b], dst[b], z[b]
        sc, off = scales[b], offsets[b]
        if rep == 1:
            if fm > 0:
                for i in range(s.shape[0]):
                    v = f32(s[i]) + (sc * zb[i] + off)
                    v = v if v > zero else zero
                    d[i] = v if v < fm else fm
            else:
                for i in range(s.shape[0]):
                    v = s[i] + (sc * zb[i] + off)
                    if clip:
                        v = min(max(v, s.dtype.type(0.0)), s.dtype.type(1.0))
                    d[i] = v
        else:
            for p in range(zb.shape[0]):
                a = sc * zb[p] + off
                for c in range(rep):
                    i = p * rep + c
                    if fm > 0:
                        v = f32(s[i]) + a
                        v = v if v > zero else zero
                        d[i] = v if v < fm else fm
                    else:
                        v = s[i] + a
                        if clip:
                            v = min(max(v, s.dtype.type(0.0)), s.dtype.type(1.0))
                        d[i] = v


@jit
def mult_dense(src, dst, z, m0s, m1s, maxval, rep):
    """``x * (m0 + m1 * z)`` on the [0, 1] scale, stored as the fused kernel, ``z`` one value
    per ``rep`` destination values (as :func:`add_dense`)."""
    inv = 1.0 / maxval if maxval > 0.0 else 1.0
    for b in range(src.shape[0]):
        s, d, zb = src[b], dst[b], z[b]
        m0, m1 = m0s[b], m1s[b]
        for i in range(s.shape[0]):
            put(d, i, np.float64(s[i]) * inv * (m0 + m1 * np.float64(zb[i // rep])), maxval)
