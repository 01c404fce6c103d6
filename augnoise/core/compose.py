"""Composition steps: ``OneOf``, ``SomeOf``, ``Sometimes``. They nest freely.

Child ``i`` of a composite draws from the generator keyed by the composite's path plus ``i``
(:func:`~augnoise.core.rng.child_generator`), so adding a choice elsewhere never shifts the
noise of an unrelated step.
"""
from __future__ import annotations

from typing import Any, ClassVar, Mapping, Sequence

import numpy as np

from .errors import InputError, ParamError
from .params import draw
from .rng import child_generator
from .transform import Sample, Step

COMPOSITES: dict[str, type["Composite"]] = {}


class Composite(Step):
    """A step holding child steps."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        COMPOSITES[cls.name] = cls

    #: parameter names accepted besides ``transforms``
    options: ClassVar[tuple[str, ...]] = ()

    def __init__(self, transforms: Sequence[Step], p: float = 1.0) -> None:
        bad = [t for t in transforms if not isinstance(t, Step)]
        if bad:
            raise ParamError(self.name, [("transforms", f"items must be steps, got {bad[0]!r}")])
        if not transforms:
            raise ParamError(self.name, [("transforms", "needs at least one step")])
        _check_p(self.name, p)
        self.transforms = list(transforms)
        self.p = p

    def _run(self, sample: Mapping[str, Any], rng: np.random.Generator, order: Sequence[int],
             trace: list | None = None) -> Sample:
        from .pipeline import locate

        out = dict(sample)
        for i in order:
            try:
                out = self.transforms[i](out, child_generator(rng, i), trace)
            except InputError as err:
                # keep the child's position; the pipeline adds the composite's own in front
                located = locate(err, i + 1, self.transforms[i])
                raise located from None
        return out

    def _choose(self, rng: np.random.Generator) -> Sequence[int]:  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, sample: Mapping[str, Any], rng: np.random.Generator, trace: list | None = None) -> Sample:
        if self.p < 1.0 and rng.random() >= self.p:
            return dict(sample)
        return self._run(sample, rng, self._choose(rng), trace)

    def _extra_config(self) -> dict[str, Any]:
        return {}

    def to_config(self) -> dict[str, Any]:
        cfg: dict[str, Any] = {"transforms": [t.to_config() for t in self.transforms]}
        cfg.update(self._extra_config())
        if self.p != 1.0:
            cfg["p"] = self.p
        return {self.name: cfg}


def _check_p(name: str, p: Any) -> None:
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
        raise ParamError(name, [("p", f"must be a number in [0, 1], got {p!r}")])


class OneOf(Composite):
    """Apply exactly one child, chosen at random (uniformly, or by ``weights``)."""

    name = "OneOf"
    options = ("weights", "p")

    def __init__(self, transforms: Sequence[Step], weights: Sequence[float] | None = None, p: float = 1.0):
        super().__init__(transforms, p)
        if weights is not None:
            ws = list(weights)
            if len(ws) != len(self.transforms):
                raise ParamError(self.name, [("weights", f"needs {len(self.transforms)} values (one per transform), got {len(ws)}")])
            if any(isinstance(w, bool) or not isinstance(w, (int, float)) or not w >= 0 for w in ws):
                raise ParamError(self.name, [("weights", f"must be numbers >= 0, got {ws}")])
            if sum(ws) <= 0:
                raise ParamError(self.name, [("weights", "must not all be zero")])
            weights = ws
        self.weights = weights

    def _choose(self, rng: np.random.Generator) -> Sequence[int]:
        n = len(self.transforms)
        if self.weights is None:
            return [int(rng.integers(n))]
        w = np.asarray(self.weights, dtype=float)
        return [int(rng.choice(n, p=w / w.sum()))]

    def _extra_config(self) -> dict[str, Any]:
        return {} if self.weights is None else {"weights": list(self.weights)}


class SomeOf(Composite):
    """Apply ``n`` distinct children (``n`` fixed or drawn from ``[lo, hi]``), in list order."""

    name = "SomeOf"
    options = ("n", "p")

    def __init__(self, transforms: Sequence[Step], n: int | Sequence[int] = 1, p: float = 1.0):
        super().__init__(transforms, p)
        vals = list(n) if isinstance(n, (list, tuple)) else [n]
        if len(vals) not in (1, 2) or any(isinstance(v, bool) or not isinstance(v, int) for v in vals):
            raise ParamError(self.name, [("n", f"must be an integer or a [lo, hi] pair of integers, got {n!r}")])
        if any(v < 0 or v > len(self.transforms) for v in vals):
            raise ParamError(self.name, [("n", f"must be within [0, {len(self.transforms)}] (the number of transforms), got {n!r}")])
        if len(vals) == 2 and vals[0] > vals[1]:
            raise ParamError(self.name, [("n", f"lo must be <= hi, got {list(vals)}")])
        self.n = list(n) if isinstance(n, (list, tuple)) else n

    def _choose(self, rng: np.random.Generator) -> Sequence[int]:
        k = draw(self.n, rng, integer=True)
        return sorted(int(i) for i in rng.choice(len(self.transforms), size=k, replace=False))

    def _extra_config(self) -> dict[str, Any]:
        return {"n": self.n}


class Sometimes(Composite):
    """Apply all children in order with probability ``p`` (otherwise none)."""

    name = "Sometimes"
    options = ("p",)

    def __init__(self, transforms: Sequence[Step], p: float = 0.5):
        super().__init__(transforms, p)

    def _choose(self, rng: np.random.Generator) -> Sequence[int]:
        return range(len(self.transforms))

    def to_config(self) -> dict[str, Any]:
        return {self.name: {"transforms": [t.to_config() for t in self.transforms], "p": self.p}}
