"""numpy (numba) kernels of the image transforms: batched, counter-based, one pass each.

Every kernel takes images stacked on axis 0 (``(B, H, W)`` or ``(B, H, W, C)``, uint8 /
uint16 / float32 in [0, 1]) and one drawn value per image, and makes its random numbers from
the image's 64-bit kernel key with the Philox streams of :mod:`augnoise.core.philox`: normals
(Gaussian, speckle) and 32-bit uniforms (salt-and-pepper) at the position of each value, or of
each pixel when its channels share one draw. Poisson counts use one counter block per value
(stream 1, counter ``(position, attempt)``). Integer images are rounded to nearest (no
truncation bias) and saturated. CPU tensors reach these kernels as zero-copy views.
"""
from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from ..core import philox
from ..core.errors import InputError
from ..core.kernels import col, kernel
from .gaussian import GaussianNoise
from .salt_pepper import SaltAndPepper
from .shot import ShotNoise
from .speckle import SpeckleNoise

INT_MAX = {np.dtype(np.uint8): 255, np.dtype(np.uint16): 65535}
CHUNK = philox.CHUNK


@functools.lru_cache(maxsize=1)
def _compiled():
    """Each kernel is an inlined per-image core, with two entries: batched (one value per image
    in arrays) and one image (plain scalars, for the per-sample path: no small arrays)."""
    import numba as nb

    pj = philox.jit()
    normals, uniforms, key_words, block = pj.normals, pj.uniforms, pj.key_words, pj.block
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

    return dict(unit_suspects=unit_suspects, gauss_int=gauss_int, gauss_int1=gauss_int1, gauss_float=gauss_float, gauss_float1=gauss_float1,
                salt_pepper=salt_pepper, salt_pepper1=salt_pepper1, shot=shot, shot1=shot1, speckle=speckle,
                speckle1=speckle1)


def _one(params: dict[str, Any], *names: str) -> bool:
    """Whether the drawn values are plain scalars (the one-sample path)."""
    for n in names:
        if not isinstance(params[n], (int, float)):
            return False
    return True


def _flat(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(B, n) contiguous source and a new destination of the same layout."""
    src = (x if x.flags.c_contiguous else np.ascontiguousarray(x)).reshape(x.shape[0], -1)
    return src, np.empty_like(src)


def _group(x: np.ndarray, per_channel: bool) -> int:
    """Values sharing one draw: the channels of a pixel unless ``per_channel``."""
    return 1 if per_channel or x.ndim < 4 else x.shape[-1]


def _keys(params: dict[str, Any]) -> np.ndarray:
    return col(params["key"], np.uint64)


def gaussian_coefficients(std: Any, mean: Any, dtype: np.dtype) -> tuple[Any, Any]:
    """Per-image float32 (scale, offset) of ``x + scale * z + offset`` in the image's own units;
    for integer images the offset carries the +0.5 of round-to-nearest. Arrays or plain scalars
    (the same float64 arithmetic, then float32). Shared by the numpy and torch kernels."""
    maxval = INT_MAX.get(np.dtype(dtype))
    if maxval is None:
        return np.float32(std) if np.isscalar(std) else std.astype(np.float32), \
            np.float32(mean) if np.isscalar(mean) else mean.astype(np.float32)
    scale, offset = std * maxval, mean * maxval + 0.5
    if np.isscalar(scale):
        return np.float32(scale), np.float32(offset)
    return scale.astype(np.float32), offset.astype(np.float32)


def thresholds(p: Any) -> Any:
    """32-bit thresholds ``round(p * 2**32)``: a uniform word below it has probability p to
    within 2**-33 (arrays, or a plain number for one image)."""
    if isinstance(p, (int, float)):
        return min(round(p * 4294967296.0), 4294967296)  # Python's round: half to even, as np.rint
    return np.minimum(np.rint(np.asarray(p, np.float64) * 4294967296.0), 4294967296.0).astype(np.uint64)


@kernel(GaussianNoise, "numpy")
def gaussian(t: GaussianNoise, x: np.ndarray, params: dict[str, Any], ctx: Any) -> np.ndarray:
    k = _compiled()
    src, dst = _flat(x)
    group = _group(x, t.params.per_channel)
    table = philox.gaussian_table()
    integer = x.dtype in INT_MAX
    if src.shape[0] == 1 and _one(params, "std", "mean", "key"):
        scale, offset = gaussian_coefficients(params["std"], params["mean"], x.dtype)
        if integer:
            k["gauss_int1"](src[0], dst[0], table, scale, offset, INT_MAX[x.dtype], np.uint64(params["key"]), group)
            return dst.reshape(x.shape)
        suspect = k["gauss_float1"](src[0], dst[0], table, scale, offset, bool(t.params.clip), np.uint64(params["key"]),
                                    group)
    else:
        scale, offset = gaussian_coefficients(col(params["std"]), col(params["mean"]), x.dtype)
        if integer:
            k["gauss_int"](src, dst, table, scale, offset, INT_MAX[x.dtype], _keys(params), group)
            return dst.reshape(x.shape)
        suspect = k["gauss_float"](src, dst, table, scale, offset, bool(t.params.clip), _keys(params), group)
    if suspect:  # exact counts, only when a value may be outside [0, 1] (-0.0 is fine)
        finite = np.isfinite(src)
        bad = int(src.size - np.count_nonzero(finite))
        if bad:
            raise InputError(f"float image holds {bad} NaN or inf value(s)")
        out = int(np.count_nonzero((src < 0) | (src > 1)))
        if out and t.params.clip:
            raise InputError(f"float image has {out} value(s) outside [0, 1] (scale it to [0, 1] or set clip: false)")
    return dst.reshape(x.shape)


@kernel(SaltAndPepper, "numpy")
def salt_and_pepper(t: SaltAndPepper, x: np.ndarray, params: dict[str, Any], ctx: Any) -> np.ndarray:
    k = _compiled()
    src, dst = _flat(x)
    group = _group(x, t.params.per_channel)
    hi = float(INT_MAX.get(x.dtype, 1.0))
    if src.shape[0] == 1 and _one(params, "amount", "salt_ratio", "key"):
        amount = params["amount"]
        k["salt_pepper1"](src[0], dst[0], np.uint64(thresholds(amount * params["salt_ratio"])),
                          np.uint64(thresholds(amount)), np.uint64(params["key"]), group, hi)
    else:
        amount = col(params["amount"])
        k["salt_pepper"](src, dst, thresholds(amount * col(params["salt_ratio"])), thresholds(amount), _keys(params),
                         group, hi)
    return dst.reshape(x.shape)


@kernel(ShotNoise, "numpy")
def shot_noise(t: ShotNoise, x: np.ndarray, params: dict[str, Any], ctx: Any) -> np.ndarray:
    k = _compiled()
    src, dst = _flat(x)
    maxval = float(INT_MAX.get(x.dtype, 0))
    if src.shape[0] == 1 and _one(params, "photons", "key"):
        k["shot1"](src[0], dst[0], params["photons"], np.uint64(params["key"]), maxval, bool(t.params.linear))
    else:
        k["shot"](src, dst, col(params["photons"]), _keys(params), maxval, bool(t.params.linear))
    return dst.reshape(x.shape)


@kernel(SpeckleNoise, "numpy")
def speckle_noise(t: SpeckleNoise, x: np.ndarray, params: dict[str, Any], ctx: Any) -> np.ndarray:
    k = _compiled()
    src, dst = _flat(x)
    group = _group(x, t.params.per_channel)
    maxval = float(INT_MAX.get(x.dtype, 0))
    if src.shape[0] == 1 and _one(params, "std", "key"):
        k["speckle1"](src[0], dst[0], philox.gaussian_table(), params["std"], np.uint64(params["key"]), group, maxval)
    else:
        k["speckle"](src, dst, philox.gaussian_table(), col(params["std"]), _keys(params), group, maxval)
    return dst.reshape(x.shape)


def srgb_to_linear(x: np.ndarray) -> np.ndarray:
    """IEC 61966-2-1 sRGB decoding on the [0, 1] scale (float64)."""
    x = np.asarray(x, np.float64)
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(x: np.ndarray) -> np.ndarray:
    """IEC 61966-2-1 sRGB encoding on the [0, 1] scale (float64)."""
    x = np.clip(np.asarray(x, np.float64), 0.0, None)
    return np.where(x <= 0.0031308, x * 12.92, 1.055 * x ** (1 / 2.4) - 0.055)


def gaussian_noise(image: np.ndarray, std: float, mean: float = 0.0, per_channel: bool = True, key: int = 0,
                   clip: bool = True) -> np.ndarray:
    """Functional form of ``image.GaussianNoise`` on one image, with an explicit 64-bit kernel
    ``key`` (which fully determines the noise); ``std`` and ``mean`` are fractions of the full
    range. Raises :class:`InputError` for NaN/inf, or (with ``clip``) float values outside
    [0, 1]. Never modifies ``image``."""
    from .checks import check_image

    t = GaussianNoise(std=float(std), mean=float(mean), per_channel=per_channel, clip=clip)
    check_image(image)
    params = {"std": np.array([std], np.float64), "mean": np.array([mean], np.float64),
              "key": np.array([int(key) & 0xFFFFFFFFFFFFFFFF], np.uint64)}
    return gaussian(t, image[None], params, None)[0]


def maybe_outside_unit(x: np.ndarray) -> bool:
    """Whether a float32 array may hold values outside [0, 1] or NaN/inf (no false negatives;
    -0.0 is the one false positive). One vectorised pass."""
    return bool(_compiled()["unit_suspects"](np.ascontiguousarray(x).reshape(-1)))
