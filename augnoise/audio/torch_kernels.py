"""torch kernels of the audio transforms (any device): the streams, scales and peak policy of
the numpy kernels. torch loads when a kernel first runs."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..core.kernels import col, kernel
from .checks import FULL_SCALE, dtype_name
from .gaussian import GaussianNoise
from .kernels import snr_gains
from .snr import GaussianSNR


def _unit(x: Any) -> Any:
    """``(B, C, N)`` floats on the [-1, 1] scale (float64 for int32 PCM)."""
    import torch

    x3 = x.reshape(x.shape[0], 1, x.shape[1]) if x.dim() == 2 else x
    scale = FULL_SCALE.get(dtype_name(x))
    if scale is None:
        return x3
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
        y = torch.round(y * scale).clamp_(info.min, info.max).to(like.dtype)
    return y.reshape(like.shape)


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


@kernel(GaussianSNR, "torch")
def gaussian_snr(t: GaussianSNR, x: Any, params: dict[str, Any], ctx: Any) -> Any:
    import torch

    u = _unit(x)
    z = _noise(u, params)
    ps = (u.to(torch.float64) ** 2).mean(dim=2)
    pn = (z.to(torch.float64) ** 2).mean(dim=2)
    snr = torch.from_numpy(col(params["snr_db"])).to(u.device)
    gain = snr_gains(ps, pn, snr, t.params.per_channel).to(u.dtype)
    return _finish(u + gain[:, :, None] * z, x, t.params.clip)
