"""Robustness evaluation: clean accuracy, FGSM, a PGD check, and Gaussian noise levels."""
from __future__ import annotations

from typing import Any, Callable, Iterable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..core.keys import EVAL_STAGE, root_key
from ..torch import philox
from .kernels import attack, untouched


def _keys(seed: int, batch: int, n: int, what: int, device: torch.device) -> torch.Tensor:
    # keyed by (seed, evaluation stage, use, batch number, row): reproducible, independent per use
    keys = []
    for i in range(n):
        w = root_key(seed, EVAL_STAGE, what, (batch << 32) | i)
        keys.append(w[0] | w[1] << 32)
    return philox.keys_tensor(np.array(keys, np.uint64), device)


def pgd(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, *, eps: float, steps: int, step_size: float,
        keys: torch.Tensor, lo: float, hi: float, loss_fn: Callable) -> torch.Tensor:
    """L-inf PGD with a uniform random start (Madry et al. 2018); model state untouched."""
    n = int(np.prod(x.shape[1:]))
    start = (philox.unit(keys, n) * 2 - 1).reshape(x.shape).to(x.device) * eps
    adv = (x + start).clamp(lo, hi).detach()
    with untouched(model, x.device):
        for _ in range(steps):
            adv.requires_grad_(True)
            (grad,) = torch.autograd.grad(loss_fn(model(adv), y), adv)
            adv = torch.min(torch.max(adv.detach() + step_size * grad.sign(), x - eps), x + eps).clamp(lo, hi)
    return adv.detach()


def evaluate(model: torch.nn.Module, loader: Iterable[Any], *, eps: float = 8 / 255, pgd_steps: int = 10,
             pgd_step_size: float | None = None, noise_levels: Sequence[float] = (0.05, 0.1, 0.2),
             valid_range: tuple[float, float] = (0.0, 1.0), device: Any = None, seed: int = 0,
             loss_fn: Callable | None = None) -> dict[str, Any]:
    """Accuracy of ``model`` on ``loader`` (batches ``(x, y)``, x in ``valid_range``): clean,
    under FGSM at ``eps``, under PGD (``pgd_steps`` steps of ``2.5 eps / steps``, random start),
    and under Gaussian noise of each std in ``noise_levels`` (clipped). The model is evaluated
    in eval mode and left exactly as it was. ``fgsm - pgd`` is reported as ``co_gap``: a large
    gap (FGSM accuracy far above PGD's) is the signature of catastrophic overfitting."""
    loss_fn = loss_fn or (lambda out, t: F.cross_entropy(out, t, reduction="sum"))
    lo, hi = valid_range
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
            with torch.no_grad():
                correct["clean"] += int((model(x).argmax(1) == y).sum())
            e = torch.full((nb,) + (1,) * (x.dim() - 1), eps, device=dev)
            lo_t, hi_t = torch.tensor(lo, device=dev), torch.tensor(hi, device=dev)
            adv = attack(model, x, y, eps=e, settings=fgsm_settings, init_keys=_keys(seed, b, nb, 0, dev),
                         noise_keys=None, noise_std=e * 0, targeted=False, lo=lo_t, hi=hi_t, loss_fn=loss_fn)
            adv_p = pgd(model, x, y, eps=eps, steps=pgd_steps, step_size=step, keys=_keys(seed, b, nb, 1, dev),
                        lo=lo, hi=hi, loss_fn=loss_fn)
            n = int(np.prod(x.shape[1:]))
            with torch.no_grad():
                correct["fgsm"] += int((model(adv).argmax(1) == y).sum())
                correct["pgd"] += int((model(adv_p).argmax(1) == y).sum())
                for k, s in enumerate(noise_levels):
                    z = philox.normals(_keys(seed, b, nb, 2 + k, dev), n).reshape(x.shape).to(dev)
                    correct[f"noise_{s:g}"] += int((model((x + s * z).clamp(lo, hi)).argmax(1) == y).sum())
    finally:
        model.train(was_training)
    acc = {k: v / max(total, 1) for k, v in correct.items()}
    acc["co_gap"] = acc["fgsm"] - acc["pgd"]
    acc["n"] = total
    return acc
