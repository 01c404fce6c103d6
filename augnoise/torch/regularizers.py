"""Noise inside the network, for training only: on hidden units and on weights.

* :class:`GaussianNoise`: a layer adding (or multiplying by) Gaussian noise on hidden units;
  recurrent-aware (tuple outputs, ``PackedSequence``, noise shared over chosen dims).
* :class:`WeightNoise`: fresh Gaussian noise on chosen parameters for each training forward,
  as a parametrization (``weight = original + noise``), so the stored parameters are never
  written and gradients reach the originals, as in the weight-noise derivation
  ``E[L(W + e)] ~ L(W) + (eta / 2) E||grad_W f(x)||^2`` for a squared loss near a fit.
* :func:`seed_noise`: the reproducible route, ``seed_noise(model, pipeline.seed)``.

Every number comes from :mod:`augnoise.torch.streams`: counter-based Philox noise that is a
function of (site key, step, rank), where the site key is ``site_key(seed, path)``. There is
no ``torch.Generator`` and the global torch / numpy random state is never touched, so it runs
on any device and under ``torch.compile(fullgraph=True)``. The step counters live in buffers
(``GaussianNoise``) or in ``WeightNoise.state_dict()``, so a checkpoint resumes the exact
stream; the rank of ``torch.distributed`` is mixed into every step, so DDP ranks draw
different noise. Without a seed, each layer or ``WeightNoise`` takes a fresh one from OS
entropy (recorded as ``.seed``), so two layers, two models and two runs never share noise.
Everything is inactive in eval mode.
"""
from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import torch
from torch.nn.utils import parametrize
from torch.nn.utils.rnn import PackedSequence

from ..core.pipeline import fresh_seed
from . import streams

__all__ = ["GaussianNoise", "WeightNoise", "seed_noise"]

_UNSET = -1  # site-key words are 32-bit, so a negative word marks "no site yet"


def _check_seed(seed: Any) -> int:
    streams.site_key(seed, "")  # raises ValueError for anything but an integer in [0, 2**64)
    return int(seed)


class GaussianNoise(torch.nn.Module):
    """Noise on hidden units, active only in training: ``x + std * n`` (``mode="additive"``)
    or ``x * (1 + std * n)`` (``"multiplicative"``, as Gaussian dropout), ``n ~ N(0, 1)``.

    Args:
        std: the noise's standard deviation (>= 0).
        mode: ``"additive"`` or ``"multiplicative"``.
        seed: None (default) takes a fresh seed from OS entropy, recorded as ``.seed``: every
            layer, model and run then draws different noise. For reproducible noise call
            :func:`seed_noise` on the model (each layer gets the seed and its module path as
            site), or give ``seed`` together with ``site``. An explicit seed without a site
            and without ``seed_noise`` is an error at the first training forward, since every
            such layer would share one stream.
        site: the site's name (any string unique within the network), default the module path
            given by :func:`seed_noise`.
        shared_dims: dims over which one noise value is shared (broadcast), e.g. ``(1,)`` for
            the time axis of a batch-first LSTM output (variational-dropout style); negative
            dims count from the end.

    Inputs: a tensor; a tuple or list (noise on the first element, e.g. an LSTM's output, the
    rest, e.g. its ``(h, c)``, passed through unchanged); or a ``PackedSequence`` (noise on its
    ``.data``). The persistent buffers ``site_key`` (the stream's two 32-bit key words) and
    ``step`` (training forwards taken; each draws at the next step) go into ``state_dict``, so a
    checkpoint resumes the exact stream. ``seed``/``site`` describe how the stream was made;
    after loading a checkpoint with another stream they are None (the buffers hold the truth).
    """

    site_key: torch.Tensor
    step: torch.Tensor

    def __init__(self, std: float, mode: str = "additive", seed: int | None = None, site: str | None = None,
                 shared_dims: Sequence[int] = ()) -> None:
        super().__init__()
        if mode not in ("additive", "multiplicative"):
            raise ValueError(f"mode must be additive or multiplicative, got {mode!r}")
        if not std >= 0:
            raise ValueError(f"std must be >= 0, got {std}")
        dims = tuple(shared_dims)
        if not all(isinstance(d, int) and not isinstance(d, bool) for d in dims):
            raise ValueError(f"shared_dims must be a tuple of ints, got {shared_dims!r}")
        if site is not None and not isinstance(site, str):
            raise ValueError(f"site must be a string, got {site!r}")
        self.std, self.mode, self.shared_dims = float(std), mode, dims
        self.register_buffer("site_key", torch.full((2,), _UNSET, dtype=torch.int64))
        self.register_buffer("step", torch.zeros((), dtype=torch.int64))
        if seed is None:
            self.seed: int | None = fresh_seed()
            self.site: str | None = "GaussianNoise" if site is None else site
        else:
            self.seed, self.site = _check_seed(seed), site
        self._has_site = False
        if self.site is not None:
            self._set_site(self.seed, self.site)

    def _set_site(self, seed: int, site: str) -> None:
        with torch.no_grad():
            self.site_key.copy_(streams.key_tensor(streams.site_key(seed, site)))
        self.seed, self.site, self._has_site = seed, site, True

    def reseed(self, seed: int, site: str) -> None:
        """Use the stream of (``seed``, ``site``) from its start (step 0)."""
        self._set_site(_check_seed(seed), site)
        with torch.no_grad():
            self.step.zero_()

    def _load_from_state_dict(self, state_dict: Any, prefix: str, *args: Any, **kwargs: Any) -> None:
        before = self.site_key.clone()
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        self._has_site = bool((self.site_key >= 0).all())
        if not torch.equal(before, self.site_key):  # the checkpoint's stream, not the recorded seed's
            self.seed = self.site = None

    def _noise(self, x: torch.Tensor, key: torch.Tensor) -> torch.Tensor:
        shape = list(x.shape)
        for d in self.shared_dims:
            if not -x.dim() <= d < x.dim():
                raise ValueError(f"GaussianNoise: shared_dims {self.shared_dims} has dim {d}, out of range "
                                 f"for an input with {x.dim()} dims (shape {tuple(x.shape)})")
            shape[d] = 1
        n = streams.normal_like(x, key, tuple(shape))
        return x + self.std * n if self.mode == "additive" else x * (1.0 + self.std * n)

    def _packed(self, x: PackedSequence, key: torch.Tensor) -> PackedSequence:
        if self.shared_dims:
            raise ValueError("GaussianNoise: shared_dims cannot apply to a PackedSequence (its time and batch "
                             "axes are flattened together); unpack it with pad_packed_sequence first")
        return PackedSequence(self._noise(x.data, key), x.batch_sizes, x.sorted_indices, x.unsorted_indices)

    def forward(self, x: Any) -> Any:
        """Noisy ``x`` in training mode (the step counter advances once), ``x`` itself in eval."""
        if not self.training or self.std == 0.0:
            return x
        if not self._has_site:
            raise RuntimeError(
                f"GaussianNoise(seed={self.seed}) has no site: layers with the same explicit seed would all draw the "
                "same noise. Call augnoise.torch.regularizers.seed_noise(model, seed) on the model (each layer gets "
                "its module path as site), or give GaussianNoise(..., seed=seed, site='a unique name')")
        self.step.add_(1)
        key = streams.step_key(self.site_key, self.step, streams.current_rank())
        if isinstance(x, PackedSequence):
            return self._packed(x, key)
        if isinstance(x, (tuple, list)):
            if not x:
                raise ValueError("GaussianNoise got an empty tuple/list")
            first = self._packed(x[0], key) if isinstance(x[0], PackedSequence) else self._noise(x[0], key)
            items = [first, *x[1:]]
            if isinstance(x, list):
                return items
            return type(x)(*items) if hasattr(x, "_fields") else type(x)(items)
        return self._noise(x, key)

    def extra_repr(self) -> str:
        s = f"std={self.std}, mode={self.mode}, seed={self.seed}, site={self.site!r}"
        return s + (f", shared_dims={self.shared_dims}" if self.shared_dims else "")


def seed_noise(model: torch.nn.Module, seed: int) -> torch.nn.Module:
    """Give every :class:`GaussianNoise` in ``model`` the stream of (``seed``, its module path)
    from its start, and return ``model``: the reproducible route, e.g.
    ``seed_noise(model, pipeline.seed)``. Distinct paths give distinct streams, so no two layers
    share noise. (:class:`WeightNoise` takes ``seed=`` directly: its sites are its parameters'
    names, ``"weight:" + name``.)"""
    seed = _check_seed(seed)
    for name, mod in model.named_modules():
        if isinstance(mod, GaussianNoise):
            mod.reseed(seed, name)
    return model


class _AddNoise(torch.nn.Module):
    """Parametrization: ``w + std * normals(site, step)`` while training, ``w`` otherwise. The
    noise depends only on (site, step, rank), so every access within one forward (an LSTM
    reads its weights several times) sees the same noisy weight."""

    site: torch.Tensor
    step: torch.Tensor

    def __init__(self, std: float, owner: WeightNoise, site: int, step: int, device: torch.device) -> None:
        super().__init__()
        self.std = float(std)
        self._owner = [owner]  # not a submodule
        self.register_buffer("site", streams.key_tensor(site, device), persistent=False)
        self.register_buffer("step", torch.tensor(step, dtype=torch.int64, device=device), persistent=False)

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        if not self.training or self.std == 0.0 or not self._owner[0].active:
            return w
        key = streams.step_key(self.site, self.step, streams.current_rank())
        return w + self.std * streams.normal_like(w, key, tuple(w.shape))


class WeightNoise:
    """Gaussian noise on parameters of ``model``, fresh for each training forward (inactive in
    eval mode).

    Give ``std`` or ``variance`` (eta). ``params`` selects parameters: a list of names (as in
    ``named_parameters``), a predicate ``(name, tensor) -> bool``, or None for every weight
    matrix/kernel (parameters with 2 or more dimensions). Use it as a context manager
    (``with WeightNoise(model, variance=1e-3): ...``: removed on exit, parameters exactly as
    before) or keep it attached (``WeightNoise(model, std=0.01).attach()``; ``detach()``).

    ``seed``: None (default) takes a fresh one from OS entropy (recorded as ``.seed``); the
    site of a parameter is ``"weight:" + name``, so one seed never gives two parameters the same
    noise. While attached, a forward pre-hook on ``model`` advances the step counter once per
    training forward, and each parameter's noise is a function of (site, step, rank): one draw
    per forward however often the weight is read. Calling a submodule directly does not advance
    the counter. ``state_dict()`` / ``load_state_dict()`` save and restore (seed, step) like an
    optimizer's, to resume the stream.

    Checkpoints: while attached, ``model.state_dict()`` has the plain names (``fc.weight``,
    holding the clean stored values, in the plain model's order) and ``model.load_state_dict()``
    accepts plain checkpoints, so checkpoints move freely between the model with and without
    weight noise (strict loading). Hooks are on ``model``: use its ``state_dict``, not a
    submodule's. ``torch.save(model)`` (pickling the whole module) is refused by torch for
    parametrized modules; save inside ``with noise.detached(): torch.save(model, path)``,
    which removes the noise and attaches it again, keeping the counter.
    """

    def __init__(self, model: torch.nn.Module, *, std: float | None = None, variance: float | None = None,
                 params: Iterable[str] | Callable[[str, torch.Tensor], bool] | None = None,
                 seed: int | None = None) -> None:
        if (std is None) == (variance is None):
            raise ValueError("give exactly one of std or variance")
        std = float(std) if std is not None else float(variance) ** 0.5  # type: ignore[arg-type]
        if not std >= 0:
            raise ValueError(f"std must be >= 0, got {std}")
        self.model, self.std = model, std
        self.seed: int = streams.check_seed(seed)
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
        nested = [n for n in chosen if ".parametrizations." in f".{n}"]
        if nested:
            raise ValueError(f"parameter {nested[0]!r} is already parametrized; WeightNoise does not stack on "
                             "another parametrization (choose params= without it)")
        self.names = chosen
        #: False pauses the noise while attached (the counter does not advance)
        self.active = True
        self._step = 0
        self._attached = False
        self._noises: list[_AddNoise] = []
        self._handles: list[Any] = []

    # -- the stream ---------------------------------------------------------------------------
    @property
    def step(self) -> int:
        """Training forwards taken while attached (the next one draws at ``step + 1``)."""
        return int(self._noises[0].step.item()) if self._attached else self._step

    def state_dict(self) -> dict[str, int]:
        """``{"seed": ..., "step": ...}``: what resumes the stream (save it with the model's)."""
        return {"seed": self.seed, "step": self.step}

    def load_state_dict(self, state: dict[str, int]) -> None:
        """Resume the stream saved by :meth:`state_dict`."""
        seed, step = _check_seed(state["seed"]), int(state["step"])
        if step < 0:
            raise ValueError(f"step must be >= 0, got {step}")
        self.seed, self._step = seed, step
        if self._attached:
            with torch.no_grad():
                for n, p in zip(self.names, self._noises):
                    p.site.copy_(streams.key_tensor(streams.site_key(seed, "weight:" + n)))
                    p.step.fill_(step)

    # -- attaching ----------------------------------------------------------------------------
    def _locate(self, name: str) -> tuple[torch.nn.Module, str]:
        mod_name, _, attr = name.rpartition(".")
        return (self.model.get_submodule(mod_name) if mod_name else self.model), attr

    def _stored_name(self, name: str) -> str:
        mod_name, _, attr = name.rpartition(".")
        return (mod_name + "." if mod_name else "") + f"parametrizations.{attr}.original"

    def attach(self) -> WeightNoise:
        """Add the noise to the parameters (no-op when attached); returns ``self``."""
        if self._attached:
            return self
        self._plain_keys = {k: i for i, k in enumerate(self.model.state_dict(keep_vars=True))}
        self._order = {}
        for n in self.names:
            mod, _ = self._locate(n)
            self._order.setdefault(id(mod), (mod, list(mod._parameters)))
        self._noises = []
        for n in self.names:
            mod, attr = self._locate(n)
            p = getattr(mod, attr)
            noise = _AddNoise(self.std, self, streams.site_key(self.seed, "weight:" + n), self._step, p.device)
            parametrize.register_parametrization(mod, attr, noise, unsafe=True)
            self._noises.append(noise)
        self._handles = [
            self.model.register_forward_pre_hook(self._advance),
            self.model.register_state_dict_post_hook(functools.partial(WeightNoise._plain_state_dict, self)),
            self.model.register_load_state_dict_pre_hook(self._accept_plain),
        ]
        self._attached = True
        return self

    def detach(self) -> None:
        """Remove the noise: the same Parameter objects, in their old order (the counter is kept)."""
        if not self._attached:
            return
        self._step = self.step
        for h in self._handles:
            h.remove()
        self._handles = []
        for n in self.names:
            mod, attr = self._locate(n)
            parametrize.remove_parametrizations(mod, attr, leave_parametrized=False)
        for mod, order in self._order.values():
            params = mod._parameters
            mod._parameters = {k: params[k] for k in order if k in params} | {k: v for k, v in params.items() if k not in order}
        self._noises = []
        self._attached = False

    @contextlib.contextmanager
    def detached(self) -> Iterator[torch.nn.Module]:
        """Detach for the block and attach again after it, keeping seed and counter: for
        ``torch.save(model)``, which torch refuses for parametrized modules."""
        was = self._attached
        self.detach()
        try:
            yield self.model
        finally:
            if was:
                self.attach()

    def __enter__(self) -> WeightNoise:  # noqa: PYI034
        return self.attach()

    def __exit__(self, *exc: object) -> None:
        self.detach()

    # -- hooks ----------------------------------------------------------------------------
    def _advance(self, module: torch.nn.Module, args: Any) -> None:
        if module.training and self.active and self.std != 0.0:
            for p in self._noises:
                p.step.add_(1)

    def _plain_state_dict(self, module: torch.nn.Module, state_dict: dict, prefix: str, local_metadata: Any) -> None:
        rename = {prefix + self._stored_name(n): prefix + n for n in self.names}
        keys = [k for k in state_dict if k.startswith(prefix)]
        items = [(rename.get(k, k), state_dict.pop(k)) for k in keys]
        last = len(self._plain_keys)
        items.sort(key=lambda kv: self._plain_keys.get(kv[0][len(prefix):], last))  # stable: the plain order
        state_dict.update(items)
        meta = getattr(state_dict, "_metadata", None)
        if meta is not None:
            for n in self.names:
                mod_name = n.rpartition(".")[0]
                base = prefix + (mod_name + "." if mod_name else "") + "parametrizations"
                for k in [k for k in meta if k == base or k.startswith(base + ".")]:
                    del meta[k]

    def _accept_plain(self, module: torch.nn.Module, state_dict: dict, prefix: str, *args: Any) -> None:
        for n in self.names:
            plain, stored = prefix + n, prefix + self._stored_name(n)
            if plain in state_dict and stored not in state_dict:
                state_dict[stored] = state_dict.pop(plain)
