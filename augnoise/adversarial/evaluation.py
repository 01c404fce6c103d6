"""Robustness evaluation: clean accuracy, FGSM, a PGD check, and Gaussian noise levels."""
from __future__ import annotations

from typing import Any, Callable, Iterable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..core.keys import EVAL_STAGE, root_key
from ..torch import philox
from .kernels import attack, input_gradient, untouched


def _keys(seed: int, batch: int, n: int, what: int, device: torch.device) -> torch.Tensor:
    # keyed by (seed, evaluation stage, use, batch number, row): reproducible, independent per use
    keys = []
    for i in range(n):
        w = root_key(seed, EVAL_STAGE, what, (batch << 32) | i)
        keys.append(w[0] | w[1] << 32)
    return philox.keys_tensor(np.array(keys, np.uint64), device)


def pgd(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, *, eps: Any, steps: int, step_size: Any,
        keys: torch.Tensor, lo: Any, hi: Any, loss_fn: Callable) -> torch.Tensor:
    """L-inf PGD with a uniform random start (Madry et al. 2018); model state untouched.
    ``eps``, ``step_size``, ``lo``, ``hi``: numbers or tensors broadcastable to ``x``."""
    n = int(np.prod(x.shape[1:]))
    start = (philox.unit(keys, n) * 2 - 1).reshape(x.shape).to(x.device) * eps
    lo, hi = torch.as_tensor(lo, dtype=x.dtype, device=x.device), torch.as_tensor(hi, dtype=x.dtype, device=x.device)
    adv = torch.min(torch.max(x + start, lo), hi).detach()
    with untouched(model, x.device):
        for _ in range(steps):
            adv.requires_grad_(True)
            grad = input_gradient(loss_fn(model(adv), y), adv)
            adv = torch.min(torch.max(adv.detach() + step_size * grad.sign(), x - eps), x + eps)
            adv = torch.min(torch.max(adv, lo), hi)
    return adv.detach()


def resolve_domain(pipeline: Any, field: str, valid_range: Sequence[float] | None, mean: Sequence[float] | None,
                   std: Sequence[float] | None, channel_axis: int, who: str = "evaluate") -> tuple[Any, Any, Any, int]:
    """``(valid_range, mean, std, channel_axis)`` from the explicit arguments, else from the
    ``fields:`` declaration of ``field`` in ``pipeline`` (range and normalisation separately:
    explicit mean/std still take the declared range), else [0, 1] and not normalised."""
    from ..core.errors import InputError
    from ..core.fields import declared

    if pipeline is not None:
        spec = declared(pipeline._context(0), field)
        if mean is None and std is None and spec.normalized:
            mean, std = spec.mean, spec.std
            if spec.layout is not None and "C" in spec.layout:
                channel_axis = 1 + spec.layout.index("C")
        if valid_range is None and spec.range is not None:
            valid_range = spec.range
    valid_range = tuple(valid_range) if valid_range is not None else (0.0, 1.0)
    if len(valid_range) != 2 or not float(valid_range[0]) < float(valid_range[1]):
        raise InputError(f"{who}: valid_range must be (lo, hi) with lo < hi, got {valid_range}")
    if (mean is None) != (std is None):
        raise InputError(f"{who}: give mean and std together")
    return valid_range, mean, std, channel_axis


def evaluate(model: torch.nn.Module, loader: Iterable[Any], *, eps: float = 8 / 255, pgd_steps: int = 10,
             pgd_step_size: float | None = None, noise_levels: Sequence[float] = (0.05, 0.1, 0.2),
             valid_range: tuple[float, float] | None = None, device: Any = None, seed: int = 0,
             loss_fn: Callable | None = None, mean: Sequence[float] | None = None, std: Sequence[float] | None = None,
             channel_axis: int = 1, pipeline: Any = None, field: str = "image") -> dict[str, Any]:
    """Accuracy of ``model`` on ``loader`` (batches ``(x, y)``): clean, under FGSM at ``eps``,
    under PGD (``pgd_steps`` steps of ``2.5 eps / steps``, random start), and under Gaussian
    noise of each std in ``noise_levels`` (clipped). The model is evaluated in eval mode and left
    exactly as it was. ``fgsm - pgd`` is reported as ``co_gap``: a large gap (FGSM accuracy far
    above PGD's) is the signature of catastrophic overfitting.

    ``eps`` and the noise levels are in units of the data's valid range (``valid_range``,
    default [0, 1]), also for normalised batches: give ``mean`` and ``std`` per channel (on
    ``channel_axis``), or a ``pipeline`` whose ``fields:`` declares ``field``'s range and
    normalisation (as the batch-stage steps read it). Batches outside that domain are an error.
    FGSM and PGD need input gradients: called under ``torch.no_grad()`` or
    ``torch.inference_mode()`` it raises an :class:`InputError` that says how to call it."""
    from ..core.errors import InputError
    from .kernels import check_domain, data_domain, gradient_problem

    problem = gradient_problem("evaluate: FGSM and PGD need", "evaluate", "call evaluate")
    if problem:
        raise InputError(problem)
    loss_fn = loss_fn or (lambda out, t: F.cross_entropy(out, t, reduction="sum"))
    valid_range, mean, std, channel_axis = resolve_domain(pipeline, field, valid_range, mean, std, channel_axis)
    step = pgd_step_size if pgd_step_size is not None else 2.5 * eps / max(pgd_steps, 1)
    correct = {"clean": 0, "fgsm": 0, "pgd": 0, **{f"noise_{s:g}": 0 for s in noise_levels}}
    total = 0
    dev = torch.device(device) if device is not None else next(model.parameters()).device
    was_training = model.training
    model.eval()
    fgsm_settings = {"alpha": 1.0, "init": "none", "init_scale": 0.0, "project": True}
    try:
        for b, (x, y) in enumerate(loader):
            x, y = x.to(dev).float(), y.to(dev)
            nb = x.shape[0]
            total += nb
            try:
                scale, lo, hi = data_domain(x, mean, std, valid_range, channel_axis)
                check_domain(x, lo, hi)
            except ValueError as err:
                raise InputError(f"evaluate: batch {b}: {err}") from None
            with torch.no_grad():
                correct["clean"] += int((model(x).argmax(1) == y).sum())
            e = torch.full((nb,) + (1,) * (x.dim() - 1), eps, device=dev) * scale
            try:
                adv = attack(model, x, y, eps=e, settings=fgsm_settings, init_keys=_keys(seed, b, nb, 0, dev),
                             noise_keys=None, noise_std=e * 0, targeted=False, lo=lo, hi=hi, loss_fn=loss_fn)
                adv_p = pgd(model, x, y, eps=eps * scale, steps=pgd_steps, step_size=step * scale,
                            keys=_keys(seed, b, nb, 1, dev), lo=lo, hi=hi, loss_fn=loss_fn)
            except InputError as err:
                raise InputError(f"evaluate: batch {b}: {err}") from None
            n = int(np.prod(x.shape[1:]))
            with torch.no_grad():
                correct["fgsm"] += int((model(adv).argmax(1) == y).sum())
                correct["pgd"] += int((model(adv_p).argmax(1) == y).sum())
                for k, s in enumerate(noise_levels):
                    z = philox.normals(_keys(seed, b, nb, 2 + k, dev), n).reshape(x.shape).to(dev)
                    noisy = torch.min(torch.max(x + s * scale * z, lo), hi)
                    correct[f"noise_{s:g}"] += int((model(noisy).argmax(1) == y).sum())
    finally:
        model.train(was_training)
    acc = {k: v / max(total, 1) for k, v in correct.items()}
    acc["co_gap"] = acc["fgsm"] - acc["pgd"]
    acc["n"] = total
    return acc
