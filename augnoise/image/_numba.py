"""numba kernels of the image transforms (imported on first use, since it imports numba; see
:mod:`augnoise.image.kernels`). Module-level functions, so numba's on-disk cache serves every
process.

Every kernel takes one image as a flat array of ``P`` pixels by ``C`` channels, channels-last
(``cf`` false: value ``p * C + c``) or channels-first (``cf`` true: value ``c * P + p``), and
draws in the canonical HWC positions (``p * C + c`` per value, ``p`` per pixel when the
channels share a draw), so both layouts of an image get the same noise. Pixels go in chunks;
a chunk's draws are generated in canonical order and brought into the destination's order in
a small buffer: channels-first draws are looked up (or deinterleaved) into one row per
channel, shared draws are one row read for every channel (channels-first) or repeated per
pixel (channels-last). Then one vectorisable loop runs per contiguous destination segment. Each kernel has a batched entry
(one value per image in arrays) and a one-image entry (plain scalars, for the per-sample path).
"""
from __future__ import annotations

import functools
import math

import numba as nb
import numpy as np

from ..core._philox_numba import block, key_words, normals, normals_rows, uniforms
from ..core.philox import CHUNK

f32 = np.float32
u32 = np.uint32
u64 = np.uint64
jit = functools.partial(nb.njit, cache=True, nogil=True, boundscheck=False, error_model="numpy")


@nb.njit(inline="always")
def chunk_pixels(channels):
    # pixels per chunk: a multiple of 8 (so positions start on a Philox block), <= CHUNK values
    return max(8, (CHUNK // channels) // 8 * 8)


@nb.njit(inline="always")
def scratch(channels):
    n = chunk_pixels(channels) * channels
    return np.empty(n + 8, np.float32), np.empty(n + 8, np.float32), np.empty(n // 2 + 8, np.uint32)


@nb.njit(inline="always")
def align(src, dst, m, channels, shared):
    # src: a chunk's draws in canonical order; dst: the same draws in the destination's order
    # when that differs: channels-last shared draws repeated per channel (m -> m * C values),
    # channels-first per-channel draws deinterleaved into rows (c * m + p)
    if shared:
        for i in range(m):
            for c in range(channels):
                dst[i * channels + c] = src[i]
    else:
        for c in range(channels):
            for i in range(m):
                dst[c * m + i] = src[i * channels + c]


@nb.njit(inline="always")
def chunk_normals(noise, al, words, table, k0, k1, p0, m, channels, cf, shared):
    # the chunk's normals in the destination's order; channels-first reads channel c's row at
    # row(c, m, shared): one row for every channel when they share the draws
    if shared:
        normals(noise, words, table, k0, k1, p0, m, 0)
        if cf:
            return noise
        align(noise, al, m, channels, shared)
        return al
    if cf:
        normals_rows(al, words, table, k0, k1, p0 * channels, m, channels, 0)
        return al
    normals(noise, words, table, k0, k1, p0 * channels, m * channels, 0)
    return noise


@nb.njit(inline="always")
def row(c, m, shared):
    return 0 if shared else c * m


@nb.njit(inline="always")
def add_int(s, d, a, sc, off, fm):
    # floor(x + noise + 0.5) saturated (offset carries the +0.5): round to nearest
    zero = f32(0.0)
    for i in range(s.shape[0]):
        v = f32(s[i]) + (sc * a[i] + off)
        v = v if v > zero else zero
        v = v if v < fm else fm
        d[i] = v


@nb.njit(inline="always")
def add_float(s, d, a, sc, off, clip):
    lo = s.dtype.type(0.0)
    hi = s.dtype.type(1.0)
    if clip:
        for i in range(s.shape[0]):
            v = s[i] + (sc * a[i] + off)
            v = v if v > lo else lo
            v = v if v < hi else hi
            d[i] = v
    else:
        for i in range(s.shape[0]):
            d[i] = s[i] + (sc * a[i] + off)


@nb.njit(inline="always")
def gauss_one(s_all, d_all, table, sc, off, fm, clip, key, channels, cf, shared, noise, al, words):
    k0, k1 = key_words(key)
    pixels = s_all.shape[0] // channels
    pc = chunk_pixels(channels)
    for p0 in range(0, pixels, pc):
        m = min(pc, pixels - p0)
        a = chunk_normals(noise, al, words, table, k0, k1, p0, m, channels, cf, shared)
        if cf:
            for c in range(channels):
                seg = slice(c * pixels + p0, c * pixels + p0 + m)
                if fm > 0:
                    add_int(s_all[seg], d_all[seg], a[row(c, m, shared):row(c, m, shared) + m], sc, off, fm)
                else:
                    add_float(s_all[seg], d_all[seg], a[row(c, m, shared):row(c, m, shared) + m], sc, off, clip)
        else:
            seg = slice(p0 * channels, (p0 + m) * channels)
            if fm > 0:
                add_int(s_all[seg], d_all[seg], a[:m * channels], sc, off, fm)
            else:
                add_float(s_all[seg], d_all[seg], a[:m * channels], sc, off, clip)


@jit
def gauss(src, dst, table, scales, offsets, maxval, clip, keys, channels, cf, shared):
    noise, al, words = scratch(channels)
    for b in range(src.shape[0]):
        gauss_one(src[b], dst[b], table, scales[b], offsets[b], f32(maxval), clip, keys[b], channels, cf, shared,
                  noise, al, words)


@jit
def gauss1(src, dst, table, scale, offset, maxval, clip, key, channels, cf, shared):
    noise, al, words = scratch(channels)
    gauss_one(src, dst, table, f32(scale), f32(offset), f32(maxval), clip, u64(key), channels, cf, shared,
              noise, al, words)


@nb.njit(inline="always")
def select(s, d, u, ts, th, top):
    # u < ts -> top (salt), u < th -> 0 (pepper), else unchanged
    bottom = d.dtype.type(0)
    for i in range(s.shape[0]):
        w = u64(u[i])
        d[i] = top if w < ts else (bottom if w < th else s[i])


@nb.njit(inline="always")
def salt_pepper_one(s_all, d_all, ts, th, key, channels, cf, shared, top, buf, al):
    k0, k1 = key_words(key)
    pixels = s_all.shape[0] // channels
    pc = chunk_pixels(channels)
    for p0 in range(0, pixels, pc):
        m = min(pc, pixels - p0)
        if shared:
            uniforms(buf, k0, k1, p0, m, 0)
        else:
            uniforms(buf, k0, k1, p0 * channels, m * channels, 0)
        u = buf
        if shared != cf:  # channels-last shared draws, or channels-first per-channel ones
            align(buf, al, m, channels, shared)
            u = al
        if cf:
            for c in range(channels):
                seg = slice(c * pixels + p0, c * pixels + p0 + m)
                select(s_all[seg], d_all[seg], u[row(c, m, shared):row(c, m, shared) + m], ts, th, top)
        else:
            seg = slice(p0 * channels, (p0 + m) * channels)
            select(s_all[seg], d_all[seg], u[:m * channels], ts, th, top)


@jit
def salt_pepper(src, dst, salt_thr, hit_thr, keys, channels, cf, shared, hi):
    n = chunk_pixels(channels) * channels + 8
    buf = np.empty(n, np.uint32)
    al = np.empty(n, np.uint32)
    top = dst.dtype.type(hi)
    for b in range(src.shape[0]):
        salt_pepper_one(src[b], dst[b], salt_thr[b], hit_thr[b], keys[b], channels, cf, shared, top, buf, al)


@jit
def salt_pepper1(src, dst, salt_thr, hit_thr, key, channels, cf, shared, hi):
    n = chunk_pixels(channels) * channels + 8
    buf = np.empty(n, np.uint32)
    al = np.empty(n, np.uint32)
    salt_pepper_one(src, dst, u64(salt_thr), u64(hit_thr), u64(key), channels, cf, shared, dst.dtype.type(hi),
                    buf, al)


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
def shot_one(s, d, ph, key, maxval, linear, channels, cf):
    k0, k1 = key_words(key)
    inv = 1.0 / maxval if maxval > 0.0 else 1.0
    pixels = s.shape[0] // channels
    for i in range(s.shape[0]):
        pos = (i % pixels) * channels + i // pixels if cf else i  # the value's canonical HWC position
        x = np.float64(s[i]) * inv
        if linear:
            x = decode(x)
        y = poisson(x * ph, k0, k1, pos) / ph
        if linear:
            y = encode(min(y, 1.0))
        store(d, i, y, maxval)


@jit
def shot(src, dst, photons, keys, maxval, linear, channels, cf):
    for b in range(src.shape[0]):
        shot_one(src[b], dst[b], photons[b], keys[b], maxval, linear, channels, cf)


@jit
def shot1(src, dst, photons, key, maxval, linear, channels, cf):
    shot_one(src, dst, np.float64(photons), u64(key), maxval, linear, channels, cf)


@jit
def unit_suspects(bits, threshold):
    # whether any float value may lie outside [0, 1] (NaN and inf included): a float in [0, 1]
    # has its bits, as an unsigned integer, at most those of 1.0; negatives, NaN and inf are
    # above (-0.0 is the one false positive). One vectorised unsigned max.
    top = bits.dtype.type(0)
    for i in range(bits.shape[0]):
        top = max(top, bits[i])
    return top > threshold


@nb.njit(inline="always")
def level_out(d, i, y, maxval):
    # clip to [0, 1], then for uint8 the reference's truncating cast np.uint8(y * 255)
    y = min(max(y, 0.0), 1.0)
    if maxval > 0.0:
        d[i] = math.floor(y * maxval)
    else:
        d[i] = y


@nb.njit(inline="always")
def corrupt_one(s_all, d_all, table, kind, c, ts, th, key, maxval, channels, cf, noise, al, words, ubuf, ual):
    # kind: 0 gaussian, 1 shot, 2 impulse, 3 speckle (augnoise.image.corruption.NAMES); uint8
    # values (maxval 255) or float64 on the [0, 1] scale (maxval 0): x = value / 255 or value
    k0, k1 = key_words(key)
    pixels = s_all.shape[0] // channels
    if kind == 1:
        for i in range(s_all.shape[0]):
            pos = (i % pixels) * channels + i // pixels if cf else i  # the value's canonical HWC position
            x = np.float64(s_all[i]) / maxval if maxval > 0.0 else np.float64(s_all[i])
            level_out(d_all, i, poisson(x * c, k0, k1, pos) / c, maxval)
        return
    pc = chunk_pixels(channels)
    a = noise
    u = ubuf
    for p0 in range(0, pixels, pc):
        m = min(pc, pixels - p0)
        if kind == 2:
            uniforms(ubuf, k0, k1, p0 * channels, m * channels, 0)
            u = ubuf
            if cf:
                align(ubuf, ual, m, channels, False)
                u = ual
        else:
            a = chunk_normals(noise, al, words, table, k0, k1, p0, m, channels, cf, False)
        for r in range(channels if cf else 1):
            base = r * pixels + p0 if cf else p0 * channels
            off = r * m if cf else 0
            n = m if cf else m * channels
            for j in range(n):
                x = np.float64(s_all[base + j]) / maxval if maxval > 0.0 else np.float64(s_all[base + j])
                if kind == 0:
                    y = x + c * np.float64(a[off + j])
                elif kind == 3:
                    y = x + x * (c * np.float64(a[off + j]))
                else:
                    w = u64(u[off + j])
                    y = 1.0 if w < ts else (0.0 if w < th else x)
                level_out(d_all, base + j, y, maxval)


@nb.njit(inline="always")
def corrupt_scratch(channels):
    noise, al, words = scratch(channels)
    n = chunk_pixels(channels) * channels + 8
    return noise, al, words, np.empty(n, np.uint32), np.empty(n, np.uint32)


@jit
def corrupt(src, dst, table, kind, consts, salt_thr, hit_thr, keys, maxval, channels, cf):
    noise, al, words, ubuf, ual = corrupt_scratch(channels)
    for b in range(src.shape[0]):
        corrupt_one(src[b], dst[b], table, kind, consts[b], u64(salt_thr[b]), u64(hit_thr[b]), keys[b], maxval,
                    channels, cf, noise, al, words, ubuf, ual)

