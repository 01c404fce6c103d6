"""The attack kernel: one gradient, with every model invariant restored.

``attack(model, x, y, eps, ...)`` leaves the model exactly as it found it: training/eval mode,
parameter ``.grad`` (the gradient is taken with ``torch.autograd.grad`` w.r.t. the input only),
BatchNorm running statistics (saved and restored), the global torch RNG (forked around the
forward pass, which dropout draws from), and no graph kept alive (results are detached).
"""
from __future__ import annotations

import contextlib
import math
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F

from ..core.errors import InputError
from ..core.kernels import col, kernel
from ..core.params import show
from ..torch import philox
from .transforms import _Adversarial


@contextlib.contextmanager
def untouched(model: torch.nn.Module, device: torch.device):
    """Restore mode, BatchNorm buffers and the global RNG of ``model`` after the block."""
    training = model.training
    bn = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    saved = [{k: b.clone() for k, b in m.named_buffers(recurse=False)} for m in bn]
    devices = [device] if device.type == "cuda" else []
    try:
        with torch.random.fork_rng(devices=devices):
            yield
    finally:
        for m, buffers in zip(bn, saved):
            for k, b in m.named_buffers(recurse=False):
                b.copy_(buffers[k])
        model.train(training)


def gradient_problem(who: str, where: str, action: str) -> str | None:
    """Why no input gradient can be taken now, as one line that says what to do; None if it can.

    ``who`` names what needs it ("adversarial steps need"), ``where`` what runs ("the batch
    stage") and ``action`` what the caller should move ("run apply_batch"). ``torch.enable_grad()`` lifts
    ``torch.no_grad()`` but not ``torch.inference_mode()``, so the two get different advice."""
    if torch.is_inference_mode_enabled():
        return (f"{who} input gradients, but {where} runs under torch.inference_mode(), which torch.enable_grad() "
                f"does not lift; {action} outside the torch.inference_mode() block or inside "
                f"`with torch.inference_mode(False):` (Lightning: Trainer(inference_mode=False))")
    if not torch.is_grad_enabled():
        return (f"{who} input gradients, but {where} runs with gradients disabled (torch.no_grad() or "
                f"torch.set_grad_enabled(False)); {action} outside that block or inside `with torch.enable_grad():`")
    return None


def input_gradient(loss: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``d loss / d x`` w.r.t. the input only (parameter ``.grad`` untouched); a model whose output
    is cut from its input (no_grad or detach inside forward, a round trip through numpy) is one
    clear error instead of torch's."""
    problem = gradient_problem("adversarial attacks need", "the attack", "run it")
    if problem:
        raise InputError(problem)
    cut = ("the loss does not depend on the input through autograd: the model ignores it or cuts the graph "
           "(torch.no_grad(), .detach() or numpy inside forward); adversarial attacks need a differentiable model")
    if not loss.requires_grad:
        raise InputError(cut)
    (grad,) = torch.autograd.grad(loss, x, allow_unused=True)
    if grad is None:
        raise InputError(cut)
    return grad


def _sign_noise(keys: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    n = int(np.prod(shape[1:]))
    return torch.where(philox.uniform32(keys, n) < 2**31, -1.0, 1.0).reshape(shape)


def _uniform_noise(keys: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    n = int(np.prod(shape[1:]))
    return (philox.unit(keys, n) * 2.0 - 1.0).reshape(shape)  # uniform in (-1, 1)


def attack(model: torch.nn.Module, x: torch.Tensor, targets: torch.Tensor, *, eps: torch.Tensor,
           settings: dict[str, Any], init_keys: torch.Tensor, noise_keys: torch.Tensor, noise_std: torch.Tensor,
           targeted: bool, lo: torch.Tensor, hi: torch.Tensor, loss_fn: Callable | None = None) -> torch.Tensor:
    """Single-step attack on ``x`` (already in model units); eps, lo, hi broadcastable to x
    (per sample and per channel, in model units). Returns the detached adversarial batch."""
    loss_fn = loss_fn or (lambda out, y: F.cross_entropy(out, y, reduction="sum"))
    x0 = x.detach()
    delta = torch.zeros_like(x0)
    if settings["init"] == "sign":
        delta = settings["init_scale"] * eps * _sign_noise(init_keys, x0.shape).to(x0.device)
    elif settings["init"] == "uniform":
        delta = settings["init_scale"] * eps * _uniform_noise(init_keys, x0.shape).to(x0.device)
    start = torch.max(torch.min(x0 + delta, hi), lo)
    with untouched(model, x0.device):
        xs = start.clone().requires_grad_(True)
        grad = input_gradient(loss_fn(model(xs), targets), xs)
    step = settings["alpha"] * eps
    direction = -grad.sign() if targeted else grad.sign()
    adv = start + step * direction
    if settings["project"]:
        adv = torch.max(torch.min(adv, x0 + eps), x0 - eps)
    if noise_keys is not None:
        n = int(np.prod(x0.shape[1:]))
        z = philox.normals(noise_keys, n).reshape(x0.shape).to(device=x0.device, dtype=x0.dtype)
        adv = adv + noise_std * z
    return torch.max(torch.min(adv, hi), lo).detach()


@kernel(_Adversarial, "torch")
def adversarial(t: Any, x: torch.Tensor, params: dict[str, Any], ctx: Any) -> torch.Tensor:
    """The batch-stage kernel of adversarial.FGSM and adversarial.FGSMNoise."""
    try:
        return run_step(t, x, params, ctx)
    except ValueError as err:
        raise InputError(str(err)) from None


def data_domain(x: torch.Tensor, mean: Any, std: Any, valid_range: Any, axis: int) -> tuple[Any, Any, Any]:
    """``(scale, lo, hi)`` broadcastable to ``x``: data-unit amounts times ``scale`` are model
    units, and ``[lo, hi]`` is the valid range in model units (per channel when normalised:
    ``(x - mean) / std``)."""
    dev, dt = x.device, x.dtype
    try:
        lo_f, hi_f = (float(v) for v in valid_range)
        ms = None if mean is None else [float(v) for v in mean]
        ss = None if std is None else [float(v) for v in std]
    except (TypeError, ValueError):
        raise ValueError(f"valid_range must be two numbers [lo, hi] and mean and std lists of numbers, got "
                         f"{show(valid_range)}, {show(mean)}, {show(std)}") from None
    if not all(math.isfinite(v) for v in [lo_f, hi_f, *(ms or ()), *(ss or ())]):
        raise ValueError(f"valid_range, mean and std must be finite, got {show(valid_range)}, {show(mean)}, "
                         f"{show(std)}")
    lo = torch.tensor(lo_f, dtype=dt, device=dev)
    hi = torch.tensor(hi_f, dtype=dt, device=dev)
    top = torch.finfo(dt).max
    kind = str(dt).replace("torch.", "")
    if ms is None or ss is None:
        if max(abs(lo_f), abs(hi_f), hi_f - lo_f) > top:
            raise ValueError(f"the valid range {show(valid_range)} does not fit a {kind} batch (largest value {top:g})")
        return torch.ones((), dtype=dt, device=dev), lo, hi
    ndim = x.dim()
    ok = isinstance(axis, (int, np.integer)) and not isinstance(axis, bool) and -ndim <= axis < ndim
    if not ok or int(axis) % ndim == 0:
        raise ValueError(f"channel_axis {show(axis)} is not a channel axis of a batch of {ndim} dims "
                         f"(axis 0 is the batch)")
    axis = int(axis) % ndim
    n = max(len(ms), len(ss))
    if min(len(ms), len(ss)) == 0 or len(ms) not in (1, n) or len(ss) not in (1, n):
        raise ValueError(f"mean and std need one value per channel (or one for all), got {show(mean)} and {show(std)}")
    if x.shape[axis] != n and n != 1:
        raise ValueError(f"mean/std have {n} values but axis {axis} of the batch has {x.shape[axis]}")
    if min(ss) <= 0:
        raise ValueError(f"std must be > 0, got {show(std)}")
    for c in range(n):  # the model-unit values, checked in Python floats: no device round trip
        m, sd = ms[c if len(ms) > 1 else 0], ss[c if len(ss) > 1 else 0]
        if max(abs(lo_f - m), abs(hi_f - m), hi_f - lo_f) / sd > top or 1.0 / sd > top:
            raise ValueError(f"the valid range {show(valid_range)} normalised with mean {show(m)} and std {show(sd)} "
                             f"(channel {c}) does not fit a {kind} batch (largest value {top:g})")
    cshape = [1] * ndim
    cshape[axis] = n
    m_t = torch.tensor(ms, dtype=dt, device=dev).expand(n).reshape(cshape)
    s_t = torch.tensor(ss, dtype=dt, device=dev).expand(n).reshape(cshape)
    return 1.0 / s_t, (lo - m_t) / s_t, (hi - m_t) / s_t


def check_domain(x: torch.Tensor, lo: Any, hi: Any) -> None:
    """The batch lies in its declared domain (up to rounding); else one clear error."""
    span = hi - lo
    unit = (x - lo) / span
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"the batch holds {int((~torch.isfinite(x)).sum())} NaN or inf value(s)")
    low, high = float(unit.min()), float(unit.max())
    if low < -1e-5 or high > 1 + 1e-5:
        raise ValueError(f"the batch lies outside its domain: [{low:.4g}, {high:.4g}] on the [0, 1] scale of its valid "
                         f"range (default [0, 1], not normalised); declare range or normalize under fields: (or give "
                         f"mean and std)")


def step_domain(t: Any, x: torch.Tensor, ctx: Any) -> tuple[Any, Any, Any]:
    """The step's own mean/std/valid_range when given, else the field's declaration."""
    from ..core.fields import declared

    q = t.params
    spec = declared(ctx, t.field)
    valid = q.valid_range if "valid_range" in q.model_fields_set or spec.range is None else spec.range
    if q.mean is not None:
        return data_domain(x, q.mean, q.std, valid, q.channel_axis)
    if spec.normalized:
        if spec.layout is not None and "C" in spec.layout:
            axis = 1 + spec.layout.index("C")
        elif getattr(ctx, "item_types", {}).get(t.field) == "numpy":
            axis = x.dim() - 1  # numpy samples are channels-last
        else:
            axis = 1  # tensors: channels-first
        return data_domain(x, spec.mean, spec.std, valid, axis)
    return data_domain(x, None, None, valid, 1)


def run_step(t: Any, x: torch.Tensor, params: dict[str, Any], ctx: Any) -> torch.Tensor:
    """Batch-stage entry: units, per-sample eps and keys, then :func:`attack`."""
    model, targets = ctx.model, ctx.targets
    if model is None or targets is None:
        raise ValueError("needs the model and the targets: apply_batch(..., model=model, targets=y)")
    if not torch.is_floating_point(x):
        raise ValueError(f"adversarial steps need a float batch (model input), got {x.dtype}")
    if targets.shape[0] != x.shape[0]:
        raise ValueError(f"targets has {targets.shape[0]} rows for a batch of {x.shape[0]}")
    problem = gradient_problem("adversarial steps need", "the batch stage", "run apply_batch (or iterate the loader)")
    if problem:
        raise ValueError(problem)
    q = t.params
    shape = (x.shape[0],) + (1,) * (x.dim() - 1)
    dev = x.device
    scale, lo, hi = step_domain(t, x, ctx)
    check_domain(x, lo, hi)
    eps = torch.from_numpy(col(params["eps"])).to(device=dev, dtype=x.dtype).reshape(shape) * scale
    noise_std = torch.from_numpy(col(params["noise_std"])).to(device=dev, dtype=x.dtype).reshape(shape) * scale
    settings = t.settings()
    init_keys = philox.keys_tensor(params["key"], dev)
    noise_keys = philox.keys_tensor(params["key2"], dev) if (col(params["noise_std"]) > 0).any() else None
    return attack(model, x, targets, eps=eps, settings=settings, init_keys=init_keys, noise_keys=noise_keys,
                  noise_std=noise_std, targeted=q.targeted, lo=lo, hi=hi, loss_fn=ctx.loss_fn)
