"""Noise in the optimiser ("robust optimisation"): annealed Gaussian noise on the gradients
before each step, and Gaussian noise on the parameters after each step (plain, or stochastic
gradient Langevin dynamics).

* :class:`GradientNoise` -- Neelakantan et al. 2015, "Adding Gradient Noise Improves Learning
  for Very Deep Networks" (arXiv:1511.06807): before optimiser step ``t`` (``t = 0, 1, ...``)
  every gradient ``g`` becomes ``g + N(0, eta / (1 + t)**gamma)``.
* :class:`ParameterNoise` -- after each optimiser step every parameter ``theta`` becomes
  ``theta + N(0, std**2)``; with ``sgld=True`` the variance is ``2 * lr * temperature`` of the
  parameter's group, which turns plain SGD into Welling & Teh 2011, "Bayesian Learning via
  Stochastic Gradient Langevin Dynamics" (ICML).

Both are optimiser hooks (``register_step_pre_hook`` / ``register_step_post_hook``): they are
attached when built, ``detach()`` removes them, ``attach()`` puts them back, and a ``with``
block detaches on exit. Neither touches a ``torch.Generator`` or the global random state.

Keys. The noise of parameter ``j`` (its position in ``param_groups[g]["params"]``) of group
``g`` at step ``t`` is, with ``site = site_key(seed, f"grad:{g}:{j}")`` (``"param:..."`` for
parameter noise)::

    normal_like(x, step_key(key_tensor(site), torch.tensor(t), rank))

(:mod:`augnoise.torch.streams`), so it is a function of (seed, kind, g, j, t, rank) and
nothing else: not the device, the dtype's memory layout, the other parameters, or which
parameters had gradients. ``rank`` is 0 unless ``sharded=True`` (see :class:`GradientNoise`).
The step ``t`` advances once per optimiser step; ``state_dict()`` holds ``(seed, step)`` so a
resumed run continues the same stream. A seed of ``None`` draws one from OS entropy
(:func:`augnoise.core.pipeline.fresh_seed`) and records it in ``.seed``.
"""
from __future__ import annotations

import math
import weakref
from collections.abc import Iterator, Mapping
from typing import Any, TypeVar

import torch

from ..core.philox import MASK32
from .philox import block
from .streams import check_seed, current_rank, eager_cpu, normal_like, site_key, table

__all__ = ["GradientNoise", "ParameterNoise"]

_N = TypeVar("_N", bound="_OptimizerNoise")

#: at most this many normals per Philox call (bounds the temporary memory; one larger
#: parameter is drawn alone)
_CHUNK = 1 << 22

#: the noise objects attached to each optimiser, by kind: two of one kind on one optimiser
#: would add correlated (for equal seeds, identical) noise, so the second is refused
_ATTACHED: weakref.WeakKeyDictionary[torch.optim.Optimizer, dict[str, _OptimizerNoise]] = weakref.WeakKeyDictionary()


def _step_keys(sites: torch.Tensor, step: int, rank: int) -> torch.Tensor:
    """The kernel keys of ``step`` on ``rank`` for a ``(P, 2)`` int64 tensor of site keys: the
    same values as :func:`augnoise.torch.streams.step_key` for each row, in one Philox call."""
    k0, k1 = sites[:, 0], sites[:, 1]
    zero = torch.zeros_like(k0)
    w0, w1, _, _ = block(zero + (step & MASK32), zero + ((step >> 32) & MASK32), zero + int(rank), zero, k0, k1)
    return w0 | (w1 << 32)


def _normals_batch(keys: torch.Tensor, like: list[torch.Tensor]) -> list[torch.Tensor]:
    """For each ``like[i]``, the normals of :func:`augnoise.torch.streams.normal_like` of
    ``(like[i], keys[i:i+1])``, bit for bit, from one Philox call over all of them (``keys`` on
    their common device)."""
    dev = keys.device
    n = [x.numel() for x in like]
    nq = [((m + 1) // 2 + 3) // 4 for m in n]  # 4-word Philox blocks per tensor
    total = sum(nq)
    counts = torch.tensor(nq, dtype=torch.int64, device=dev)
    kk = torch.repeat_interleave(keys, counts, output_size=total)
    starts = torch.cumsum(counts, 0) - counts
    q = torch.arange(total, dtype=torch.int64, device=dev) - torch.repeat_interleave(starts, counts, output_size=total)
    zero = torch.zeros((), dtype=torch.int64, device=dev)
    w = torch.stack(block(q & MASK32, q >> 32, zero, zero, kk & MASK32, (kk >> 32) & MASK32), dim=-1).reshape(-1)
    lanes = torch.stack([w & 0xFFFF, (w >> 16) & 0xFFFF], dim=-1).reshape(-1)
    values = table(dev)[lanes]
    out, at = [], 0
    for x, m, c in zip(like, n, nq):
        out.append(values[8 * at: 8 * at + m].reshape(x.shape).to(x.dtype))
        at += c
    return out


def _normals(keys: torch.Tensor, like: list[torch.Tensor]) -> list[torch.Tensor]:
    """:func:`_normals_batch` grouped by device and in chunks of at most ``_CHUNK`` normals."""
    out: list[Any] = [None] * len(like)
    by_device: dict[torch.device, list[int]] = {}
    for i, x in enumerate(like):
        by_device.setdefault(x.device, []).append(i)
    for dev, idx in by_device.items():
        if eager_cpu(like[idx[0]]):  # the numba route, one parameter at a time
            for i in idx:
                out[i] = normal_like(like[i], keys[i:i + 1])
            continue
        kd = keys[torch.tensor(idx)].to(dev)
        start = 0
        while start < len(idx):
            stop, size = start, 0
            while stop < len(idx) and (stop == start or size + like[idx[stop]].numel() <= _CHUNK):
                size += like[idx[stop]].numel()
                stop += 1
            for i, z in zip(idx[start:stop], _normals_batch(kd[start:stop], [like[i] for i in idx[start:stop]])):
                out[i] = z
            start = stop
    return out


def _check_nonnegative(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def _check_step(step: Any) -> int:
    if isinstance(step, bool) or not isinstance(step, int) or not 0 <= step < 2**63:
        raise ValueError(f"step must be an integer in [0, 2**63), got {step!r}")
    return int(step)


class _OptimizerNoise:
    """Shared machinery: keys, step counter, hook handle, state."""

    _prefix = ""  # the site path prefix: "grad" or "param"
    _post = False  # a step post-hook (else a pre-hook)

    def __init__(self, optimizer: torch.optim.Optimizer, seed: int | None, sharded: bool, step: int) -> None:
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
        if not isinstance(sharded, bool):
            raise TypeError(f"sharded must be True or False, got {sharded!r}")
        self.optimizer = optimizer
        self._seed = check_seed(seed)
        self.step = _check_step(step)
        self.sharded = sharded
        self._sites: dict[tuple[int, int], tuple[int, int]] = {}
        self._handle: Any = None

    # -- keys ------------------------------------------------------------------------------
    @property
    def seed(self) -> int:
        """The seed of every stream of this object (drawn from OS entropy when none was given)."""
        return self._seed

    def _site(self, g: int, j: int) -> tuple[int, int]:
        s = self._sites.get((g, j))
        if s is None:
            k = site_key(self._seed, f"{self._prefix}:{g}:{j}")
            s = self._sites[(g, j)] = (k & MASK32, k >> 32)
        return s

    def _draw(self, where: list[tuple[int, int]], like: list[torch.Tensor]) -> list[torch.Tensor]:
        """Standard normals shaped like ``like[i]`` for parameter ``where[i] = (g, j)`` at the
        current step."""
        if not where:
            return []
        sites = torch.tensor([self._site(g, j) for g, j in where], dtype=torch.int64)
        keys = _step_keys(sites, self.step, current_rank() if self.sharded else 0)
        return _normals(keys, like)

    # -- hooks -----------------------------------------------------------------------------
    @property
    def attached(self) -> bool:
        """Whether the hook is registered on the optimiser."""
        return self._handle is not None

    def attach(self: _N) -> _N:
        """Register the hook (done when the object is built; a no-op when attached). Refused
        when another object of this kind is attached to the same optimiser: its noise would add
        to this one's (with the same seed, the very same numbers twice)."""
        if self._handle is not None:
            return self
        kind = type(self).__name__
        held = _ATTACHED.setdefault(self.optimizer, {})
        other = held.get(kind)
        if other is not None and other is not self:
            raise ValueError(f"another {kind} is already attached to this optimizer; detach() it first")
        register = self.optimizer.register_step_post_hook if self._post else self.optimizer.register_step_pre_hook
        self._handle = register(self._hook)
        held[kind] = self
        return self

    def detach(self: _N) -> _N:
        """Remove the hook (a no-op when detached). The step counter stays where it is."""
        if self._handle is not None:
            self._handle.remove()
            self._handle = None
            held = _ATTACHED.get(self.optimizer, {})
            if held.get(type(self).__name__) is self:
                del held[type(self).__name__]
        return self

    def __enter__(self: _N) -> _N:
        return self.attach()

    def __exit__(self, *exc: object) -> None:
        self.detach()

    def _hook(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        raise NotImplementedError

    def _entries(self, grads: bool) -> Iterator[tuple[int, int, dict[str, Any], torch.Tensor]]:
        """``(g, j, group, tensor)`` for every parameter with a gradient (the gradient itself
        when ``grads``, else the parameter)."""
        for g, group in enumerate(self.optimizer.param_groups):
            for j, p in enumerate(group["params"]):
                if p.grad is None:
                    continue
                x = p.grad if grads else p
                if x.is_sparse or not (torch.is_floating_point(x)):
                    what = "gradient" if grads else "parameter"
                    raise TypeError(
                        f"{type(self).__name__}: parameter {j} of group {g} has a sparse or non-real-float "
                        f"{what} ({x.dtype}, layout {x.layout}); only dense real floating-point tensors are supported")
                yield g, j, group, x

    # -- state -----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, int]:
        """``{"seed": seed, "step": step}``: what a resumed run needs to continue the stream."""
        return {"seed": self._seed, "step": self.step}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue the stream saved by :meth:`state_dict` (its seed and step replace these)."""
        if not isinstance(state, Mapping) or set(state) != {"seed", "step"}:
            got = sorted(state) if isinstance(state, Mapping) else type(state).__name__
            raise ValueError(f"state must be a mapping with exactly the keys 'seed' and 'step', got {got}")
        seed = state["seed"]
        if seed is None:
            raise ValueError("state['seed'] must be an integer in [0, 2**64), got None")
        seed, step = check_seed(seed), _check_step(state["step"])
        self._seed, self.step = seed, step
        self._sites.clear()


class GradientNoise(_OptimizerNoise):
    r"""Annealed Gaussian gradient noise (Neelakantan et al. 2015, "Adding Gradient Noise
    Improves Learning for Very Deep Networks", arXiv:1511.06807).

    Before optimiser step ``t`` (``t = 0`` for the first step this object sees, unless
    ``step`` says otherwise), every gradient present (``p.grad is not None``) becomes

    .. math:: g \leftarrow g + \mathcal{N}\!\left(0,\ \sigma_t^2\right),\qquad
              \sigma_t^2 = \frac{\eta}{(1 + t)^{\gamma}}

    elementwise and independently, in place (the hook runs inside ``optimizer.step()``, after
    anything the training loop did to the gradients: clipping, ``GradScaler`` unscaling). The
    paper uses ``eta`` in {0.01, 0.3, 1.0} and ``gamma = 0.55``. ``eta`` is a *variance*.
    ``t`` counts the optimiser steps taken while attached (a step that ``GradScaler`` skips for
    non-finite gradients never calls ``optimizer.step()`` and is not counted).

    Args:
        optimizer: the optimiser whose ``step()`` gets the noise (all its parameter groups).
        eta: the noise variance at ``t = 0`` (>= 0).
        gamma: the annealing exponent (>= 0).
        seed: the seed of the noise streams; ``None`` draws one from OS entropy (kept in
            ``.seed``).
        sharded: ``False`` (default) when every rank's optimiser holds replicas of the same
            parameters (one process, ``DataParallel``, ``DistributedDataParallel``): every rank
            draws the same noise, as replicas must stay equal. ``True`` when each rank's
            optimiser holds different data under the same positions (e.g. FSDP flat
            parameters): the rank (:func:`augnoise.torch.streams.current_rank`) enters the key.
        step: the step counter to start from (``t`` of the first step).

    Attached when built; ``detach()``, ``attach()``, and ``with GradientNoise(...):`` (detaches
    on exit). Optimisers that re-evaluate the gradients inside ``step()`` through a closure
    (``LBFGS``) are refused: the noise would be overwritten.

    Example::

        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        noise = GradientNoise(opt, eta=0.01, seed=0)
        ...  # loss.backward(); opt.step()  -- the noise is added inside opt.step()
        torch.save({"opt": opt.state_dict(), "noise": noise.state_dict()}, path)
    """

    _prefix = "grad"
    _post = False

    def __init__(self, optimizer: torch.optim.Optimizer, eta: float, gamma: float = 0.55, seed: int | None = None,
                 *, sharded: bool = False, step: int = 0) -> None:
        if isinstance(optimizer, torch.optim.LBFGS):
            raise TypeError("GradientNoise: LBFGS recomputes the gradients inside step() through its closure, "
                            "so noise added before step() would be lost")
        self.eta = _check_nonnegative("eta", eta)
        self.gamma = _check_nonnegative("gamma", gamma)
        super().__init__(optimizer, seed, sharded, step)
        self.attach()

    def variance(self, step: int | None = None) -> float:
        """``eta / (1 + t)**gamma``: the noise variance at step ``t`` (default: the next step)."""
        t = self.step if step is None else step
        return self.eta / (1.0 + t) ** self.gamma

    def _hook(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        entries = list(self._entries(grads=True))
        std = math.sqrt(self.variance())
        if std > 0:
            with torch.no_grad():
                z = self._draw([(g, j) for g, j, _, _ in entries], [x for _, _, _, x in entries])
                for (_, _, _, grad), zi in zip(entries, z):
                    grad.add_(zi, alpha=std)
        self.step += 1

    def __repr__(self) -> str:
        return (f"GradientNoise(eta={self.eta}, gamma={self.gamma}, seed={self.seed}, step={self.step}, "
                f"sharded={self.sharded}, attached={self.attached})")


class ParameterNoise(_OptimizerNoise):
    r"""Gaussian noise on the parameters after each optimiser step; with ``sgld=True``,
    stochastic gradient Langevin dynamics (Welling & Teh 2011, "Bayesian Learning via
    Stochastic Gradient Langevin Dynamics", ICML).

    After every ``optimizer.step()``, each parameter that has a gradient
    (``p.grad is not None``: the parameters the step updated) becomes, under
    ``torch.no_grad()``,

    * plain (``std`` given): :math:`\theta \leftarrow \theta + \mathcal{N}(0, \mathrm{std}^2)`;
    * ``sgld=True``: :math:`\theta \leftarrow \theta + \mathcal{N}(0,\ 2\,\mathrm{lr}\,T)`,
      with ``lr`` the *current* learning rate of the parameter's group (schedulers are
      followed) and ``T = temperature``.

    **SGLD convention.** With plain SGD (``torch.optim.SGD``, ``momentum=0``) on a loss
    ``U(theta)`` the whole update is

    .. math:: \theta \leftarrow \theta - \mathrm{lr}\,\nabla U(\theta) + \mathcal{N}(0,\ 2\,\mathrm{lr}\,T),

    whose stationary density for small ``lr`` is :math:`\propto \exp(-U(\theta)/T)`. For the
    posterior at ``T = 1``, ``U`` must be the negative log posterior **summed** over the data
    set: :math:`U(\theta) = -\log p(\theta) - \sum_{i=1}^{N} \log p(x_i \mid \theta)`, or its
    unbiased minibatch estimate :math:`-\log p(\theta) - \frac{N}{|B|} \sum_{i \in B} \log
    p(x_i \mid \theta)` (Welling & Teh's rescaling). SGD's ``weight_decay=w`` adds the
    Gaussian prior term :math:`\frac{w}{2}\|\theta\|^2` to ``U``. If the loss is instead the
    *mean* over the data (``reduction="mean"``), i.e. :math:`U/N`, the same recursion samples
    :math:`\exp(-U/(N T))`: set ``temperature=1/N`` for the posterior (and scale the prior by
    ``1/N`` too). The stationary law carries an ``O(lr)`` discretisation bias (no
    Metropolis correction); for a quadratic ``U`` with Hessian ``A`` the covariance is
    :math:`T\,A^{-1}(I - \mathrm{lr}\,A/2)^{-1}` instead of :math:`T\,A^{-1}`.

    ``sgld=True`` needs an ``lr`` in every parameter group, and refuses momentum (non-zero
    ``momentum``), ``maximize=True`` and torch's adaptive optimisers (Adam, RMSprop, ...):
    their update is not ``theta - lr * grad U``, so ``2 * lr * T`` would not be the Langevin
    noise. Other optimisers with an ``lr`` are taken to perform that update.

    Args:
        optimizer: the optimiser whose parameters get the noise (all its parameter groups).
        std: the noise standard deviation of plain mode (>= 0); not with ``sgld``.
        sgld: follow each group's learning rate as above.
        temperature: ``T`` of SGLD (>= 0); only with ``sgld=True``.
        seed: the seed of the noise streams; ``None`` draws one from OS entropy (kept in
            ``.seed``).
        sharded: as in :class:`GradientNoise` (``False``: every rank draws the same noise, so
            ``DistributedDataParallel`` replicas stay equal).
        step: the step counter to start from.

    Attached when built; ``detach()``, ``attach()``, and ``with ParameterNoise(...):``
    (detaches on exit), as :class:`GradientNoise`. The step counter advances once per
    optimiser step, also when the noise is zero.
    """

    _prefix = "param"
    _post = True

    def __init__(self, optimizer: torch.optim.Optimizer, std: float | None = None, sgld: bool = False,
                 temperature: float = 1.0, seed: int | None = None, *, sharded: bool = False, step: int = 0) -> None:
        if not isinstance(sgld, bool):
            raise TypeError(f"sgld must be True or False, got {sgld!r}")
        if sgld and std is not None:
            raise ValueError("give either std (plain parameter noise) or sgld=True (noise variance 2 * lr * "
                             "temperature from each group's learning rate), not both")
        if not sgld and std is None:
            raise ValueError("give std (plain parameter noise) or sgld=True")
        if not sgld and temperature != 1.0:
            raise ValueError("temperature applies only with sgld=True")
        self.std = None if std is None else _check_nonnegative("std", std)
        self.sgld = sgld
        self.temperature = _check_nonnegative("temperature", temperature)
        super().__init__(optimizer, seed, sharded, step)
        if sgld:
            self._check_sgld()
        self.attach()

    def _check_sgld(self) -> None:
        opt = self.optimizer
        if type(opt).__module__.startswith("torch.optim") and not isinstance(opt, torch.optim.SGD):
            raise ValueError(f"sgld=True needs the update theta - lr * grad U (plain SGD); {type(opt).__name__} "
                             "preconditions or accumulates the gradient, so 2 * lr * temperature is not its "
                             "Langevin noise")
        for g, group in enumerate(opt.param_groups):
            if "lr" not in group:
                raise ValueError(f"sgld=True needs a learning rate 'lr' in every parameter group; group {g} of "
                                 f"{type(opt).__name__} has none")
            if group.get("momentum", 0) not in (0, 0.0):
                raise ValueError(f"sgld=True needs momentum=0 (group {g} has momentum={group['momentum']!r}): "
                                 "with momentum the noise variance 2 * lr * temperature samples another "
                                 "temperature")
            if group.get("maximize", False):
                raise ValueError(f"sgld=True needs a loss to minimise (group {g} has maximize=True)")

    def _scale(self, group: dict[str, Any]) -> Any:
        if not self.sgld:
            return self.std
        return (2 * group["lr"] * self.temperature) ** 0.5

    def _hook(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        if self.sgld:
            self._check_sgld()
        if not self.sgld and self.std == 0:
            self.step += 1
            return
        entries = list(self._entries(grads=False))
        with torch.no_grad():
            z = self._draw([(g, j) for g, j, _, _ in entries], [x for _, _, _, x in entries])
            for (_, _, group, p), zi in zip(entries, z):
                p.add_(zi.mul_(self._scale(group)))
        self.step += 1

    def __repr__(self) -> str:
        what = f"sgld=True, temperature={self.temperature}" if self.sgld else f"std={self.std}"
        return (f"ParameterNoise({what}, seed={self.seed}, step={self.step}, sharded={self.sharded}, "
                f"attached={self.attached})")
