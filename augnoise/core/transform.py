"""The transform contract.

A transform is a small class with

* ``name`` (namespaced, e.g. ``image.GaussianNoise``) and ``modality``;
* ``Params``: a pydantic model of its parameters, validated before any work
  (``p`` and ``field`` come from :class:`~augnoise.core.params.BaseParams`);
* ``make_params(data, rng)``: draws this call's random parameters (e.g. the std from a range);
* ``apply(data, params, rng)``: calls a pure kernel function with them.

``__call__(sample, rng)`` ties these together: it never mutates ``sample`` or its arrays and
takes every random number from ``rng``. Defining a subclass with a ``name`` registers it.
"""
from __future__ import annotations

from typing import Any, ClassVar, Mapping

import numpy as np
from pydantic import ValidationError

from .errors import InputError, ParamError
from .params import BaseParams, translate_validation_error

Sample = dict[str, Any]

#: Default field per modality.
DEFAULT_FIELDS = {"image": "image", "audio": "audio", "tabular": "features", "adversarial": "image"}

REGISTRY: dict[str, type["Transform"]] = {}


class Step:
    """Anything that can stand in a pipeline: maps a sample dict to a new one, given an rng."""

    name: ClassVar[str] = ""

    def __call__(self, sample: Mapping[str, Any], rng: np.random.Generator,
                 trace: list[tuple[str, dict[str, Any]]] | None = None) -> Sample:  # pragma: no cover
        """Return a new sample. When ``trace`` is a list, append ``(name, drawn params)`` for
        every leaf step actually applied (for previews and debugging)."""
        raise NotImplementedError

    def to_config(self) -> dict[str, Any]:  # pragma: no cover - abstract
        """The single-key mapping that recreates this step in YAML."""
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.to_config() == self.to_config()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(repr(self.to_config()))

    def __repr__(self) -> str:
        (name, params), = self.to_config().items()
        args = ", ".join(f"{k}={v!r}" for k, v in (params or {}).items())
        return f"{name}({args})"


class Transform(Step):
    """Base class of leaf transforms. Subclasses set ``name``, ``modality``, ``Params``."""

    modality: ClassVar[str] = ""
    Params: ClassVar[type[BaseParams]] = BaseParams
    #: whether a torch kernel exists for the batch stage (augnoise.torch.batch)
    batch_capable: ClassVar[bool] = False
    #: range parameters drawn per sample in the batch stage, in order (then the noise key)
    batch_draws: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("name"):
            if cls.name in REGISTRY and REGISTRY[cls.name] is not cls:
                raise RuntimeError(f"transform name {cls.name!r} registered twice")
            REGISTRY[cls.name] = cls

    def __init__(self, **params: Any) -> None:
        try:
            self.params = self.Params(**params)
        except ValidationError as err:
            raise ParamError(self.name, translate_validation_error(err, list(self.Params.model_fields))) from None

    # -- contract -------------------------------------------------------------------------
    @property
    def field(self) -> str:
        return self.params.field or DEFAULT_FIELDS.get(self.modality, self.modality)

    @property
    def p(self) -> float:
        return float(self.params.p)

    def check(self, data: Any) -> Any:
        """Validate one input value; raise :class:`InputError` with a clear message."""
        return data

    def context(self, sample: Mapping[str, Any]) -> dict[str, Any]:
        """Other sample fields the kernel needs (e.g. ``sample_rate``); merged into params."""
        return {}

    def make_params(self, data: Any, rng: np.random.Generator) -> dict[str, Any]:
        """Draw the random parameters of one call (std from its range, ...)."""
        return {}

    def apply(self, data: Any, params: dict[str, Any], rng: np.random.Generator) -> Any:  # pragma: no cover
        """Apply the kernel to ``data`` with drawn ``params``; must return a new array."""
        raise NotImplementedError

    def __call__(self, sample: Mapping[str, Any], rng: np.random.Generator,
                 trace: list[tuple[str, dict[str, Any]]] | None = None) -> Sample:
        field = self.field
        if field not in sample:
            raise InputError(f"sample has no field {field!r} (fields: {', '.join(map(str, sample)) or 'none'})")
        out = dict(sample)
        if self.p < 1.0 and rng.random() >= self.p:
            return out
        data = self.check(sample[field])
        ctx = self.context(sample)
        params = self.make_params(data, rng)
        out[field] = self.apply(data, {**params, **ctx} if ctx else params, rng)
        if trace is not None:
            trace.append((self.name, {k: v for k, v in params.items()
                                      if k != "key" and isinstance(v, (int, float, str, bool))}))
        return out

    def to_config(self) -> dict[str, Any]:
        given = self.params.model_dump(exclude_unset=True)
        order = [k for k in given if k not in ("p", "field")] + [k for k in ("p", "field") if k in given]
        return {self.name: {k: given[k] for k in order}}

    @classmethod
    def describe(cls) -> str:
        """First paragraph of the docstring."""
        doc = (cls.__doc__ or "").strip()
        return " ".join(doc.split("\n\n")[0].split())
