"""torch kernels of the audio transforms (any device): the streams, scales and peak policy of
the numpy kernels. Powers, FFTs and gains are computed by torch, so results equal the numpy
kernels' to float rounding (the conformance tests compare them within a tolerance). torch loads
when a kernel first runs."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..core.kernels import col, kernel
from .background import BackgroundNoise
from .checks import FULL_SCALE, dtype_name
from .color import ColorNoise
from .gaussian import GaussianNoise
from .kernels import _one_sided, a_weighting_power, band_bins, clip_rates, snr_gains
from .snr import GaussianSNR


def _unit(x: Any) -> Any:
    """``(B, C, N)`` floats on the [-1, 1] scale (float32; float64 for float64 and int32 PCM)."""
    import torch

    x3 = x.reshape(x.shape[0], 1, x.shape[1]) if x.dim() == 2 else x
    scale = FULL_SCALE.get(dtype_name(x))
    if scale is None:
        return x3 if x.dtype in (torch.float32, torch.float64) else x3.to(torch.float32)
    work = torch.float64 if x.dtype == torch.int32 else torch.float32
    return x3.to(work) * (1.0 / scale)


def _finish(y: Any, like: Any, clip: Any) -> Any:
    import torch

    if clip == "rescale":
        peak = y.abs().flatten(1).amax(dim=1).clamp(min=1.0)
        y = y / peak[:, None, None]
    elif clip:
        y = y.clamp(-1.0, 1.0)
    scale = FULL_SCALE.get(dtype_name(like))
    if scale is not None:
        info = torch.iinfo(like.dtype)
        y = torch.round(y * scale).clamp_(info.min, info.max)
    return y.to(like.dtype).reshape(like.shape)


def _noise(x3: Any, params: dict[str, Any]) -> Any:
    from ..torch import philox

    b, c, n = x3.shape
    return philox.normals(philox.keys_tensor(params["key"], x3.device), c * n).reshape(b, c, n).to(x3.dtype)


def _per_clip(v: np.ndarray, like: Any) -> Any:
    import torch

    return torch.from_numpy(np.ascontiguousarray(v)).to(device=like.device, dtype=like.dtype)


@kernel(GaussianNoise, "torch")
def gaussian(t: GaussianNoise, x: Any, params: dict[str, Any], ctx: Any) -> Any:
    u = _unit(x)
    return _finish(u + _per_clip(col(params["std"]), u)[:, None, None] * _noise(u, params), x, t.params.clip)


def _mix(u: Any, z: Any, params: dict[str, Any], per_channel: bool, powers: Any = None) -> Any:
    """``u + g * z`` at the drawn SNRs (float64 powers and gains, as the numpy kernels);
    ``powers``: the ``(signal, noise)`` powers to use instead of the mean squares."""
    import torch

    if powers is None:
        powers = ((u.to(torch.float64) ** 2).mean(dim=2), (z.to(torch.float64) ** 2).mean(dim=2))
    snr = torch.from_numpy(col(params["snr_db"])).to(u.device)
    gain = snr_gains(powers[0], powers[1], snr, per_channel).to(u.dtype)
    return u + gain[:, :, None] * z.to(u.dtype)


def _weighted_power(x: Any, rates: np.ndarray) -> Any:
    """The numpy kernels' ``weighted_mean_square`` on the device: A-weighted per-channel power
    of ``(B, C, N)`` from its DFT in float64."""
    import torch

    n = x.shape[-1]
    spec = torch.fft.rfft(x.to(torch.float64), dim=-1)
    power = spec.real**2 + spec.imag**2
    bins = power.shape[-1]
    k = torch.arange(bins, dtype=torch.float64, device=x.device)
    f = k[None, :] * (torch.from_numpy(rates.astype(np.float64)).to(x.device)[:, None] / n)
    side = torch.from_numpy(_one_sided(bins, n) / float(n) ** 2).to(x.device)
    return (power * (side * a_weighting_power(f))[:, None, :]).sum(dim=-1)


@kernel(GaussianSNR, "torch")
def gaussian_snr(t: GaussianSNR, x: Any, params: dict[str, Any], ctx: Any) -> Any:
    u = _unit(x)
    return _finish(_mix(u, _noise(u, params), params, t.params.per_channel), x, t.params.clip)


@kernel(ColorNoise, "torch")
def colored(t: ColorNoise, x: Any, params: dict[str, Any], ctx: Any) -> Any:
    """The numpy kernel's spectrum (the same normals as complex bins, the same weights and band
    bins, per clip), with torch's inverse FFT on the batch's device."""
    import torch
    from scipy import fft

    from ..torch import philox

    u = _unit(x)
    b, c, n = u.shape
    keys = philox.keys_tensor(params["key"], u.device)
    expo = np.ascontiguousarray(np.broadcast_to(col(params["exponent"]), (b,)))
    rates = clip_rates(params, b) if t.needs_rate else np.zeros(b, np.int64)
    if t.banded:  # the clip's own length, bins of the band per clip (its rate)
        m = n
        edges = np.array([band_bins(n, int(r), t.params.band) for r in rates] if n >= 2 else [(1, 0)] * b, np.float64)
    else:  # 0.4: a fast length, every bin but DC
        m = fft.next_fast_len(n, real=True) if n >= 2 else n
        edges = np.tile(np.array([1.0, m // 2], np.float64), (b, 1))
    white = np.full(b, n < 2) | ((expo == 0.0) & (not t.banded))
    if white.all():
        z = philox.normals(keys, c * n).reshape(b, c, n)
    else:
        bins = m // 2 + 1
        pairs = philox.normals(keys, c * 2 * bins).reshape(b, c, bins, 2)
        k = torch.arange(bins, dtype=torch.float64, device=u.device)
        lo, hi, e = (torch.from_numpy(np.array(v, np.float64)).to(u.device)[:, None] for v in (edges[:, 0], edges[:, 1], expo))
        w = torch.where((k >= lo) & (k <= hi), k.clamp(min=1.0) ** (-e / 2.0), 0.0).to(torch.float32)
        spec = torch.complex(pairs[..., 0], pairs[..., 1]) * w[:, None, :]
        z = torch.fft.irfft(spec, n=m, dim=-1)[..., :n].to(torch.float32)
        if white.any():
            rows = torch.from_numpy(np.flatnonzero(white)).to(u.device)
            z[rows] = philox.normals(keys[rows], c * n).reshape(-1, c, n)
    powers = (_weighted_power(u, rates), _weighted_power(z, rates)) if t.params.weighting == "A" else None
    return _finish(_mix(u, z, params, t.params.per_channel, powers), x, t.params.clip)


_BANKS: dict[tuple, Any] = {}


def _bank(entry: Any, rate: int, device: Any) -> tuple[Any, Any]:
    """A recording decoded, resampled to ``rate`` and made loopable, once, as tensors on
    ``device``: ``(whole (C, M), one seamless period (C, M - fade))``."""
    import torch

    from .background import _decoded, loop_period

    key = (entry, rate, str(device))
    if key not in _BANKS:
        data = _decoded(entry, rate)
        _BANKS[key] = (torch.from_numpy(data).to(device), torch.from_numpy(loop_period(data, rate)).to(device))
    return _BANKS[key]


@kernel(BackgroundNoise, "torch")
def background(t: BackgroundNoise, x: Any, params: dict[str, Any], ctx: Any) -> Any:
    """Segments cut on the device from a bank of the recordings (decoded once per rate and
    device), at the starts the numpy kernel draws from each clip's key; silent segments are
    redrawn the same way."""
    import torch

    from .background import SEGMENT_TRIES, _start, is_long

    u = _unit(x)
    b, c, n = u.shape
    rates = col(params["sample_rate"], np.int64)
    rates = np.broadcast_to(rates, (b,)) if rates.size == 1 else rates
    index, keys = col(params["index"], np.int64), col(params["key"], np.uint64)
    segs = []
    for i in range(b if "noise" not in params else 0):  # "noise": after noise_transform (BackgroundNoise.run)
        entry = t.files[int(index[i])]
        if is_long(entry):  # read by segment at the source rate, as the numpy kernel does
            segs.append(torch.from_numpy(t.noise_for(entry, n, c, int(rates[i]), int(keys[i]))).to(u.device))
            continue
        whole, period = _bank(entry, int(rates[i]), u.device)
        for attempt in range(SEGMENT_TRIES):
            if whole.shape[1] >= n:
                start = _start(int(keys[i]), attempt, whole.shape[1] - n + 1)
                seg = whole[:, start:start + n]
            else:
                start = _start(int(keys[i]), attempt, period.shape[1])
                seg = period[:, (start + torch.arange(n, device=u.device)) % period.shape[1]]
            if bool(seg.abs().amax() > 0):
                break
        else:
            from ..core.errors import InputError

            from .background import _named

            raise InputError(f"{SEGMENT_TRIES} random segments of {_named(entry)} were all silent")
        if seg.shape[0] != c:
            seg = (seg.mean(dim=0, keepdim=True) if seg.shape[0] != 1 else seg).expand(c, n)
        segs.append(seg)
    if "noise" in params:
        z = params["noise"]
        z = (z if isinstance(z, torch.Tensor) else torch.from_numpy(np.asarray(z))).to(u.device)
    else:
        z = torch.stack(segs)
    if "rms_db" in params:  # absolute: gains from the noise's own power (float64 on the host, as numpy)
        from .level import absolute_gains

        ms = (z.to(torch.float64) ** 2).mean(dim=2).cpu().numpy()
        g = torch.from_numpy(absolute_gains(ms, col(params["rms_db"]), t.params.per_channel)).to(u.device, u.dtype)
        return _finish(u + g[:, :, None] * z.to(u.dtype), x, t.params.clip)
    return _finish(_mix(u, z, params, t.params.per_channel), x, t.params.clip)
