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


def _nb():
    """The numba kernels (:mod:`augnoise.image._numba`, compiled or loaded on first use)."""
    from . import _numba

    return _numba


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
    k = _nb()
    src, dst = _flat(x)
    group = _group(x, t.params.per_channel)
    table = philox.gaussian_table()
    integer = x.dtype in INT_MAX
    if src.shape[0] == 1 and _one(params, "std", "mean", "key"):
        scale, offset = gaussian_coefficients(params["std"], params["mean"], x.dtype)
        if integer:
            k.gauss_int1(src[0], dst[0], table, scale, offset, INT_MAX[x.dtype], np.uint64(params["key"]), group)
            return dst.reshape(x.shape)
        suspect = k.gauss_float1(src[0], dst[0], table, scale, offset, bool(t.params.clip), np.uint64(params["key"]),
                                    group)
    else:
        scale, offset = gaussian_coefficients(col(params["std"]), col(params["mean"]), x.dtype)
        if integer:
            k.gauss_int(src, dst, table, scale, offset, INT_MAX[x.dtype], _keys(params), group)
            return dst.reshape(x.shape)
        suspect = k.gauss_float(src, dst, table, scale, offset, bool(t.params.clip), _keys(params), group)
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
    k = _nb()
    src, dst = _flat(x)
    group = _group(x, t.params.per_channel)
    hi = float(INT_MAX.get(x.dtype, 1.0))
    if src.shape[0] == 1 and _one(params, "amount", "salt_ratio", "key"):
        amount = params["amount"]
        k.salt_pepper1(src[0], dst[0], np.uint64(thresholds(amount * params["salt_ratio"])),
                          np.uint64(thresholds(amount)), np.uint64(params["key"]), group, hi)
    else:
        amount = col(params["amount"])
        k.salt_pepper(src, dst, thresholds(amount * col(params["salt_ratio"])), thresholds(amount), _keys(params),
                         group, hi)
    return dst.reshape(x.shape)


@kernel(ShotNoise, "numpy")
def shot_noise(t: ShotNoise, x: np.ndarray, params: dict[str, Any], ctx: Any) -> np.ndarray:
    k = _nb()
    src, dst = _flat(x)
    maxval = float(INT_MAX.get(x.dtype, 0))
    if src.shape[0] == 1 and _one(params, "photons", "key"):
        k.shot1(src[0], dst[0], params["photons"], np.uint64(params["key"]), maxval, bool(t.params.linear))
    else:
        k.shot(src, dst, col(params["photons"]), _keys(params), maxval, bool(t.params.linear))
    return dst.reshape(x.shape)


@kernel(SpeckleNoise, "numpy")
def speckle_noise(t: SpeckleNoise, x: np.ndarray, params: dict[str, Any], ctx: Any) -> np.ndarray:
    k = _nb()
    src, dst = _flat(x)
    group = _group(x, t.params.per_channel)
    maxval = float(INT_MAX.get(x.dtype, 0))
    if src.shape[0] == 1 and _one(params, "std", "key"):
        k.speckle1(src[0], dst[0], philox.gaussian_table(), params["std"], np.uint64(params["key"]), group, maxval)
    else:
        k.speckle(src, dst, philox.gaussian_table(), col(params["std"]), _keys(params), group, maxval)
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
    return bool(_nb().unit_suspects(np.ascontiguousarray(x).reshape(-1)))
