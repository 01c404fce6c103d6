"""image.SensorNoise: calibrated Poisson-Gaussian camera noise, and its calibration from a pair
of frames (:func:`calibrate_sensor`)."""
from __future__ import annotations

from typing import Any, Literal, NamedTuple

import numpy as np
from pydantic import Field

from ..core.errors import InputError
from ..core.kernels import col, kernel
from ..core.params import BaseParams, RangeParam
from ..core.transform import Example
from .base import ImageTransform, example_image
from .layout import image_batch


class SensorNoise(ImageTransform):
    """Signal-dependent camera noise (Poisson-Gaussian, Foi et al. 2008): on the [0, 1] scale,
    ``y = a * Poisson(x / a) + sqrt(b) * n``, n standard normal, so ``E[y] = x`` and
    ``Var[y] = a * x + b``: photon noise (``a``: the variance per unit of signal, 1 / photons at
    full white; 0 for none; below 1e-12, a std under 1e-6 of the range, it is left out) plus
    read noise (``b``: its variance). Each value draws its own photons and read noise. Output
    saturates as a sensor does (clipped to the range; integers rounded to nearest).
    ``linear: true`` treats the image as sRGB: decoded to linear light, noised, re-encoded.
    ``chroma`` adds colour noise of that std on the Cb and Cr axes of BT.601 YCbCr (luminance
    unchanged), one draw per pixel, as ISO noise looks; it needs 3 (RGB) channels. Values or
    ``[lo, hi]`` ranges drawn per call. Calibrate ``a`` and ``b`` for a camera with
    :func:`calibrate_sensor`. ``model: gaussian`` draws ``x + sqrt(a * x + b) * n`` instead:
    the same mean and variance without the Poisson skew (the heteroscedastic Gaussian
    approximation, close when x / a is above about 20 photons), several times faster.
    """

    name = "image.SensorNoise"
    exact_backends = False  # Poisson and Box-Muller: float64 transcendentals may round differently

    class Params(BaseParams):
        a: RangeParam(ge=0, le=1, unit="variance per unit signal") = Field(0.01, description="photon (Poisson) part: Var = a * x")
        b: RangeParam(ge=0, le=1, unit="variance") = Field(1e-4, description="read (Gaussian) noise variance")
        linear: bool = Field(False, description="decode sRGB to linear light before adding the noise")
        chroma: RangeParam(ge=0, le=1, unit="fraction of full range") = Field(0.0, description="colour noise std on Cb and Cr (needs 3 channels)")
        model: Literal["poisson", "gaussian"] = Field("poisson", description="poisson: exact photon counts; gaussian: x + sqrt(a x + b) n (same mean and variance, faster)")

    examples = (
        Example({"a": 0.01, "b": 1e-4}, example_image(np.uint8)),
        Example({"a": [0.001, 0.02], "b": [0.0, 4e-4], "linear": True}, example_image(np.float32)),
        Example({"a": 0.002, "b": 0.0}, example_image(np.uint16, (6, 6, 1))),
        Example({"a": 0.0, "b": 1e-3}, example_image(np.float32, (5, 7))),
        Example({"a": 0.005, "chroma": 0.03}, example_image(np.uint8, (6, 5, 3))),
        Example({"a": [0.002, 0.01], "b": 1e-4, "model": "gaussian"}, example_image(np.float32, (6, 5, 3))),
    )

    def draw(self, r: Any) -> dict[str, Any]:
        q = self.params
        return {"a": r.value(q.a), "b": r.value(q.b), "chroma": r.value(q.chroma), "key": r.key()}


def _prepare(t: SensorNoise, x: Any, params: dict[str, Any], ctx: Any) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray]:
    ib = image_batch(x, ctx, t.field)
    chroma = col(params["chroma"])
    if ib.channels != 3 and np.any(chroma > 0):
        raise InputError(f"chroma noise needs 3 (RGB) channels, got {ib.channels} in layout {ib.layout}; "
                         "set chroma: 0 for other channel counts")
    a = col(params["a"])
    return ib, a, np.sqrt(col(params["b"])), chroma


@kernel(SensorNoise, "numpy")
def sensor_noise(t: SensorNoise, x: np.ndarray, params: dict[str, Any], ctx: Any) -> np.ndarray:
    from ..core import philox
    from . import _sensor_numba as k

    ib, a, sb, chroma = _prepare(t, x, params, ctx)
    w = ib.x
    src = (w if w.flags.c_contiguous else np.ascontiguousarray(w)).reshape(w.shape[0], -1)
    dst = np.empty_like(src)
    n = src.shape[0]
    k.sensor(src, dst, philox.gaussian_table(), np.broadcast_to(a, n).copy(), np.broadcast_to(sb, n).copy(),
             np.broadcast_to(chroma, n).copy(), t.params.model == "gaussian",
             np.broadcast_to(col(params["key"], np.uint64), n).copy(), float(ib.maxval), bool(t.params.linear),
             ib.channels, ib.channels_first)
    return ib.restore(dst.reshape(w.shape))


@kernel(SensorNoise, "torch")
def sensor_noise_torch(t: SensorNoise, x: Any, params: dict[str, Any], ctx: Any) -> Any:
    import torch

    from ..torch import philox
    from .torch_kernels import _canonical_to_layout, _decode, _draws, _encode, _per_image, _store, poisson

    ib, a, sb, chroma = _prepare(t, x, params, ctx)
    w = ib.x
    bsz, c = w.shape[0], ib.channels
    n = ib.pixels * c
    canon = torch.arange(n, dtype=torch.int64, device=w.device)
    pos = _canonical_to_layout(canon[None].expand(bsz, n), ib, False).expand(w.shape)
    keys = philox.keys_tensor(params["key"], w.device).reshape((-1,) + (1,) * (w.dim() - 1)).expand(w.shape)
    k0, k1 = keys & philox.MASK32, (keys >> 32) & philox.MASK32
    inv = 1.0 / ib.maxval if ib.maxval else 1.0
    v = w.to(torch.float64) * inv
    if t.params.linear:
        v = _decode(v)
    av = _per_image(np.broadcast_to(a, bsz), w, torch.float64).expand(w.shape)
    z = _draws(ib, params, False, "normal").to(torch.float64)  # stream 0 table normals at canonical positions
    sbv = _per_image(np.broadcast_to(sb, bsz), w, torch.float64)
    if t.params.model == "gaussian":
        y = v + torch.sqrt((av * v + sbv * sbv).clamp(min=0.0)) * z
    else:
        y = v.clone()
        hit = av > 1e-12  # as the numba kernel's A_MIN: below it the photon part is left out
        if bool(hit.any()):
            lam = torch.where(hit, v / torch.where(hit, av, torch.ones_like(av)), torch.zeros_like(v))
            y[hit] = av[hit] * poisson(lam[hit], keys[hit], pos[hit])
        y = y + sbv * z

    def normals(stream: int, where: Any) -> tuple[Any, Any]:
        one = torch.ones((), dtype=torch.int64, device=w.device)
        w0, w1, _, _ = philox.block(where & philox.MASK32, where >> 32, one * stream, one * 0, k0, k1)
        r = torch.sqrt(-2.0 * torch.log((w0.to(torch.float64) + 0.5) * 2.0 ** -32))
        th = 2.0 * np.pi * ((w1.to(torch.float64) + 0.5) * 2.0 ** -32)
        return r * torch.cos(th), r * torch.sin(th)

    if np.any(chroma > 0):
        cb, cr = normals(3, pos // c)
        chan = pos % c
        rows = torch.where(chan == 0, 1.402 * cr, torch.where(chan == 1, -0.344136 * cb - 0.714136 * cr, 1.772 * cb))
        y = y + _per_image(np.broadcast_to(chroma, bsz), w, torch.float64) * rows
    if t.params.linear:
        y = _encode(y.clamp(max=1.0))
    return ib.restore(_store(y, ib, w))


class SensorFit(NamedTuple):
    """Result of :func:`calibrate_sensor`: ``Var = a * x + b`` with standard errors, and the
    points fitted (bin means, variances, pixel counts)."""

    a: float
    b: float
    a_se: float
    b_se: float
    means: np.ndarray
    variances: np.ndarray
    counts: np.ndarray


def _unit_scale(x: Any) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype == np.uint8:
        return x.astype(np.float64) / 255.0
    if x.dtype == np.uint16:
        return x.astype(np.float64) / 65535.0
    if x.dtype.kind != "f":
        raise InputError(f"calibrate_sensor: frames must be uint8, uint16 or float on [0, 1], got {x.dtype}")
    return x.astype(np.float64)


def calibrate_sensor(first: Any, second: Any | None = None, bins: int = 32, lo: float = 0.02,
                     hi: float = 0.98, min_count: int = 100, smooth: int = 9) -> SensorFit:
    """Estimate SensorNoise's ``a`` and ``b`` from pairs of frames of the same static scene.

    ``first, second``: two frames (numpy, uint8 / uint16 / float on [0, 1]) of one scene taken
    the same way: flat fields at several exposures, or one scene with many levels (a ramp, a
    chart). Or ``first`` as a list of ``(frame, frame)`` pairs. Pixels are binned by the level of
    the scene, estimated as the pair mean averaged over ``smooth`` x ``smooth`` pixels (binning
    on the noisy pair mean itself would let the noise move pixels between bins and flatten the
    line: the scene must be smooth at that scale, as flat fields, ramps and chart patches are;
    ``smooth=1`` turns it off). Per bin (``bins`` equal bins over ``[lo, hi]``, leaving out the
    levels near the ends where the sensor clips; bins with fewer than ``min_count`` pixels are
    dropped), the noise variance is
    ``var(first - second) / 2`` (the scene cancels); then a weighted least-squares line
    through (mean, variance), each point weighted by the inverse variance of a sample
    variance, ``2 * var**2 / (count - 1)``. Integer frames include the rounding variance
    (1/12 level**2) in ``b``.

    >>> import numpy as np, augnoise
    >>> from augnoise.image import SensorNoise
    >>> ramp = np.tile(np.linspace(0.05, 0.95, 512, dtype=np.float32), (512, 1))
    >>> p = augnoise.Pipeline(sample=[SensorNoise(a=0.01, b=1e-4)], seed=0)
    >>> fit = calibrate_sensor(p(ramp, index=0), p(ramp, index=1))
    >>> bool(abs(fit.a - 0.01) < 5 * fit.a_se and abs(fit.b - 1e-4) < 5 * fit.b_se)
    True
    """
    pairs = list(first) if second is None else [(first, second)]
    if not pairs:
        raise InputError("calibrate_sensor: give two frames, or a list of (frame, frame) pairs")
    ms, ds = [], []
    for k, (f1, f2) in enumerate(pairs):
        u, v = _unit_scale(f1), _unit_scale(f2)
        if u.shape != v.shape:
            raise InputError(f"calibrate_sensor: pair {k}: frames differ in shape, {u.shape} vs {v.shape}")
        if not (np.isfinite(u).all() and np.isfinite(v).all()):
            raise InputError(f"calibrate_sensor: pair {k}: frames hold NaN or inf")
        level = (u + v) / 2
        if smooth > 1:
            from scipy.ndimage import uniform_filter

            size = (smooth, smooth) + (1,) * (level.ndim - 2)
            level = uniform_filter(level, size=size, mode="nearest")
        ms.append(level.reshape(-1))
        ds.append((u - v).reshape(-1))
    m, d = np.concatenate(ms), np.concatenate(ds)
    edges = np.linspace(lo, hi, bins + 1)
    which = np.digitize(m, edges) - 1
    ok = (which >= 0) & (which < bins)
    counts = np.bincount(which[ok], minlength=bins)
    sums = np.bincount(which[ok], weights=m[ok], minlength=bins)
    dsum = np.bincount(which[ok], weights=d[ok], minlength=bins)
    dsq = np.bincount(which[ok], weights=d[ok] ** 2, minlength=bins)
    use = counts >= max(min_count, 2)
    if use.sum() < 3:
        raise InputError(f"calibrate_sensor: needs at least 3 intensity levels with {min_count} pixels each in "
                         f"[{lo:g}, {hi:g}], got {int(use.sum())} (use a scene with more levels, or more pairs)")
    n = counts[use].astype(np.float64)
    means = sums[use] / n
    var_d = (dsq[use] - dsum[use] ** 2 / n) / (n - 1)
    var = var_d / 2
    # levels whose noise reaches the ends (within 4 std of 0 or 1) are clipped by the sensor,
    # which lowers their variance: leave them out
    sd = np.sqrt(np.maximum(var, 0.0))
    keep = (means - 4 * sd > 0) & (means + 4 * sd < 1)
    if keep.sum() < 3:
        raise InputError(f"calibrate_sensor: needs at least 3 intensity levels whose noise stays clear of the clipping "
                         f"ends (4 std), got {int(keep.sum())} (use levels nearer mid-grey)")
    n, means, var, counts_used = n[keep], means[keep], var[keep], counts[use][keep]
    w = (n - 1) / (2 * np.maximum(var, 1e-300) ** 2)
    X = np.stack([means, np.ones_like(means)], axis=1)
    cov = np.linalg.inv(X.T @ (w[:, None] * X))
    a, b = cov @ (X.T @ (w * var))
    return SensorFit(float(a), float(b), float(np.sqrt(cov[0, 0])), float(np.sqrt(cov[1, 1])), means, var, counts_used)
