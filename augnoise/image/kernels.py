"""Pure image-noise kernels (plain functions: array in, new array out).

The Gaussian kernel is fused: per block of values, exact standard-normal values from
:mod:`augnoise.core.fastnormal` (counter-based bits into an inverse-CDF table), then one
vectorised pass adds them, rounds without bias and saturates. Integer dtypes use
``floor(x + noise + 0.5)`` then saturation: round to nearest, which is unbiased for symmetric
noise (truncation toward zero is what loses std in other libraries).
"""
from __future__ import annotations

import functools

import numpy as np

from ..core import fastnormal
from ..core.fastnormal import gaussian_table


@functools.lru_cache(maxsize=1)
def _compiled():
    import numba as nb

    fill = fastnormal.jit().fill
    block = fastnormal.BLOCK

    @nb.njit(cache=True, nogil=True, boundscheck=False, error_model="numpy")
    def gauss_int(src, dst, table, scale, offset, maxval, key, group):
        # Flat src/dst; ``group`` consecutive values share one noise value (the channels of a
        # pixel when per_channel is off). Two phases per block: scalar table look-ups into a
        # small buffer, then a vectorisable add. v = x + noise + 0.5 is clamped to
        # [0, maxval] and truncated: that is floor(x + noise + 0.5) saturated, round-to-nearest.
        fm = np.float32(maxval)
        zero = np.float32(0.0)
        noise = np.empty(block, np.float32)
        npix = src.size // group
        for start in range(0, npix, block):
            m = min(block, npix - start)
            fill(noise, table, key, start, m)
            if group == 1:
                s = src[start : start + m]
                d = dst[start : start + m]
                for i in range(m):
                    v = np.float32(s[i]) + (scale * noise[i] + offset)
                    d[i] = min(max(v, zero), fm)
            else:
                for i in range(m):
                    w = scale * noise[i] + offset
                    b = (start + i) * group
                    for c in range(group):
                        v = np.float32(src[b + c]) + w
                        dst[b + c] = min(max(v, zero), fm)

    @nb.njit(cache=True, nogil=True, boundscheck=False, error_model="numpy")
    def gauss_float(src, dst, table, scale, offset, clip, key, group):
        # Returns (non-finite inputs, inputs outside [0, 1]); the caller raises on either.
        noise = np.empty(block, np.float32)
        npix = src.size // group
        bad = 0
        out = 0
        lo = np.float32(0.0)
        hi = np.float32(1.0)
        for start in range(0, npix, block):
            m = min(block, npix - start)
            fill(noise, table, key, start, m)
            for i in range(m):
                w = scale * noise[i] + offset
                b = (start + i) * group
                for c in range(group):
                    x = src[b + c]
                    if not (x - x == 0.0):  # NaN or inf
                        bad += 1
                    elif x < lo or x > hi:
                        out += 1
                    v = x + w
                    if clip:
                        v = min(max(v, lo), hi)
                    dst[b + c] = v
        return bad, out

    @nb.njit(cache=True, nogil=True)
    def gauss_int_many(src, dst, table, scales, offsets, maxval, keys, group):
        # src/dst (B, n): sample b exactly as gauss_int with its own scale, offset and key
        for b in range(src.shape[0]):
            gauss_int(src[b], dst[b], table, scales[b], offsets[b], maxval, keys[b], group)

    return gauss_int, gauss_float, gauss_int_many


INT_MAX = {np.dtype(np.uint8): 255, np.dtype(np.uint16): 65535}


def gaussian_noise(
    image: np.ndarray,
    std: float,
    mean: float = 0.0,
    per_channel: bool = True,
    key: int = 0,
    clip: bool = True,
) -> np.ndarray:
    """Add Gaussian noise to an image; ``std`` and ``mean`` are fractions of the full range.

    Integer images (uint8/uint16) are rounded to nearest and saturated; float32 images are
    clipped to [0, 1] when ``clip``. ``key`` (a uint64) fully determines the noise.
    Raises ``ValueError`` if a float image holds NaN or inf, or (with ``clip``) values outside
    [0, 1]. Never modifies ``image``.
    """
    gauss_int, gauss_float, _ = _compiled()
    src = np.ascontiguousarray(image)
    dst = np.empty_like(src)
    group = 1 if per_channel or src.ndim == 2 else src.shape[-1]
    table = gaussian_table()
    key = np.uint64(int(key) & 0xFFFFFFFFFFFFFFFF)
    if src.dtype in INT_MAX:
        maxval = INT_MAX[src.dtype]
        gauss_int(src.reshape(-1), dst.reshape(-1), table, np.float32(std * maxval),
                  np.float32(mean * maxval + 0.5), maxval, key, group)
    else:
        bad, out = gauss_float(src.reshape(-1), dst.reshape(-1), table, np.float32(std),
                               np.float32(mean), bool(clip), key, group)
        if bad:
            raise ValueError(f"float image holds {bad} NaN or inf value(s)")
        if out and clip:
            raise ValueError(f"float image has {out} value(s) outside [0, 1] (scale it to [0, 1] or set clip: false)")
    return dst


def _to_unit(image: np.ndarray) -> tuple[np.ndarray, int | None]:
    """Float32 copy on the [0, 1] scale, and the integer max (None for float input)."""
    maxval = INT_MAX.get(image.dtype)
    if maxval is None:
        return image.astype(np.float32, copy=True), None
    return image.astype(np.float32) * np.float32(1.0 / maxval), maxval


def _from_unit(x: np.ndarray, dtype: np.dtype, maxval: int | None, clip: bool = True) -> np.ndarray:
    """Back from the [0, 1] scale: round half to even (unbiased) and saturate for integers."""
    if maxval is None:
        return np.clip(x, 0.0, 1.0, out=x) if clip else x
    y = np.rint(x * np.float32(maxval))
    return np.clip(y, 0, maxval, out=y).astype(dtype)


def salt_and_pepper(
    image: np.ndarray, amount: float, salt_ratio: float, u: np.ndarray
) -> np.ndarray:
    """Set pixels to the max (salt) or 0 (pepper) from uniform draws ``u`` (one per pixel, or
    one per value when ``u`` has the image's shape): ``u < amount * salt_ratio`` is salt,
    ``amount * salt_ratio <= u < amount`` is pepper. Exact rates, no other change."""
    out = image.copy()
    hi = INT_MAX.get(image.dtype, 1.0)
    salt = u < amount * salt_ratio
    pepper = (u < amount) & ~salt
    out[salt] = hi
    out[pepper] = 0
    return out


def srgb_to_linear(x: np.ndarray) -> np.ndarray:
    """IEC 61966-2-1 sRGB decoding on the [0, 1] scale."""
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4).astype(np.float32)


def linear_to_srgb(x: np.ndarray) -> np.ndarray:
    """IEC 61966-2-1 sRGB encoding on the [0, 1] scale."""
    x = np.clip(x, 0.0, None)
    return np.where(x <= 0.0031308, x * 12.92, 1.055 * x ** (1 / 2.4) - 0.055).astype(np.float32)


def shot_noise(image: np.ndarray, photons: float, rng: np.random.Generator, linear: bool = False) -> np.ndarray:
    """Poisson (shot) noise: a value x in [0, 1] becomes ``Poisson(x * photons) / photons``,
    so full white collects ``photons`` photons on average and the variance is ``x / photons``.
    With ``linear`` the image is first decoded from sRGB to linear light and re-encoded after,
    which is where photon counting physically happens."""
    x, maxval = _to_unit(image)
    if linear:
        x = srgb_to_linear(x)
    y = (rng.poisson(x.astype(np.float64) * photons) / photons).astype(np.float32)
    if linear:
        y = linear_to_srgb(np.minimum(y, 1.0))
    return _from_unit(y, image.dtype, maxval)


def speckle_noise(image: np.ndarray, std: float, noise: np.ndarray) -> np.ndarray:
    """Multiplicative noise: ``x * (1 + std * n)`` with standard-normal ``n`` (broadcastable to
    the image), clipped to the valid range."""
    x, maxval = _to_unit(image)
    y = x * (np.float32(1.0) + np.float32(std) * noise)
    return _from_unit(y.astype(np.float32), image.dtype, maxval)


def gaussian_noise_many(images: np.ndarray, stds: np.ndarray, means: np.ndarray, keys: list[int],
                        per_channel: bool = True) -> np.ndarray:
    """:func:`gaussian_noise` on a stack ``(B, ...)`` of same-shape uint8/uint16 images in one
    call, image b with ``stds[b]``, ``means[b]``, ``keys[b]``: the same result as B calls."""
    src = np.ascontiguousarray(images)
    dst = np.empty_like(src)
    maxval = INT_MAX[src.dtype]
    group = 1 if per_channel or src.ndim == 3 else src.shape[-1]
    b = src.shape[0]
    _compiled()[2](src.reshape(b, -1), dst.reshape(b, -1), gaussian_table(),
                   (np.asarray(stds, np.float64) * maxval).astype(np.float32),
                   (np.asarray(means, np.float64) * maxval + 0.5).astype(np.float32), maxval,
                   np.array([int(k) & 0xFFFFFFFFFFFFFFFF for k in keys], np.uint64), group)
    return dst
