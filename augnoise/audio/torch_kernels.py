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
from .kernels import _color_weights, snr_gains
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


def _mix(u: Any, z: Any, params: dict[str, Any], per_channel: bool) -> Any:
    """``u + g * z`` at the drawn SNRs (float64 powers and gains, as the numpy kernels)."""
    import torch

    ps = (u.to(torch.float64) ** 2).mean(dim=2)
    pn = (z.to(torch.float64) ** 2).mean(dim=2)
    snr = torch.from_numpy(col(params["snr_db"])).to(u.device)
    gain = snr_gains(ps, pn, snr, per_channel).to(u.dtype)
    return u + gain[:, :, None] * z.to(u.dtype)


@kernel(GaussianSNR, "torch")
def gaussian_snr(t: GaussianSNR, x: Any, params: dict[str, Any], ctx: Any) -> Any:
    u = _unit(x)
    return _finish(_mix(u, _noise(u, params), params, t.params.per_channel), x, t.params.clip)


@kernel(ColorNoise, "torch")
def colored(t: ColorNoise, x: Any, params: dict[str, Any], ctx: Any) -> Any:
    """The numpy kernel's spectrum (the same normals as complex bins, the same weights), with
    torch's inverse FFT on the batch's device."""
    import torch
    from scipy import fft

    from ..torch import philox

    u = _unit(x)
    b, c, n = u.shape
    keys = philox.keys_tensor(params["key"], u.device)
    if n < 2 or t.exponent == 0.0:
        z = philox.normals(keys, c * n).reshape(b, c, n)
    else:
        m = fft.next_fast_len(n, real=True)
        bins = m // 2 + 1
        pairs = philox.normals(keys, c * 2 * bins).reshape(b, c, bins, 2)
        w = torch.from_numpy(_color_weights(bins, float(t.exponent)).copy()).to(u.device)
        spec = torch.complex(pairs[..., 0], pairs[..., 1]) * w
        z = torch.fft.irfft(spec, n=m, dim=-1)[..., :n].to(torch.float32)
    return _finish(_mix(u, z, params, t.params.per_channel), x, t.params.clip)


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
    for i in range(b):
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
    return _finish(_mix(u, torch.stack(segs), params, t.params.per_channel), x, t.params.clip)
