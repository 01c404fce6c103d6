"""numba kernels of the image transforms (imported on first use, since it imports numba; see
:mod:`augnoise.image.kernels`). Each kernel is an inlined per-image core with two entries:
batched (one value per image in arrays) and one image (plain scalars, for the per-sample
path: no small arrays). Module-level functions, so numba's on-disk cache serves every
process."""
from __future__ import annotations

import functools
import math

import numba as nb
import numpy as np

from ..core._philox_numba import block, key_words, normals, uniforms
from ..core.philox import CHUNK


f32 = np.float32
u32 = np.uint32
u64 = np.uint64
jit = functools.partial(nb.njit, cache=True, nogil=True, boundscheck=False, error_model="numpy")


@nb.njit(inline="always")
def scratch():
    return np.empty(CHUNK, np.float32), np.empty(CHUNK // 2 + 4, np.uint32)


@nb.njit(inline="always")
def gauss_int_one(s_all, d_all, table, sc, off, fm, key, group, noise, words):
    # dst = clamp(src + scale * z + offset, 0, maxval), truncated: with offset including
    # +0.5 that is floor(x + noise + 0.5) saturated, round to nearest. ``group`` values
    # (the channels of a pixel) share one normal.
    k0, k1 = key_words(key)
    n = s_all.shape[0] // group
    zero = f32(0.0)
    for start in range(0, n, CHUNK):
        m = min(CHUNK, n - start)
        normals(noise, words, table, k0, k1, start, m, 0)
        s = s_all[start * group:(start + m) * group]
        d = d_all[start * group:(start + m) * group]
        if group == 1:
            for i in range(m):
                v = f32(s[i]) + (sc * noise[i] + off)
                v = v if v > zero else zero
                v = v if v < fm else fm
                d[i] = v
        else:
            for i in range(m):
                w = sc * noise[i] + off
                for c in range(group):
                    v = f32(s[i * group + c]) + w
                    v = v if v > zero else zero
                    v = v if v < fm else fm
                    d[i * group + c] = v


@jit
def gauss_int(src, dst, table, scales, offsets, maxval, keys, group):
    noise, words = scratch()
    for b in range(src.shape[0]):
        gauss_int_one(src[b], dst[b], table, scales[b], offsets[b], f32(maxval), keys[b], group, noise, words)


@jit
def gauss_int1(src, dst, table, scale, offset, maxval, key, group):
    noise, words = scratch()
    gauss_int_one(src, dst, table, f32(scale), f32(offset), f32(maxval), u64(key), group, noise, words)


@nb.njit(inline="always")
def gauss_float_one(s_all, d_all, table, sc, off, clip, key, group, noise, words):
    # Returns the number of chunks holding a suspect input: a float32 in [0, 1] has its
    # bits, as uint32, at most 0x3F800000; negatives, NaN and inf are above. One unsigned
    # max per chunk (vectorised); the caller classifies suspects exactly (rare path).
    k0, k1 = key_words(key)
    n = s_all.shape[0] // group
    lo = f32(0.0)
    hi = f32(1.0)
    suspect = 0
    for start in range(0, n, CHUNK):
        m = min(CHUNK, n - start)
        normals(noise, words, table, k0, k1, start, m, 0)
        s = s_all[start * group:(start + m) * group]
        d = d_all[start * group:(start + m) * group]
        bits = s.view(np.uint32)
        top = u32(0)
        for i in range(m * group):
            top = max(top, bits[i])
        suspect += top > u32(0x3F800000)
        if group == 1:
            if clip:
                for i in range(m):
                    v = s[i] + (sc * noise[i] + off)
                    v = v if v > lo else lo
                    v = v if v < hi else hi
                    d[i] = v
            else:
                for i in range(m):
                    d[i] = s[i] + (sc * noise[i] + off)
        else:
            for i in range(m):
                w = sc * noise[i] + off
                for c in range(group):
                    v = s[i * group + c] + w
                    if clip:
                        v = v if v > lo else lo
                        v = v if v < hi else hi
                    d[i * group + c] = v
    return suspect


@jit
def gauss_float(src, dst, table, scales, offsets, clip, keys, group):
    noise, words = scratch()
    suspect = 0
    for b in range(src.shape[0]):
        suspect += gauss_float_one(src[b], dst[b], table, scales[b], offsets[b], clip, keys[b], group, noise, words)
    return suspect


@jit
def gauss_float1(src, dst, table, scale, offset, clip, key, group):
    noise, words = scratch()
    return gauss_float_one(src, dst, table, f32(scale), f32(offset), clip, u64(key), group, noise, words)


@nb.njit(inline="always")
def salt_pepper_one(s_all, d_all, ts, th, key, group, top, buf):
    # one 32-bit uniform u per pixel (or value): u < salt_thr -> top, u < hit_thr -> 0
    k0, k1 = key_words(key)
    n = s_all.shape[0] // group
    bottom = d_all.dtype.type(0)
    for start in range(0, n, CHUNK):
        m = min(CHUNK, n - start)
        uniforms(buf, k0, k1, start, m, 0)
        s = s_all[start * group:(start + m) * group]
        d = d_all[start * group:(start + m) * group]
        for i in range(m):
            u = u64(buf[i])
            for c in range(group):
                j = i * group + c
                d[j] = top if u < ts else (bottom if u < th else s[j])


@jit
def salt_pepper(src, dst, salt_thr, hit_thr, keys, group, hi):
    buf = np.empty(CHUNK + 4, np.uint32)
    top = dst.dtype.type(hi)
    for b in range(src.shape[0]):
        salt_pepper_one(src[b], dst[b], salt_thr[b], hit_thr[b], keys[b], group, top, buf)


@jit
def salt_pepper1(src, dst, salt_thr, hit_thr, key, group, hi):
    buf = np.empty(CHUNK + 4, np.uint32)
    salt_pepper_one(src, dst, u64(salt_thr), u64(hit_thr), u64(key), group, dst.dtype.type(hi), buf)


@nb.njit(inline="always")
def unit(w):
    return (np.float64(w) + 0.5) * 2.3283064365386963e-10  # (0, 1)


@nb.njit(inline="always")
def poisson(lam, k0, k1, pos):
    # Poisson(lam) from counter blocks (pos, attempt) of stream 1: inversion by search for
    # lam < 10, Hormann's PTRS (transformed rejection) above, as numpy does.
    plo = u32(u64(pos) & u64(0xFFFFFFFF))
    phi = u32(u64(pos) >> u64(32))
    if lam < 10.0:
        w0, w1, w2, w3 = block(plo, phi, u32(1), u32(0), k0, k1)
        u = unit(w0)
        k = 0
        p = math.exp(-lam)
        acc = p
        while u > acc and k < 1000:
            k += 1
            p *= lam / k
            acc += p
        return np.float64(k)
    slam = math.sqrt(lam)
    loglam = math.log(lam)
    bb = 0.931 + 2.53 * slam
    aa = -0.059 + 0.02483 * bb
    invalpha = 1.1239 + 1.1328 / (bb - 3.4)
    vr = 0.9277 - 3.6224 / (bb - 2.0)
    attempt = 0
    while True:
        w0, w1, w2, w3 = block(plo, phi, u32(1), u32(attempt), k0, k1)
        attempt += 1
        for h in range(2):
            uu = unit(w0 if h == 0 else w2) - 0.5
            vv = unit(w1 if h == 0 else w3)
            us = 0.5 - abs(uu)
            k = math.floor((2.0 * aa / us + bb) * uu + lam + 0.43)
            if us >= 0.07 and vv <= vr:
                return k
            if k < 0.0 or (us < 0.013 and vv > us):
                continue
            if (math.log(vv) + math.log(invalpha) - math.log(aa / (us * us) + bb)
                    <= -lam + k * loglam - math.lgamma(k + 1.0)):
                return k


@nb.njit(inline="always")
def decode(x):
    return x / 12.92 if x <= 0.04045 else ((x + 0.055) / 1.055) ** 2.4


@nb.njit(inline="always")
def encode(x):
    x = x if x > 0.0 else 0.0
    return x * 12.92 if x <= 0.0031308 else 1.055 * x ** (1.0 / 2.4) - 0.055


@nb.njit(inline="always")
def store(d, i, y, maxval):
    # back from the [0, 1] scale: integers rounded half to even and saturated
    if maxval > 0.0:
        v = np.rint(y * maxval)
        d[i] = min(max(v, 0.0), maxval)
    else:
        d[i] = min(max(y, 0.0), 1.0)


@nb.njit(inline="always")
def shot_one(s, d, ph, key, maxval, linear):
    k0, k1 = key_words(key)
    inv = 1.0 / maxval if maxval > 0.0 else 1.0
    for i in range(s.shape[0]):
        x = np.float64(s[i]) * inv
        if linear:
            x = decode(x)
        y = poisson(x * ph, k0, k1, i) / ph
        if linear:
            y = encode(min(y, 1.0))
        store(d, i, y, maxval)


@jit
def shot(src, dst, photons, keys, maxval, linear):
    for b in range(src.shape[0]):
        shot_one(src[b], dst[b], photons[b], keys[b], maxval, linear)


@jit
def shot1(src, dst, photons, key, maxval, linear):
    shot_one(src, dst, np.float64(photons), u64(key), maxval, linear)


@nb.njit(inline="always")
def speckle_one(s_all, d_all, table, sd, key, group, maxval, noise, words):
    k0, k1 = key_words(key)
    inv = 1.0 / maxval if maxval > 0.0 else 1.0
    n = s_all.shape[0] // group
    for start in range(0, n, CHUNK):
        m = min(CHUNK, n - start)
        normals(noise, words, table, k0, k1, start, m, 0)
        s = s_all[start * group:(start + m) * group]
        d = d_all[start * group:(start + m) * group]
        for i in range(m):
            g = 1.0 + sd * np.float64(noise[i])
            for c in range(group):
                store(d, i * group + c, np.float64(s[i * group + c]) * inv * g, maxval)


@jit
def speckle(src, dst, table, stds, keys, group, maxval):
    noise, words = scratch()
    for b in range(src.shape[0]):
        speckle_one(src[b], dst[b], table, stds[b], keys[b], group, maxval, noise, words)


@jit
def speckle1(src, dst, table, std, key, group, maxval):
    noise, words = scratch()
    speckle_one(src, dst, table, np.float64(std), u64(key), group, maxval, noise, words)


@jit
def unit_suspects(flat):
    # whether any float32 value may lie outside [0, 1] (NaN and inf included): see
    # gauss_float_one; one vectorised unsigned max
    bits = flat.view(np.uint32)
    top = u32(0)
    for i in range(bits.shape[0]):
        top = max(top, bits[i])
    return top > u32(0x3F800000)
