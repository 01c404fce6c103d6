"""image.AdditiveNoise and image.MultiplicativeNoise: noise of a chosen distribution, per value,
per pixel (shared by the channels), per channel or one value per image, optionally spatially
correlated (``grain``); and the grain field image.GaussianNoise uses too.

Every distribution is a 65,536-entry inverse-CDF table (entry ``j`` at quantile
``(j + 0.5) / 65536``, re-centred and re-scaled to mean 0 and variance 1 exactly, as the Gaussian
table of :mod:`augnoise.core.philox`), indexed by the 16-bit lanes of stream 0 at each value's
canonical HWC position: the CDF is the distribution's to within 1 / 65536, the std is exactly
the requested one, and the numpy and torch kernels look up the same entries.

Grain: the Gaussian field drawn on a grid padded by ``r = ceil(3 sigma)`` pixels, filtered by a
separable Gaussian of ``sigma = grain / sqrt(2)`` whose taps have unit sum of squares (so the
std stays 1), then cut to the image: the autocorrelation at a distance ``d`` (pixels) is
``exp(-d**2 / (2 grain**2))``, 0.61 at ``d = grain``. The filter runs in float32 in a fixed order
of taps in both kernels (so they agree value for value).
"""
from __future__ import annotations

import functools
import math
import threading
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field, WithJsonSchema
from pydantic.functional_validators import BeforeValidator

from ..core.errors import ParamError
from ..core.kernels import col, kernel
from ..core.params import BaseParams, RangeParam, show
from ..core.transform import Example
from .base import ImageTransform, example_image
from .kernels import _done, _flat
from .layout import ImageBatch, image_batch

DISTRIBUTIONS = ("gaussian", "uniform", "laplace", "beta")
MODES = ("per_pixel", "shared", "per_channel", "constant")
#: the largest grain (pixels): the filter has 2 * ceil(3 * grain / sqrt(2)) + 1 taps per axis
MAX_GRAIN = 32


@functools.lru_cache(maxsize=32)
def distribution_table(name: str, alpha: float = 2.0, beta: float = 2.0) -> np.ndarray:
    """The read-only float32 inverse-CDF table of a standardised distribution (mean 0,
    variance 1 exactly): gaussian, uniform, laplace, or beta(alpha, beta)."""
    from ..core import philox

    if name == "gaussian":
        return philox.gaussian_table()
    u = (np.arange(1 << philox.TABLE_BITS, dtype=np.float64) + 0.5) / (1 << philox.TABLE_BITS)
    if name == "uniform":
        t = u - 0.5
    elif name == "laplace":
        t = np.where(u < 0.5, np.log(2 * u), -np.log(2 * (1 - u)))
    elif name == "beta":
        from scipy.special import betaincinv

        t = betaincinv(alpha, beta, u)
    else:
        raise ValueError(f"unknown distribution {name!r}")
    t = t - t.mean()
    t /= np.sqrt(np.mean(t * t))
    out = t.astype(np.float32)
    out.setflags(write=False)
    return out


def grain_taps(grain: float) -> np.ndarray:
    """The 1-D float32 taps of the grain filter (``2r + 1`` of them, unit sum of squares,
    computed in float64): ``[1.0]`` for grain 0 (white noise, the unfiltered draws)."""
    if grain <= 0:
        return np.ones(1, np.float32)
    sigma = grain / math.sqrt(2.0)
    r = max(1, math.ceil(3.0 * sigma))
    k = np.arange(-r, r + 1, dtype=np.float64)
    t = np.exp(-k * k / (2.0 * sigma * sigma))
    return (t / np.sqrt(np.sum(t * t))).astype(np.float32)


def _spatial(ib: ImageBatch) -> tuple[int, int]:
    shape = tuple(ib.x.shape[1:])
    return shape[ib.layout.index("H")], shape[ib.layout.index("W")]


_SCRATCH = threading.local()


def _scratch(name: str, size: int) -> np.ndarray:
    """A float32 buffer of ``size`` values reused by this thread (the grain field's draws and
    first pass are megabytes: a fresh allocation per call costs more in page faults than the
    filter itself)."""
    buf = getattr(_SCRATCH, name, None)
    if buf is None or buf.size < size:
        buf = np.empty(max(size, 1 << 16), np.float32)
        setattr(_SCRATCH, name, buf)
    return buf[:size]


def grain_field(table: np.ndarray, keys: np.ndarray, grains: np.ndarray, h: int, w: int, planes: int) -> np.ndarray:
    """``(B, h, w, planes)`` float32 noise of unit std, correlated over ``grains[b]`` pixels
    (white where 0: then exactly the draws the unfiltered kernels make)."""
    from . import _additive_numba as k

    out = np.empty((len(keys), h, w, planes), np.float32)
    for b in range(len(keys)):
        taps = grain_taps(float(grains[b]))
        r = len(taps) // 2
        hp, wp = h + 2 * r, w + 2 * r
        if r == 0:
            k.draws_into(out[b].reshape(-1), table, keys[b])
            continue
        z = _scratch("z", hp * wp * planes)
        k.draws_into(z, table, keys[b])
        k.separable(z.reshape(hp, wp * planes), taps, h, w, _scratch("acc", hp * w * planes).reshape(hp, w * planes),
                    out[b].reshape(h, w * planes))
    return out


def _to_layout(z: np.ndarray, ib: ImageBatch) -> np.ndarray:
    """``(B, H, W, planes)`` canonical noise -> broadcastable to the batch's layout."""
    if ib.layout == "HW":
        return z[..., 0]
    return np.moveaxis(z, 3, 1) if ib.layout == "CHW" else z


def noise_field(ib: ImageBatch, table: np.ndarray, keys: np.ndarray, mode: str, grains: np.ndarray | None) -> np.ndarray:
    """The batch's unit noise field (per value, or per pixel when ``mode`` is shared), correlated
    over ``grains`` pixels, broadcastable to its layout."""
    planes = 1 if mode == "shared" or ib.channels == 1 else ib.channels
    h, w = _spatial(ib)
    z = grain_field(table, keys, np.zeros(len(keys)) if grains is None else grains, h, w, planes)
    return _to_layout(z, ib)


def _dense(ib: ImageBatch, z: np.ndarray) -> tuple[np.ndarray, int]:
    """The noise as ``(B, values)`` in the destination's order, and how many destination values
    share one (the channels, for channels-last shared noise; else 1)."""
    b = z.shape[0]
    if ib.layout == "CHW" and ib.channels > 1:  # noise in (B, C or 1, H, W): to the full layout
        return np.ascontiguousarray(np.broadcast_to(z, ib.x.shape)).reshape(b, -1), 1
    shared = ib.layout == "HWC" and z.shape[-1] == 1 and ib.channels > 1
    return np.ascontiguousarray(z).reshape(b, -1), ib.channels if shared else 1


def add_field(ib: ImageBatch, z: np.ndarray, scale: np.ndarray, offset: np.ndarray, clip: bool) -> Any:
    """``x + scale * z + offset`` with image.GaussianNoise's float32 arithmetic, rounding and
    clipping (``scale``/``offset`` from :func:`.kernels.gaussian_coefficients`)."""
    from . import _additive_numba as k

    src, dst = _flat(ib)
    zd, rep = _dense(ib, z)
    k.add_dense(src, dst, zd, np.asarray(scale, np.float32).reshape(-1), np.asarray(offset, np.float32).reshape(-1),
                ib.maxval, clip, rep)
    return _done(ib, dst)


def multiply_field(ib: ImageBatch, z: np.ndarray, m0: np.ndarray, m1: np.ndarray) -> Any:
    """``x * (m0 + m1 * z)`` on the [0, 1] scale in float64, stored as the fused kernel stores it
    (integers rounded half to even and saturated, floats clipped)."""
    from . import _additive_numba as k

    src, dst = _flat(ib)
    zd, rep = _dense(ib, z)
    k.mult_dense(src, dst, zd, np.asarray(m0, np.float64).reshape(-1), np.asarray(m1, np.float64).reshape(-1),
                 float(ib.maxval), rep)
    return _done(ib, dst)


def _check_multiplier(v: Any) -> Any:
    ok = isinstance(v, (list, tuple)) and len(v) == 2 and all(
        isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in v)
    if not ok or not 0 <= v[0] <= v[1] <= 10:
        raise ValueError(f"must be [lo, hi] with 0 <= lo <= hi <= 10 (finite numbers), got {show(v)}")
    return [float(v[0]), float(v[1])]


#: MultiplicativeNoise's multiplier range (checked as a whole, so errors name the field)
Multiplier = Annotated[Any, BeforeValidator(_check_multiplier),
                       WithJsonSchema({"type": "array", "items": {"type": "number", "minimum": 0, "maximum": 10},
                                       "minItems": 2, "maxItems": 2})]


def _check_grain(name: str, params: Any, spatial_ok: bool, what: str) -> None:
    g = params.grain
    if (max(g) if isinstance(g, (list, tuple)) else g) > 0 and not spatial_ok:
        raise ParamError(name, [("grain", what)])


class AdditiveNoise(ImageTransform):
    """Add noise of a chosen ``distribution`` (gaussian, uniform, laplace or beta), with its
    ``std`` and ``mean`` as fractions of the full range whatever the distribution (uniform noise
    of std s spans +-s*sqrt(3); Laplace noise has scale s/sqrt(2); beta(alpha, beta) is
    standardised, then scaled), drawn per call from a value or ``[lo, hi]``.

    ``mode``: ``per_pixel`` (every value its own draw), ``shared`` (one draw per pixel, the same
    on every channel: luminance-like), ``per_channel`` (one draw per channel for the whole
    image: a colour cast) or ``constant`` (one draw for the whole image: a brightness shift).
    ``grain`` (pixels, gaussian only, per_pixel or shared) correlates the noise spatially: the
    autocorrelation at distance d is ``exp(-d**2 / (2 grain**2))``, the std stays ``std``. Integer
    images are rounded to nearest and saturated; floats clipped to [0, 1] unless ``clip: false``.
    With ``distribution: gaussian, mode: per_pixel`` it is image.GaussianNoise, byte for byte.
    """

    name = "image.AdditiveNoise"

    class Params(BaseParams):
        distribution: Literal["gaussian", "uniform", "laplace", "beta"] = Field("gaussian", description="noise distribution (std is the common parameter)")
        std: RangeParam(ge=0, le=1, unit="fraction of full range") = Field(0.05, description="noise std, fraction of the full range")
        mean: RangeParam(ge=-1, le=1, unit="fraction of full range") = Field(0.0, description="noise mean, fraction of the full range")
        alpha: float = Field(2.0, ge=0.1, le=100, description="beta distribution's alpha (distribution: beta only)")
        beta: float = Field(2.0, ge=0.1, le=100, description="beta distribution's beta (distribution: beta only)")
        mode: Literal["per_pixel", "shared", "per_channel", "constant"] = Field("per_pixel", description="per_pixel: every value; shared: per pixel, same on all channels; per_channel: one per channel; constant: one per image")
        grain: RangeParam(ge=0, le=MAX_GRAIN, unit="pixels") = Field(0.0, description="correlation length in pixels (gaussian, per_pixel or shared)")
        clip: bool = Field(True, description="clip float images to [0, 1] (integer images always saturate)")

    examples = (
        Example({"distribution": "uniform", "std": [0.05, 0.2]}, example_image(np.uint8)),
        Example({"distribution": "laplace", "std": 0.1, "mode": "shared", "p": 0.7}, example_image(np.uint16)),
        Example({"distribution": "beta", "alpha": 0.5, "beta": 2.0, "std": 0.1, "mean": 0.02}, example_image(np.float32, (6, 7))),
        Example({"std": 0.1, "mode": "per_channel"}, example_image(np.uint8, (5, 6, 3))),
        Example({"distribution": "uniform", "std": 0.1, "mode": "constant", "clip": False}, example_image(np.float32, (5, 4, 1))),
        Example({"std": 0.1, "grain": [1.0, 3.0]}, example_image(np.uint8, (9, 8, 3))),
        Example({"std": 0.1, "grain": 2.0, "mode": "shared"}, example_image(np.float32, (7, 9, 2))),
    )

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        q = self.params
        if q.distribution != "beta":
            given = [f for f in ("alpha", "beta") if f in q.model_fields_set]
            if given:
                raise ParamError(self.name, [(given[0], f"applies to distribution: beta only, not {q.distribution}")])
        _check_grain(self.name, q, q.distribution == "gaussian" and q.mode in ("per_pixel", "shared"),
                     "needs distribution: gaussian and mode per_pixel or shared (filtering makes any "
                     "distribution Gaussian-like; per_channel and constant have no spatial extent)")
        self.table = distribution_table(q.distribution, float(q.alpha), float(q.beta))

    def draw(self, r: Any) -> dict[str, Any]:
        out = {"std": r.value(self.params.std), "mean": r.value(self.params.mean), "key": r.key()}
        if self.params.grain != 0:
            out["grain"] = r.value(self.params.grain)
        return out


class MultiplicativeNoise(ImageTransform):
    """Multiply by random multipliers: uniform in ``multiplier: [lo, hi]`` (default), or
    ``1 + std * n`` with n standard normal (``distribution: gaussian``; drawn per call from a
    value or ``[lo, hi]``). ``mode`` as image.AdditiveNoise: ``per_pixel`` (every value),
    ``shared`` (per pixel, same on all channels), ``per_channel`` (one multiplier per channel:
    a colour gain) or ``constant`` (one per image: a brightness gain); ``grain`` (gaussian only)
    correlates the multipliers spatially. Black stays black; output clipped to the range,
    integers rounded half to even. ``distribution: gaussian, mode: per_pixel`` is
    image.SpeckleNoise, value for value."""

    name = "image.MultiplicativeNoise"

    class Params(BaseParams):
        distribution: Literal["uniform", "gaussian"] = Field("uniform", description="uniform multipliers in multiplier, or 1 + std * n")
        multiplier: Multiplier = Field([0.9, 1.1], description="[lo, hi]: the range of the uniform multipliers")
        std: RangeParam(ge=0, le=10, unit="relative std") = Field(0.1, description="relative std of the Gaussian multiplier (distribution: gaussian)")
        mode: Literal["per_pixel", "shared", "per_channel", "constant"] = Field("per_pixel", description="per_pixel: every value; shared: per pixel, same on all channels; per_channel: one per channel; constant: one per image")
        grain: RangeParam(ge=0, le=MAX_GRAIN, unit="pixels") = Field(0.0, description="correlation length in pixels (gaussian, per_pixel or shared)")

    examples = (
        Example({"multiplier": [0.7, 1.3]}, example_image(np.uint8)),
        Example({"multiplier": [0.5, 1.5], "mode": "shared"}, example_image(np.float32)),
        Example({"distribution": "gaussian", "std": [0.1, 0.3], "mode": "per_channel"}, example_image(np.uint16, (7, 3, 2))),
        Example({"multiplier": [0.8, 1.2], "mode": "constant", "p": 0.6}, example_image(np.float32, (6, 5))),
        Example({"distribution": "gaussian", "std": 0.2, "grain": 2.0}, example_image(np.uint8, (9, 8, 3))),
    )

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        q = self.params
        wrong = "std" if q.distribution == "uniform" else "multiplier"
        if wrong in q.model_fields_set:
            raise ParamError(self.name, [(wrong, f"does not apply to distribution: {q.distribution} "
                                                 f"({'multiplier' if wrong == 'std' else 'std'} sets its spread)")])
        _check_grain(self.name, q, q.distribution == "gaussian" and q.mode in ("per_pixel", "shared"),
                     "needs distribution: gaussian and mode per_pixel or shared")
        self.table = distribution_table(q.distribution)

    def coefficients(self, params: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        """Per-image float64 ``(m0, m1)`` of the multiplier ``m0 + m1 * z`` (z of unit std)."""
        if self.params.distribution == "gaussian":
            m1 = col(params["std"])
            return np.ones_like(m1), m1
        lo, hi = self.params.multiplier
        n = len(col(params["key"], np.uint64))
        return np.full(n, (lo + hi) / 2.0), np.full(n, (hi - lo) / math.sqrt(12.0))

    def draw(self, r: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.params.distribution == "gaussian":
            out["std"] = r.value(self.params.std)
        out["key"] = r.key()
        if self.params.grain != 0:
            out["grain"] = r.value(self.params.grain)
        return out


def _grains(params: dict[str, Any]) -> np.ndarray | None:
    return col(params["grain"]) if "grain" in params else None


def _fused(mode: str, grains: np.ndarray | None) -> bool:
    return mode in ("per_pixel", "shared") and (grains is None or not np.any(grains > 0))


def _keys(params: dict[str, Any], n: int) -> np.ndarray:
    return np.broadcast_to(col(params["key"], np.uint64), n).copy()


def additive_numpy(t: Any, x: np.ndarray, params: dict[str, Any], ctx: Any, table: np.ndarray, mode: str) -> np.ndarray:
    """The numpy kernel of additive noise from ``table`` (image.AdditiveNoise, and
    image.GaussianNoise with grain)."""
    from .kernels import _nb, gaussian_coefficients

    ib = image_batch(x, ctx, t.field)
    n = ib.x.shape[0]
    grains = _grains(params)
    std, mean = np.broadcast_to(col(params["std"]), n), np.broadcast_to(col(params["mean"]), n)
    scale, offset = gaussian_coefficients(std.copy(), mean.copy(), ib.maxval)
    if _fused(mode, grains):
        src, dst = _flat(ib)
        shared = mode == "shared" and ib.channels > 1
        _nb().gauss(src, dst, table, scale, offset, ib.maxval, bool(t.params.clip), _keys(params, n), ib.channels,
                    ib.channels_first, shared)
        return _done(ib, dst)
    if mode in ("per_channel", "constant"):
        from . import _additive_numba as k

        src, dst = _flat(ib)
        z = k.draws(table, _keys(params, n), ib.channels if mode == "per_channel" else 1)
        k.add_planes(src, dst, z, scale, offset, ib.maxval, bool(t.params.clip), ib.channels, ib.channels_first)
        return _done(ib, dst)
    z = noise_field(ib, table, _keys(params, n), mode, None if grains is None else np.broadcast_to(grains, n))
    return add_field(ib, z, scale, offset, bool(t.params.clip))


@kernel(AdditiveNoise, "numpy")
def additive_noise(t: AdditiveNoise, x: np.ndarray, params: dict[str, Any], ctx: Any) -> np.ndarray:
    return additive_numpy(t, x, params, ctx, t.table, t.params.mode)


@kernel(MultiplicativeNoise, "numpy")
def multiplicative_noise(t: MultiplicativeNoise, x: np.ndarray, params: dict[str, Any], ctx: Any) -> np.ndarray:
    from . import _additive_numba as k

    ib = image_batch(x, ctx, t.field)
    n = ib.x.shape[0]
    m0, m1 = (np.broadcast_to(v, n).astype(np.float64) for v in t.coefficients(params))
    mode, grains = t.params.mode, _grains(params)
    if _fused(mode, grains):
        src, dst = _flat(ib)
        k.mult(src, dst, t.table, m0, m1, _keys(params, n), float(ib.maxval), ib.channels, ib.channels_first,
               mode == "shared" and ib.channels > 1)
        return _done(ib, dst)
    if mode in ("per_channel", "constant"):
        src, dst = _flat(ib)
        z = k.draws(t.table, _keys(params, n), ib.channels if mode == "per_channel" else 1)
        k.mult_planes(src, dst, z, m0, m1, float(ib.maxval), ib.channels, ib.channels_first)
        return _done(ib, dst)
    z = noise_field(ib, t.table, _keys(params, n), mode, None if grains is None else np.broadcast_to(grains, n))
    return multiply_field(ib, z, m0, m1)


# ---- torch kernels (any device): the same table entries, filter order and arithmetic ----

def _torch_field(ib: ImageBatch, table: np.ndarray, params: dict[str, Any], mode: str) -> Any:
    """The unit noise as a tensor broadcastable to the batch (see :func:`noise_field`)."""
    import torch

    from ..torch import philox

    w = ib.x
    dev = w.device
    n = w.shape[0]
    keys = philox.keys_tensor(np.broadcast_to(col(params["key"], np.uint64), n).copy(), dev)
    tab = _device_table(table, dev)
    shared = mode == "shared" and ib.channels > 1
    if mode in ("per_channel", "constant"):
        z = tab[philox.lanes(keys, ib.channels if mode == "per_channel" else 1)]
        if ib.layout == "HW":
            return z.reshape(n, 1, 1)
        return z.reshape(n, -1, 1, 1) if ib.layout == "CHW" else z.reshape(n, 1, 1, -1)
    h, wd = _spatial(ib)
    planes = 1 if shared or ib.channels == 1 else ib.channels
    grains = np.broadcast_to(col(params["grain"]), n) if "grain" in params else np.zeros(n)
    if not np.any(grains > 0):  # white: one draw for the batch
        z = tab[philox.lanes(keys, h * wd * planes)].reshape(n, h, wd, planes)
        if ib.layout == "HW":
            return z[..., 0]
        return z.permute(0, 3, 1, 2) if ib.layout == "CHW" else z
    fields = []
    for b in range(n):
        taps = grain_taps(float(grains[b]))
        r = len(taps) // 2
        hp, wp = h + 2 * r, wd + 2 * r
        z = tab[philox.lanes(keys[b:b + 1], hp * wp * planes)][0].reshape(hp, wp, planes)
        if r:  # float32 products and sums in the numba kernel's order
            tt = torch.from_numpy(taps).to(dev)
            acc = tt[0] * z[:, 0:wd]
            for j in range(1, len(taps)):
                acc = acc + tt[j] * z[:, j:j + wd]
            z = tt[0] * acc[0:h]
            for j in range(1, len(taps)):
                z = z + tt[j] * acc[j:j + h]
        fields.append(z)
    z = torch.stack(fields)
    if ib.layout == "HW":
        return z[..., 0]
    return z.permute(0, 3, 1, 2) if ib.layout == "CHW" else z


def _col_tensor(v: Any, w: Any, dtype: Any) -> Any:
    """One value per image (a number or an array) as a tensor broadcastable to ``w``."""
    from .torch_kernels import _per_image

    return _per_image(np.broadcast_to(v, w.shape[0]), w, dtype)


_DEVICE_TABLES: dict[tuple[int, str], tuple[np.ndarray, Any]] = {}


def _device_table(table: np.ndarray, device: Any) -> Any:
    """``table`` as a tensor on ``device``, copied once per table and device (the tables are
    cached module objects, kept alive here with their copies)."""
    import torch

    key = (id(table), str(device))
    hit = _DEVICE_TABLES.get(key)
    if hit is None or hit[0] is not table:
        hit = _DEVICE_TABLES[key] = (table, torch.from_numpy(np.array(table)).to(device))
    return hit[1]


def additive_torch(t: Any, x: Any, params: dict[str, Any], ctx: Any, table: np.ndarray, mode: str) -> Any:
    """The torch kernel of additive noise from ``table`` (as :func:`additive_numpy`)."""
    import torch

    from .kernels import gaussian_coefficients

    ib = image_batch(x, ctx, t.field)
    w = ib.x
    n = w.shape[0]
    scale, offset = gaussian_coefficients(np.broadcast_to(col(params["std"]), n).copy(),
                                          np.broadcast_to(col(params["mean"]), n).copy(), ib.maxval)
    z = _torch_field(ib, table, params, mode)
    noise = _col_tensor(scale, w, torch.float32) * z + _col_tensor(offset, w, torch.float32)
    if ib.maxval:
        return ib.restore((w.to(torch.float32) + noise).clamp_(0.0, float(ib.maxval)).to(w.dtype))
    y = w + noise.to(w.dtype) if w.dtype == torch.float64 else w + noise
    return ib.restore(y.clamp_(0.0, 1.0) if t.params.clip else y)


@kernel(AdditiveNoise, "torch")
def additive_noise_torch(t: AdditiveNoise, x: Any, params: dict[str, Any], ctx: Any) -> Any:
    return additive_torch(t, x, params, ctx, t.table, t.params.mode)


@kernel(MultiplicativeNoise, "torch")
def multiplicative_noise_torch(t: MultiplicativeNoise, x: Any, params: dict[str, Any], ctx: Any) -> Any:
    import torch

    ib = image_batch(x, ctx, t.field)
    w = ib.x
    m0, m1 = t.coefficients(params)
    z = _torch_field(ib, t.table, params, t.params.mode).to(torch.float64)
    inv = 1.0 / ib.maxval if ib.maxval else 1.0
    y = (w.to(torch.float64) * inv) * (_col_tensor(m0, w, torch.float64) + _col_tensor(m1, w, torch.float64) * z)
    if ib.maxval:
        return ib.restore(torch.round(y * ib.maxval).clamp_(0, ib.maxval).to(w.dtype))
    return ib.restore(y.clamp(0.0, 1.0).to(w.dtype))
