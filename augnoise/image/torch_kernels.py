"""torch kernels of the image transforms (any device): the same streams and the same float32
arithmetic as the numba kernels, so on CPU tensors they give the same bytes. torch loads when
a kernel first runs."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..core.errors import InputError
from ..core.kernels import col, kernel
from .gaussian import GaussianNoise
from .kernels import INT_MAX, gaussian_coefficients, thresholds
from .salt_pepper import SaltAndPepper


def _np_dtype(x: Any) -> np.dtype:
    return np.dtype(str(x.dtype).replace("torch.", ""))


def _positions(x: Any, per_channel: bool) -> tuple[int, tuple[int, ...]]:
    """Draw positions per image and the shape the draws broadcast from."""
    if per_channel or x.dim() < 4:
        return int(np.prod(x.shape[1:])), tuple(x.shape)
    return int(np.prod(x.shape[1:-1])), tuple(x.shape[:-1]) + (1,)


def _per_image(v: np.ndarray, x: Any) -> Any:
    import torch

    return torch.from_numpy(np.ascontiguousarray(v)).to(x.device).reshape((-1,) + (1,) * (x.dim() - 1))


@kernel(GaussianNoise, "torch")
def gaussian(t: GaussianNoise, x: Any, params: dict[str, Any], ctx: Any) -> Any:
    import torch

    from ..torch import philox

    dt = _np_dtype(x)
    if dt.kind == "f":
        finite = torch.isfinite(x)
        if not bool(finite.all()):
            raise InputError(f"float image holds {int((~finite).sum())} NaN or inf value(s)")
        out = int(((x < 0) | (x > 1)).sum())
        if out and t.params.clip:
            raise InputError(f"float image has {out} value(s) outside [0, 1] (scale it to [0, 1] or set clip: false)")
    scale, offset = gaussian_coefficients(col(params["std"]), col(params["mean"]), dt)
    n, shape = _positions(x, t.params.per_channel)
    z = philox.normals(philox.keys_tensor(params["key"], x.device), n).reshape(shape)
    noise = _per_image(scale, x) * z + _per_image(offset, x)
    if dt in INT_MAX:
        y = (x.to(torch.float32) + noise).clamp_(0.0, float(INT_MAX[dt]))
        return y.to(x.dtype)
    y = x + noise
    return y.clamp_(0.0, 1.0) if t.params.clip else y


@kernel(SaltAndPepper, "torch")
def salt_and_pepper(t: SaltAndPepper, x: Any, params: dict[str, Any], ctx: Any) -> Any:
    import torch

    from ..torch import philox

    amount = col(params["amount"])
    n, shape = _positions(x, t.params.per_channel)
    u = philox.uniform32(philox.keys_tensor(params["key"], x.device), n).reshape(shape)
    salt = u < _per_image(thresholds(amount * col(params["salt_ratio"])).view(np.int64), x)
    hit = u < _per_image(thresholds(amount).view(np.int64), x)
    hi = INT_MAX.get(_np_dtype(x), 1.0)
    y = torch.where(hit, torch.zeros((), dtype=x.dtype, device=x.device), x)
    return torch.where(salt, torch.full((), hi, dtype=x.dtype, device=x.device), y)
