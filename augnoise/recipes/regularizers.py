"""Noise beyond the input, for training only: on weights, on hidden units, on GAN inputs.

* :class:`WeightNoise`: fresh Gaussian noise on chosen parameters for each training forward.
  It is a parametrization (``weight = original + noise``, recomputed at each access), so the
  stored parameters are never written: nothing to restore, no drift, and gradients flow to the
  originals through the noisy weights, as in the weight-noise derivation
  ``E[L(W + e)] ~ L(W) + (eta / 2) E||grad_W f(x)||^2`` for a squared loss near a fit.
* :class:`GaussianNoise`: additive or multiplicative noise on hidden units (a layer).

All randomness comes from the object's own ``torch.Generator`` (seeded), never the global one;
everything is inactive in eval mode.
"""
from __future__ import annotations

from typing import Callable, Iterable

import torch
from torch.nn.utils import parametrize


def _generator(seed: int, device: torch.device, cache: dict) -> torch.Generator:
    g = cache.get(device)
    if g is None:
        g = cache[device] = torch.Generator(device=device).manual_seed(int(seed))
    return g


class _AddNoise(torch.nn.Module):
    """Parametrization: ``w + std * N(0, 1)`` while training, ``w`` otherwise."""

    def __init__(self, std: float, owner: "WeightNoise"):
        super().__init__()
        self.std = float(std)
        self._owner = [owner]  # not a submodule

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        if not self.training or self.std == 0.0 or not self._owner[0].active:
            return w
        g = self._owner[0].generator(w.device)
        return w + self.std * torch.randn(w.shape, generator=g, device=w.device, dtype=w.dtype)


class WeightNoise:
    """Gaussian noise on parameters of ``model`` for each training forward (inactive in eval).

    Give ``std`` or ``variance`` (eta). ``params`` selects parameters: a list of names (as in
    ``named_parameters``), a predicate ``(name, tensor) -> bool``, or None for every weight
    matrix/kernel (parameters with 2 or more dimensions). Use it as a context manager
    (``with WeightNoise(model, variance=1e-3): ...``: removed on exit, parameters exactly as
    before) or keep it attached (``WeightNoise(model, std=0.01).attach()``; ``detach()``).
    """

    def __init__(self, model: torch.nn.Module, *, std: float | None = None, variance: float | None = None,
                 params: Iterable[str] | Callable[[str, torch.Tensor], bool] | None = None, seed: int = 0) -> None:
        if (std is None) == (variance is None):
            raise ValueError("give exactly one of std or variance")
        std = float(std) if std is not None else float(variance) ** 0.5  # type: ignore[arg-type]
        if not std >= 0:
            raise ValueError(f"std must be >= 0, got {std}")
        self.model, self.std, self.seed = model, std, seed
        names = dict(model.named_parameters())
        if params is None:
            chosen = [n for n, p in names.items() if p.dim() >= 2]
        elif callable(params):
            chosen = [n for n, p in names.items() if params(n, p)]
        else:
            chosen = list(params)
            unknown = [n for n in chosen if n not in names]
            if unknown:
                raise ValueError(f"no parameter named {unknown[0]!r} (parameters: {', '.join(names)})")
        if not chosen:
            raise ValueError("no parameter selected for weight noise")
        self.names = chosen
        self.active = True
        self._gens: dict = {}
        self._attached = False

    def generator(self, device: torch.device) -> torch.Generator:
        return _generator(self.seed, device, self._gens)

    def _locate(self, name: str) -> tuple[torch.nn.Module, str]:
        mod_name, _, attr = name.rpartition(".")
        return (self.model.get_submodule(mod_name) if mod_name else self.model), attr

    def attach(self) -> "WeightNoise":
        if not self._attached:
            self._order = {}
            for n in self.names:
                mod, _ = self._locate(n)
                self._order.setdefault(id(mod), (mod, list(mod._parameters)))
            for n in self.names:
                mod, attr = self._locate(n)
                parametrize.register_parametrization(mod, attr, _AddNoise(self.std, self), unsafe=True)
            self._attached = True
        return self

    def detach(self) -> None:
        if self._attached:
            for n in self.names:
                mod, attr = self._locate(n)
                parametrize.remove_parametrizations(mod, attr, leave_parametrized=False)
            for mod, order in self._order.values():  # the same Parameter objects, in their old order
                params = mod._parameters
                mod._parameters = {k: params[k] for k in order if k in params} | {k: v for k, v in params.items() if k not in order}
            self._attached = False

    def __enter__(self) -> "WeightNoise":
        return self.attach()

    def __exit__(self, *exc: object) -> None:
        self.detach()


class GaussianNoise(torch.nn.Module):
    """Noise on hidden units, active only in training: ``x + std * n`` (additive) or
    ``x * (1 + std * n)`` (multiplicative, as Gaussian dropout), n ~ N(0, 1) from the layer's
    own generator."""

    def __init__(self, std: float, mode: str = "additive", seed: int = 0) -> None:
        super().__init__()
        if mode not in ("additive", "multiplicative"):
            raise ValueError(f"mode must be additive or multiplicative, got {mode!r}")
        if not std >= 0:
            raise ValueError(f"std must be >= 0, got {std}")
        self.std, self.mode, self.seed = float(std), mode, seed
        self._gens: dict = {}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.std == 0.0:
            return x
        n = torch.randn(x.shape, generator=_generator(self.seed, x.device, self._gens), device=x.device, dtype=x.dtype)
        return x + self.std * n if self.mode == "additive" else x * (1.0 + self.std * n)

    def extra_repr(self) -> str:
        return f"std={self.std}, mode={self.mode}"
