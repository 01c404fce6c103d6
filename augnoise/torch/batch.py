"""The batch stage: torch kernels for batch-capable steps, keyed per sample.

For each step, sample ``b`` of the batch draws its probability test, its parameters (std or
SNR from their ranges) and a 64-bit noise key from the keyed generator of
``(seed, batch stage, epoch, indices[b], step)``, exactly as a sample-stage step would; the
noise itself is generated on the batch's device (see :mod:`augnoise.torch.counter`). The same
YAML step in either stage therefore gives statistically the same noise.

Layouts follow the sample stage: images ``(B, H, W)`` or ``(B, H, W, C)`` uint8 or float32 in
[0, 1]; audio ``(B, N)`` or ``(B, C, N)`` float32 in [-1, 1] or int16.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch

from ..core.errors import InputError
from ..core.params import draw
from ..core.rng import BATCH_STAGE, sample_randoms
from ..core.transform import DEFAULT_FIELDS, Transform
from . import counter


def _keys(params: list[dict[str, Any]], device: torch.device) -> torch.Tensor:
    return torch.from_numpy(counter.to_int64([p["key"] for p in params])).to(device)


def _column(params: list[dict[str, Any]], name: str, like: torch.Tensor) -> torch.Tensor:
    shape = (len(params),) + (1,) * (like.dim() - 1)
    return torch.tensor([float(p[name]) for p in params], dtype=torch.float32, device=like.device).reshape(shape)


def _check_image(x: torch.Tensor) -> None:
    if x.dtype not in (torch.uint8, torch.float32):
        raise InputError(f"batch-stage images must be uint8 or float32 tensors, got {x.dtype}")
    if x.dim() not in (3, 4) or (x.dim() == 4 and not 1 <= x.shape[-1] <= 4):
        raise InputError(f"batch-stage images must be (B, H, W) or (B, H, W, C) with 1-4 channels, got {tuple(x.shape)}")
    if x.dtype == torch.float32 and not torch.isfinite(x).all():
        raise InputError("batch-stage float images hold NaN or inf")


def image_gaussian(t: Transform, x: torch.Tensor, params: list[dict[str, Any]], ctx: dict[str, Any]) -> torch.Tensor:
    _check_image(x)
    b = x.shape[0]
    z = counter.standard_normal(_keys(params, x.device), x[0].numel()).reshape(x.shape)
    std, mean = _column(params, "std", x), _column(params, "mean", x)
    if x.dtype == torch.uint8:
        y = torch.floor(x.to(torch.float32) + (std * z + mean) * 255.0 + 0.5).clamp_(0, 255)
        return y.to(torch.uint8)
    y = x + std * z + mean
    return y.clamp_(0.0, 1.0) if t.params.clip else y


def image_salt_pepper(t: Transform, x: torch.Tensor, params: list[dict[str, Any]], ctx: dict[str, Any]) -> torch.Tensor:
    _check_image(x)
    whole_pixel = not t.params.per_channel and x.dim() == 4
    shape = x.shape[:-1] if whole_pixel else x.shape
    n = int(np.prod(shape[1:]))
    u = counter.uniform(_keys(params, x.device), n).reshape(shape)
    if whole_pixel:
        u = u[..., None].expand(x.shape)
    amount, ratio = _column(params, "amount", u), _column(params, "salt_ratio", u)
    hi = 255 if x.dtype == torch.uint8 else 1.0
    salt = u < amount * ratio
    pepper = (u < amount) & ~salt
    y = x.clone()
    y[salt] = hi
    y[pepper] = 0
    return y


def _audio_unit(x: torch.Tensor) -> tuple[torch.Tensor, Callable[[torch.Tensor], torch.Tensor]]:
    if x.dtype == torch.int16:
        return x.to(torch.float32) / 32768.0, lambda y: torch.round(y * 32768.0).clamp_(-32768, 32767).to(torch.int16)
    if x.dtype != torch.float32:
        raise InputError(f"batch-stage audio must be float32 or int16 tensors, got {x.dtype}")
    if not torch.isfinite(x).all():
        raise InputError("batch-stage audio holds NaN or inf")
    return x, lambda y: y


def _finish_audio(t: Transform, y: torch.Tensor) -> torch.Tensor:
    clip = t.params.clip
    if clip == "rescale":
        peak = y.abs().flatten(1).amax(dim=1).clamp(min=1.0).reshape((-1,) + (1,) * (y.dim() - 1))
        return y / peak
    return y.clamp(-1.0, 1.0) if clip else y


def audio_gaussian(t: Transform, x: torch.Tensor, params: list[dict[str, Any]], ctx: dict[str, Any]) -> torch.Tensor:
    xf, back = _audio_unit(x)
    z = counter.standard_normal(_keys(params, x.device), x[0].numel()).reshape(x.shape)
    return back(_finish_audio(t, xf + _column(params, "std", xf) * z))


def audio_snr(t: Transform, x: torch.Tensor, params: list[dict[str, Any]], ctx: dict[str, Any]) -> torch.Tensor:
    xf, back = _audio_unit(x)
    x3 = xf if xf.dim() == 3 else xf[:, None, :]
    z = counter.standard_normal(_keys(params, x.device), x3[0].numel()).reshape(x3.shape)
    ps = (x3.double() ** 2).mean(dim=2)
    pn = (z.double() ** 2).mean(dim=2)
    if not t.params.per_channel:
        ps = ps.mean(dim=1, keepdim=True).expand_as(pn)
        pn = pn.mean(dim=1, keepdim=True).expand_as(ps)
    snr = torch.tensor([float(p["snr_db"]) for p in params], dtype=torch.float64, device=x.device)[:, None]
    ok = (ps > 0) & (pn > 0)
    gain = torch.where(ok, torch.sqrt(torch.where(ok, ps / pn, torch.ones_like(ps))) * 10.0 ** (-snr / 20.0),
                       torch.zeros_like(ps))
    y = x3 + gain.to(torch.float32)[:, :, None] * z
    return back(_finish_audio(t, y.reshape(xf.shape)))


def adversarial(t: Transform, x: torch.Tensor, params: list[dict[str, Any]], ctx: dict[str, Any]) -> torch.Tensor:
    from ..adversarial.kernels import run_step

    try:
        return run_step(t, x, params, ctx)
    except ValueError as err:
        raise InputError(str(err)) from None


def label_smoothing(t: Transform, x: torch.Tensor, params: list[dict[str, Any]], ctx: dict[str, Any]) -> torch.Tensor:
    k = t.params.classes
    _check_labels(x, k)
    eps = torch.tensor([float(p["eps"]) for p in params], dtype=torch.float32, device=x.device)[:, None]
    one = torch.nn.functional.one_hot(x.long(), k).to(torch.float32)
    return one * (1.0 - eps) + (1.0 - one) * eps / (k - 1)


def label_flip(t: Transform, x: torch.Tensor, params: list[dict[str, Any]], ctx: dict[str, Any]) -> torch.Tensor:
    k = t.params.classes
    _check_labels(x, k)
    w = counter.words(_keys(params, x.device), 1)[:, 0]
    low = w & 0xFFFFFFFF
    high = counter._shr(w, 32)
    rate = torch.tensor([float(p["rate"]) for p in params], dtype=torch.float64, device=x.device)
    hit = low.to(torch.float64) < rate * 4294967296.0
    offset = 1 + ((high * (k - 1)) >> 32)  # uniform over the k - 1 other classes
    return torch.where(hit, (x.long() + offset) % k, x.long()).to(x.dtype)


def _check_labels(x: torch.Tensor, k: int) -> None:
    if x.dim() != 1 or x.dtype.is_floating_point:
        raise InputError(f"labels must be a 1-D integer tensor of class indices, got {x.dtype} {tuple(x.shape)}")
    if x.numel() and (x.min() < 0 or x.max() >= k):
        raise InputError(f"labels must lie in [0, {k}), got [{int(x.min())}, {int(x.max())}]")


def instance_noise(t: Transform, x: torch.Tensor, params: list[dict[str, Any]], ctx: dict[str, Any]) -> torch.Tensor:
    if not torch.is_floating_point(x):
        raise InputError(f"instance noise needs a float batch, got {x.dtype}")
    std = t.std_at(ctx.get("epoch", 0))
    z = counter.standard_normal(_keys(params, x.device), x[0].numel()).reshape(x.shape).to(x.dtype)
    y = x + std * z
    vr = t.params.valid_range
    return y.clamp(vr[0], vr[1]) if vr is not None else y


KERNELS: dict[str, Callable[[Transform, torch.Tensor, list[dict[str, Any]], dict[str, Any]], torch.Tensor]] = {
    "labels.LabelSmoothing": label_smoothing,
    "labels.LabelFlip": label_flip,
    "gan.InstanceNoise": instance_noise,
    "adversarial.FGSM": adversarial,
    "adversarial.FGSMNoise": adversarial,
    "image.GaussianNoise": image_gaussian,
    "image.SaltAndPepper": image_salt_pepper,
    "audio.GaussianNoise": audio_gaussian,
    "audio.GaussianSNR": audio_snr,
}


def _draw(step: Transform, rng: Any) -> dict[str, Any] | None:
    """This sample's parameters for ``step`` (None when its probability test says skip)."""
    if step.p < 1.0 and rng.random() >= step.p:
        return None
    q = step.params
    out: dict[str, Any] = {}
    for name in step.batch_draws:
        out[name] = draw(getattr(q, name), rng)
    out["key"] = int(rng.integers(0, 2**64, dtype=np.uint64))
    if step.modality == "adversarial":
        out["key2"] = int(rng.integers(0, 2**64, dtype=np.uint64))
        out["noise_std"] = draw(getattr(q, "noise_std", 0.0), rng)
    return out


def apply_batch(pipeline: Any, batch: Any, indices: Any, *, epoch: int = 0, model: Any = None, targets: Any = None,
                loss_fn: Any = None) -> Any:
    """Run ``pipeline.batch`` on a collated batch (dict of tensors, or one image tensor).
    Adversarial steps need ``model`` and ``targets`` (class indices; the target classes in
    targeted mode) and use cross-entropy unless ``loss_fn(outputs, targets)`` is given."""
    bare = isinstance(batch, torch.Tensor)
    data: dict[str, Any] = {"image": batch} if bare else dict(batch)
    idx = [int(i) for i in (indices.tolist() if isinstance(indices, torch.Tensor) else indices)]
    steps = pipeline.batch
    if not steps:
        return batch if bare else data
    rngs = [sample_randoms(pipeline.seed, epoch=epoch, index=i, n_steps=len(steps), stage=BATCH_STAGE) for i in idx]
    for k, step in enumerate(steps):
        field = step.params.field or DEFAULT_FIELDS[step.modality]
        where = f"batch step {k + 1} ({step.name})"
        if field not in data:
            raise InputError(f"{where}: batch has no field {field!r}")
        x = data[field]
        if not isinstance(x, torch.Tensor) or x.dim() < 1 or x.shape[0] != len(idx):
            raise InputError(f"{where}: field {field!r} must be a tensor with one row per index ({len(idx)}), "
                             f"got {type(x).__name__} {tuple(getattr(x, 'shape', ()))}")
        drawn = [_draw(step, r[k]) for r in rngs]
        chosen = [b for b, d in enumerate(drawn) if d is not None]
        if not chosen:
            continue
        ctx: dict[str, Any] = {"model": model, "loss_fn": loss_fn, "epoch": epoch}
        try:
            if len(chosen) == len(idx):
                ctx["targets"] = targets
                y = KERNELS[step.name](step, x, drawn, ctx)  # type: ignore[arg-type]
            else:
                sel = torch.tensor(chosen, device=x.device)
                ctx["targets"] = targets[sel] if targets is not None else None
                y = x.clone()
                y[sel] = KERNELS[step.name](step, x[sel], [drawn[b] for b in chosen], ctx)  # type: ignore[misc]
        except InputError as err:
            raise InputError(f"{where}: {err}") from None
        data[field] = y
    return data["image"] if bare else data
