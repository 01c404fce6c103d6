"""torch kernels of the image transforms (any device): the same streams, canonical positions and
arithmetic as the numba kernels, so on CPU tensors the Gaussian, salt-and-pepper and speckle
kernels give the same bytes, and the Poisson kernel the same counts except where a float64
transcendental function rounds differently at an acceptance boundary. torch loads when a
kernel first runs."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..core.kernels import col, kernel
from .corruption import Corruption
from .gaussian import GaussianNoise
from .kernels import corruption_thresholds, thresholds
from .layout import ImageBatch, image_batch
from .salt_pepper import SaltAndPepper
from .shot import ShotNoise
from .speckle import SpeckleNoise


def _spatial(ib: ImageBatch) -> tuple[int, int]:
    shape = tuple(ib.x.shape[1:])
    layout = ib.layout
    return shape[layout.index("H")], shape[layout.index("W")]


def _canonical_to_layout(v: Any, ib: ImageBatch, shared: bool) -> Any:
    """(B, P * C) draws in canonical HWC order (or (B, P) when shared) -> broadcastable to the
    batch's physical layout."""
    b = v.shape[0]
    h, w = _spatial(ib)
    c = 1 if shared else ib.channels
    if ib.layout == "HW":
        return v.reshape(b, h, w)
    v = v.reshape(b, h, w, c)
    return v.permute(0, 3, 1, 2) if ib.layout == "CHW" else v


def _per_image(v: np.ndarray, x: Any, dtype: Any = None) -> Any:
    import torch

    t = torch.from_numpy(np.require(v, requirements=("C", "W"))).to(x.device)  # a read-only view is copied
    if dtype is not None:
        t = t.to(dtype)
    return t.reshape((-1,) + (1,) * (x.dim() - 1))


def _shared(t: Any, ib: ImageBatch) -> bool:
    return not t.params.per_channel and ib.channels > 1


def _draws(ib: ImageBatch, params: dict[str, Any], shared: bool, kind: str) -> Any:
    from ..torch import philox

    keys = philox.keys_tensor(params["key"], ib.x.device)
    n = ib.pixels * (1 if shared else ib.channels)
    v = philox.normals(keys, n) if kind == "normal" else philox.uniform32(keys, n)
    return _canonical_to_layout(v, ib, shared)


def _store(y: Any, ib: ImageBatch, like: Any) -> Any:
    """float64/float32 values on the [0, 1] scale (or levels for integers, already rounded)
    back to the batch's dtype, clipped."""
    import torch

    if ib.maxval:
        return torch.round(y * ib.maxval).clamp_(0, ib.maxval).to(like.dtype)
    return y.clamp(0.0, 1.0).to(like.dtype)


@kernel(GaussianNoise, "torch")
def gaussian(t: GaussianNoise, x: Any, params: dict[str, Any], ctx: Any) -> Any:
    """image.AdditiveNoise's torch kernel with the Gaussian table (white, or grain when drawn)."""
    from ..core import philox
    from .additive import additive_torch

    return additive_torch(t, x, params, ctx, philox.gaussian_table(), "per_pixel" if t.params.per_channel else "shared")


@kernel(SaltAndPepper, "torch")
def salt_and_pepper(t: SaltAndPepper, x: Any, params: dict[str, Any], ctx: Any) -> Any:
    import torch

    ib = image_batch(x, ctx, t.field)
    w = ib.x
    amount = col(params["amount"])
    u = _draws(ib, params, _shared(t, ib), "uniform")
    salt = u < _per_image(thresholds(amount * col(params["salt_ratio"])).view(np.int64), w)
    hit = u < _per_image(thresholds(amount).view(np.int64), w)
    hi = float(ib.maxval or 1.0)
    y = torch.where(hit, torch.zeros((), dtype=w.dtype, device=w.device), w)
    return ib.restore(torch.where(salt, torch.full((), hi, dtype=w.dtype, device=w.device), y))


@kernel(SpeckleNoise, "torch")
def speckle_noise(t: SpeckleNoise, x: Any, params: dict[str, Any], ctx: Any) -> Any:
    import torch

    ib = image_batch(x, ctx, t.field)
    w = ib.x
    z = _draws(ib, params, _shared(t, ib), "normal").to(torch.float64)
    inv = 1.0 / ib.maxval if ib.maxval else 1.0
    y = (w.to(torch.float64) * inv) * (1.0 + _per_image(col(params["std"]), w, torch.float64) * z)
    return ib.restore(_store(y, ib, w))


def _decode(x: Any) -> Any:
    import torch

    return torch.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def _encode(x: Any) -> Any:
    import torch

    x = x.clamp(min=0.0)
    return torch.where(x <= 0.0031308, x * 12.92, 1.055 * x ** (1.0 / 2.4) - 0.055)


def poisson(lam: Any, keys: Any, pos: Any) -> Any:
    """Poisson counts, elementwise, from the counter blocks ``(pos, attempt)`` of stream 1 of
    each value's key (int64 bit patterns): the numba kernel's algorithm vectorised (inversion
    below 10, Hormann's PTRS above, rejected values retried on the next block)."""
    import torch

    from ..torch import philox

    k0, k1 = keys & philox.MASK32, (keys >> 32) & philox.MASK32
    plo, phi = pos & philox.MASK32, pos >> 32
    one = torch.ones((), dtype=torch.int64, device=lam.device)
    out = torch.zeros_like(lam)
    small = lam < 10.0
    if bool(small.any()):
        ls = lam[small]
        w = philox.block(plo[small], phi[small], one, one * 0, k0[small], k1[small])[0]
        u = (w.to(torch.float64) + 0.5) * 2.0 ** -32
        p = torch.exp(-ls)
        acc = p.clone()
        k = torch.zeros_like(ls)
        for step in range(1, 1001):
            more = u > acc
            if not bool(more.any()):
                break
            k = torch.where(more, k + 1, k)
            p = torch.where(more, p * ls / step, p)
            acc = torch.where(more, acc + p, acc)
        out[small] = k
    big = torch.nonzero(~small).reshape(-1)
    if big.numel():
        lb = lam[big]
        slam, loglam = torch.sqrt(lb), torch.log(lb)
        bb = 0.931 + 2.53 * slam
        aa = -0.059 + 0.02483 * bb
        invalpha = 1.1239 + 1.1328 / (bb - 3.4)
        vr = 0.9277 - 3.6224 / (bb - 2.0)
        todo = torch.arange(big.numel(), device=lam.device)
        attempt = 0
        while todo.numel():
            words = philox.block(plo[big[todo]], phi[big[todo]], one, one * attempt, k0[big[todo]], k1[big[todo]])
            attempt += 1
            for h in range(2):
                if not todo.numel():
                    break
                uu = (words[2 * h].to(torch.float64) + 0.5) * 2.0 ** -32 - 0.5
                vv = (words[2 * h + 1].to(torch.float64) + 0.5) * 2.0 ** -32
                a_, b_, l_ = aa[todo], bb[todo], lb[todo]
                us = 0.5 - uu.abs()
                kk = torch.floor((2.0 * a_ / us + b_) * uu + l_ + 0.43)
                fast = (us >= 0.07) & (vv <= vr[todo])
                reject = (kk < 0.0) | ((us < 0.013) & (vv > us))
                slow = (torch.log(vv) + torch.log(invalpha[todo]) - torch.log(a_ / (us * us) + b_)
                        <= -l_ + kk * loglam[todo] - torch.lgamma(kk + 1.0))
                accept = fast | (~reject & slow)
                out[big[todo[accept]]] = kk[accept]
                keep = ~accept
                todo = todo[keep]
                words = [wd[keep] for wd in words]
    return out


@kernel(ShotNoise, "torch")
def shot_noise(t: ShotNoise, x: Any, params: dict[str, Any], ctx: Any) -> Any:
    import torch

    from ..torch import philox

    ib = image_batch(x, ctx, t.field)
    w = ib.x
    b = w.shape[0]
    n = ib.pixels * ib.channels
    canon = torch.arange(n, dtype=torch.int64, device=w.device)
    pos = _canonical_to_layout(canon[None].expand(b, n), ib, False).expand(w.shape)  # each value's HWC position
    keys = philox.keys_tensor(params["key"], w.device).reshape((-1,) + (1,) * (w.dim() - 1)).expand(w.shape)
    inv = 1.0 / ib.maxval if ib.maxval else 1.0
    v = w.to(torch.float64) * inv
    if t.params.linear:
        v = _decode(v)
    ph = _per_image(col(params["photons"]), w, torch.float64).expand(w.shape)
    counts = poisson((v * ph).reshape(-1), keys.reshape(-1), pos.reshape(-1)).reshape(w.shape)
    y = counts / ph
    if t.params.linear:
        y = _encode(y.clamp(max=1.0))
    return ib.restore(_store(y, ib, w))


@kernel(Corruption, "torch")
def corruption(t: Corruption, x: Any, params: dict[str, Any], ctx: Any) -> Any:
    """The numba corruption kernel's arithmetic (float64 on the [0, 1] scale, clip, truncation)
    on torch tensors, from the same streams and canonical positions."""
    import torch

    from ..torch import philox

    ib = image_batch(x, ctx, t.field)
    w = ib.x
    quant = bool(t.params.quantize)
    consts = t.constants(params["severity"])
    if ib.maxval:
        v = w.to(torch.float64) / float(ib.maxval)
    elif quant:
        v = torch.round(w.to(torch.float64) * 255.0) / 255.0
    else:
        v = w.to(torch.float64)
    c = _per_image(consts, w, torch.float64)
    name = t.params.name
    if name == "shot_noise":
        b, n = w.shape[0], ib.pixels * ib.channels
        canon = torch.arange(n, dtype=torch.int64, device=w.device)
        pos = _canonical_to_layout(canon[None].expand(b, n), ib, False).expand(w.shape)
        keys = philox.keys_tensor(params["key"], w.device).reshape((-1,) + (1,) * (w.dim() - 1)).expand(w.shape)
        ce = c.expand(w.shape)
        y = poisson((v * ce).reshape(-1), keys.reshape(-1), pos.reshape(-1)).reshape(w.shape) / ce
    elif name == "impulse_noise":
        ts, th = corruption_thresholds(t, consts)
        u = _draws(ib, params, False, "uniform")
        salt = u < _per_image(ts.view(np.int64), w)
        hit = u < _per_image(th.view(np.int64), w)
        y = torch.where(salt, 1.0, torch.where(hit, 0.0, v))
    else:
        z = _draws(ib, params, False, "normal").to(torch.float64)
        y = v + c * z if name == "gaussian_noise" else v + v * (c * z)
    y = y.clamp(0.0, 1.0)
    if ib.maxval:
        return ib.restore(torch.floor(y * float(ib.maxval)).to(w.dtype))
    if quant:
        y = torch.floor(y * 255.0) / 255.0
    return ib.restore(y.to(w.dtype))
