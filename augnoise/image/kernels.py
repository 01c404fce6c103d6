"""numpy (numba) kernels of the image transforms: batched, counter-based, one pass each.

Every kernel takes images stacked on axis 0 in any layout :mod:`.layout` resolves (channels
last or first, with or without a channel axis; uint8, uint16, float16/32/64; float data in
[0, 1] or mapped there from a declared range or normalisation) and one drawn value per image,
and makes its random numbers from the image's 64-bit kernel key with the Philox streams of
:mod:`augnoise.core.philox`: normals (Gaussian, speckle) and 32-bit uniforms
(salt-and-pepper) at the canonical HWC position of each value, or of each pixel when its
channels share one draw, so both layouts of an image get the same noise. Poisson counts use
one counter block per value (stream 1, counter ``(position, attempt)``). Integer images are
rounded to nearest (no truncation bias) and saturated. CPU tensors reach these kernels as
zero-copy views.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..core import philox
from ..core.kernels import col, kernel
from .corruption import Corruption
from .gaussian import GaussianNoise
from .layout import ImageBatch, image_batch
from .salt_pepper import SaltAndPepper
from .shot import ShotNoise
from .speckle import SpeckleNoise

INT_MAX = {np.dtype(np.uint8): 255, np.dtype(np.uint16): 65535}


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


def _flat(ib: ImageBatch) -> tuple[np.ndarray, np.ndarray]:
    """A batch's (B, n) contiguous source and a new destination of the same shape."""
    w = ib.x
    src = (w if w.flags.c_contiguous else np.ascontiguousarray(w)).reshape(w.shape[0], -1)
    return src, np.empty_like(src)


def _prepare(t: Any, x: np.ndarray, ctx: Any) -> tuple[ImageBatch, np.ndarray, np.ndarray]:
    """The image batch for a kernel, its (B, n) contiguous source and a new destination."""
    ib = image_batch(x, ctx, t.field)
    return (ib, *_flat(ib))


def _done(ib: ImageBatch, dst: np.ndarray) -> np.ndarray:
    return ib.restore(dst.reshape(ib.x.shape))


def _keys(params: dict[str, Any]) -> np.ndarray:
    return col(params["key"], np.uint64)


def gaussian_coefficients(std: Any, mean: Any, maxval: int) -> tuple[Any, Any]:
    """Per-image float32 (scale, offset) of ``x + scale * z + offset`` in the kernel's units
    (``maxval`` levels for integer images, the [0, 1] scale for float); for integer images the
    offset carries the +0.5 of round-to-nearest. Arrays or plain scalars (the same float64
    arithmetic, then float32). Shared by the numpy and torch kernels."""
    if not maxval:
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
    if "grain" in params:  # correlated: the grain field of image.AdditiveNoise
        from .additive import additive_numpy

        return additive_numpy(t, x, params, ctx, philox.gaussian_table(), "per_pixel" if t.params.per_channel else "shared")
    k = _nb()
    ib, src, dst = _prepare(t, x, ctx)
    table = philox.gaussian_table()
    layout = (ib.channels, ib.channels_first, not t.params.per_channel and ib.channels > 1)
    clip = bool(t.params.clip)
    if src.shape[0] == 1 and _one(params, "std", "mean", "key"):
        scale, offset = gaussian_coefficients(params["std"], params["mean"], ib.maxval)
        k.gauss1(src[0], dst[0], table, scale, offset, ib.maxval, clip, np.uint64(params["key"]), *layout)
    else:
        scale, offset = gaussian_coefficients(col(params["std"]), col(params["mean"]), ib.maxval)
        k.gauss(src, dst, table, scale, offset, ib.maxval, clip, _keys(params), *layout)
    return _done(ib, dst)


@kernel(SaltAndPepper, "numpy")
def salt_and_pepper(t: SaltAndPepper, x: np.ndarray, params: dict[str, Any], ctx: Any) -> np.ndarray:
    k = _nb()
    ib, src, dst = _prepare(t, x, ctx)
    layout = (ib.channels, ib.channels_first, not t.params.per_channel and ib.channels > 1)
    hi = float(ib.maxval or 1.0)
    if src.shape[0] == 1 and _one(params, "amount", "salt_ratio", "key"):
        amount = params["amount"]
        k.salt_pepper1(src[0], dst[0], np.uint64(thresholds(amount * params["salt_ratio"])),
                       np.uint64(thresholds(amount)), np.uint64(params["key"]), *layout, hi)
    else:
        amount = col(params["amount"])
        k.salt_pepper(src, dst, thresholds(amount * col(params["salt_ratio"])), thresholds(amount), _keys(params),
                      *layout, hi)
    return _done(ib, dst)


@kernel(ShotNoise, "numpy")
def shot_noise(t: ShotNoise, x: np.ndarray, params: dict[str, Any], ctx: Any) -> np.ndarray:
    k = _nb()
    ib, src, dst = _prepare(t, x, ctx)
    maxval, linear = float(ib.maxval), bool(t.params.linear)
    if src.shape[0] == 1 and _one(params, "photons", "key"):
        k.shot1(src[0], dst[0], params["photons"], np.uint64(params["key"]), maxval, linear, ib.channels,
                ib.channels_first)
    else:
        k.shot(src, dst, col(params["photons"]), _keys(params), maxval, linear, ib.channels, ib.channels_first)
    return _done(ib, dst)


@kernel(SpeckleNoise, "numpy")
def speckle_noise(t: SpeckleNoise, x: np.ndarray, params: dict[str, Any], ctx: Any) -> np.ndarray:
    """``x * (1 + std * z)``: image.MultiplicativeNoise's kernel with the Gaussian table and m0 = 1."""
    from . import _additive_numba as ka

    ib, src, dst = _prepare(t, x, ctx)
    layout = (ib.channels, ib.channels_first, not t.params.per_channel and ib.channels > 1)
    table, maxval = philox.gaussian_table(), float(ib.maxval)
    if src.shape[0] == 1 and _one(params, "std", "key"):
        ka.mult1(src[0], dst[0], table, 1.0, params["std"], np.uint64(params["key"]), maxval, *layout)
    else:
        stds = np.broadcast_to(col(params["std"]), src.shape[0]).astype(np.float64)
        ka.mult(src, dst, table, np.ones(src.shape[0]), stds, _keys(params), maxval, *layout)
    return _done(ib, dst)


def corruption_thresholds(t: Corruption, consts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(salt, hit) 32-bit thresholds per image for impulse noise (amount c, salt half of the
    hits, as scikit-image's ``salt_vs_pepper=0.5``); zeros for the other corruptions."""
    if t.params.name != "impulse_noise":
        zero = np.zeros(consts.shape, np.uint64)
        return zero, zero
    return thresholds(consts * 0.5), thresholds(consts)


@kernel(Corruption, "numpy")
def corruption(t: Corruption, x: np.ndarray, params: dict[str, Any], ctx: Any) -> np.ndarray:
    """One numba kernel for two kinds of data: uint8 values, and float64 on the [0, 1] scale.
    Quantised floats run as their 8-bit images (round(x * 255), so the result is the uint8
    result / 255 by construction); uint16 and unquantised floats run as float64 y, then
    truncated at 65535 levels or returned."""
    k = _nb()
    ib = image_batch(x, ctx, t.field)
    w = ib.x
    quant = bool(t.params.quantize)
    if ib.maxval == 255:
        work, maxval = w, 255.0
    elif not ib.maxval and quant:
        work, maxval = np.rint(np.asarray(w, np.float64) * 255.0).astype(np.uint8), 255.0
    else:
        work = np.asarray(w, np.float64) / float(ib.maxval) if ib.maxval else np.asarray(w, np.float64)
        maxval = 0.0
    src = np.ascontiguousarray(work).reshape(w.shape[0], -1)
    dst = np.empty_like(src)
    consts = t.constants(params["severity"])
    ts, th = corruption_thresholds(t, consts)
    k.corrupt(src, dst, philox.gaussian_table(), t.kind, consts, ts, th, _keys(params), maxval, ib.channels,
              ib.channels_first)
    y = dst.reshape(w.shape)
    if ib.maxval == 255:
        return ib.restore(y)
    if ib.maxval:
        return ib.restore(np.floor(y * float(ib.maxval)).astype(w.dtype))
    if quant:
        y = y / 255.0
    return ib.restore(y.astype(w.dtype))


_BITS = {np.dtype(np.float32): (np.uint32, np.uint32(0x3F800000)),
         np.dtype(np.float64): (np.uint64, np.uint64(0x3FF0000000000000))}


def maybe_outside_unit(x: np.ndarray) -> bool:
    """Whether a float32/float64 array may hold values outside [0, 1] or NaN/inf (no false
    negatives; -0.0 is the one false positive). One vectorised pass over the bits."""
    view, threshold = _BITS[x.dtype]
    return bool(_nb().unit_suspects(np.ascontiguousarray(x).reshape(-1).view(view), threshold))


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
    """Functional form of ``image.GaussianNoise`` on one numpy image (HxW or HxWxC), with an
    explicit 64-bit kernel ``key`` (which fully determines the noise); ``std`` and ``mean`` are
    fractions of the full range. Raises :class:`InputError` for NaN/inf or float values outside
    [0, 1]. Never modifies ``image``."""
    t = GaussianNoise(std=float(std), mean=float(mean), per_channel=per_channel, clip=clip)
    params = {"std": np.array([std], np.float64), "mean": np.array([mean], np.float64),
              "key": np.array([int(key) & 0xFFFFFFFFFFFFFFFF], np.uint64)}
    return gaussian(t, image[None], params, None)[0]
