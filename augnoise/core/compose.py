"""Composition steps: ``OneOf``, ``SomeOf``, ``Sometimes``. They nest freely and run in both
stages.

A composite draws its choices like a transform draws its values: from its own words, with
code that works for one sample (plain numbers) and for many (arrays), so the batch stage routes
each sample exactly as the sample stage would. Child ``j`` draws from the key of the
composite's path plus ``j``, so adding a choice elsewhere never shifts an unrelated step.
Parameters are a pydantic model, validated like every transform's.
"""
from __future__ import annotations

import math
from typing import Annotated, Any, ClassVar, Optional, Sequence, Union

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, WithJsonSchema, model_validator
from pydantic.functional_validators import BeforeValidator

from .context import Context
from .errors import InputError, ParamError, locate
from .params import SAME_ON_BATCH_DOC, Probability, show, translate_validation_error
from .transform import SHARED, Sample, Step

COMPOSITES: dict[str, type["Composite"]] = {}


def _type_word(v: Any) -> str:
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, (int, float)):
        return "a number"
    return {str: "a string", type(None): "nothing"}.get(
        type(v), "a mapping" if isinstance(v, dict) else "a list" if isinstance(v, list) else type(v).__name__)


def _check_steps(v: Any) -> Any:
    if isinstance(v, tuple):
        v = list(v)
    if not isinstance(v, list):
        raise ValueError(f"must be a list of steps, got {_type_word(v)}")
    if not v:
        raise ValueError("needs at least one step")
    return v  # items: Steps (checked by Composite) or YAML mappings (checked one by one, located)


StepList = Annotated[list, BeforeValidator(_check_steps), WithJsonSchema({"type": "array", "minItems": 1})]


class CompositeParams(BaseModel):
    """Parameters every composite has: its child steps and ``p``."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, arbitrary_types_allowed=True,
                              allow_inf_nan=False)

    transforms: StepList = Field(..., description="the child steps")
    p: Probability = Field(1.0, description="probability that the composite is applied to a sample")
    same_on_batch: bool = Field(False, description=SAME_ON_BATCH_DOC)


#: the weights of a OneOf are relative; their sum must lie in [MIN_WEIGHT_SUM, MAX_WEIGHT_SUM] so
#: that ``u * sum`` (u uniform in [0, 1)) and the running sums stay finite normal floats
MIN_WEIGHT_SUM = 1e-300
MAX_WEIGHT_SUM = 1e300


def _check_weights(v: Any) -> Any:
    if v is None:
        return v
    if isinstance(v, tuple):
        v = list(v)
    if not isinstance(v, list):
        raise ValueError(f"must be a list of numbers, got {_type_word(v)}")
    ws = list(v)
    for i, w in enumerate(ws):
        if isinstance(w, bool) or not isinstance(w, (int, float)) or not (
                w >= 0 and (math.isfinite(w) if isinstance(w, float) else True)):
            raise ValueError(f"must be finite numbers >= 0, got {show(ws)}")
        if w > MAX_WEIGHT_SUM:
            raise ValueError(f"item {i} must be <= {MAX_WEIGHT_SUM:g} (weights are relative: scale them down), "
                             f"got {show(w)}")
    total = sum(float(w) for w in ws)
    if ws and total <= 0:
        raise ValueError(f"must not all be zero, got {show(ws)}")
    if ws and not MIN_WEIGHT_SUM <= total <= MAX_WEIGHT_SUM:
        raise ValueError(f"must sum to a number in [{MIN_WEIGHT_SUM:g}, {MAX_WEIGHT_SUM:g}] (weights are relative: "
                         f"scale them), got a sum of {show(total)}")
    return ws


class OneOfParams(CompositeParams):
    weights: Annotated[Optional[list], BeforeValidator(_check_weights),
                       WithJsonSchema({"type": "array", "items": {"type": "number", "minimum": 0,
                                                                   "maximum": MAX_WEIGHT_SUM}})] = Field(
        None, description="relative weight of each child (default: equal)")

    @model_validator(mode="after")
    def _one_weight_each(self) -> "OneOfParams":
        if self.weights is not None and len(self.weights) != len(self.transforms):
            raise ValueError(f"weights: needs {len(self.transforms)} values (one per transform), got {len(self.weights)}")
        return self


def _check_n(v: Any) -> Any:
    vals = list(v) if isinstance(v, (list, tuple)) else [v]
    if len(vals) not in (1, 2) or any(isinstance(x, bool) or not isinstance(x, int) for x in vals):
        raise ValueError(f"must be an integer or a [lo, hi] pair of integers, got {show(v)}")
    if len(vals) == 2 and vals[0] > vals[1]:
        raise ValueError(f"lo must be <= hi, got {show(vals)}")
    return list(v) if isinstance(v, (list, tuple)) else v


class SomeOfParams(CompositeParams):
    n: Annotated[Union[int, list], BeforeValidator(_check_n), WithJsonSchema({"anyOf": [
        {"type": "integer", "minimum": 0}, {"type": "array", "items": {"type": "integer", "minimum": 0},
                                            "minItems": 2, "maxItems": 2}]})] = Field(
        1, description="how many children to apply: a number, or [lo, hi] drawn per sample")

    @model_validator(mode="after")
    def _n_within(self) -> "SomeOfParams":
        vals = self.n if isinstance(self.n, list) else [self.n]
        if any(v < 0 or v > len(self.transforms) for v in vals):
            raise ValueError(f"n: must be within [0, {len(self.transforms)}] (the number of transforms), got {show(self.n)}")
        return self


class SometimesParams(CompositeParams):
    p: Probability = Field(0.5, description="probability that all children are applied")


def _located_params(cls: type["Composite"], err: ValidationError) -> list[tuple[str, str]]:
    issues = []
    for field, msg in translate_validation_error(err, list(cls.Params.model_fields)):
        if not field and ": " in msg and msg.split(": ", 1)[0] in cls.Params.model_fields:
            field, msg = msg.split(": ", 1)  # a model-level check names its field first
        if field == "transforms" and msg == "required parameter is missing":
            msg += " (the list of child steps)"
        issues.append((field, msg))
    return issues


class Composite(Step):
    """A step holding child steps (``transforms``)."""

    Params: ClassVar[type[CompositeParams]] = CompositeParams

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("name"):
            COMPOSITES[cls.name] = cls

    def __init__(self, transforms: Sequence[Step], **params: Any) -> None:
        try:
            self.params = self.Params(transforms=list(transforms) if isinstance(transforms, tuple) else transforms,
                                      **params)
        except ValidationError as err:
            raise ParamError(self.name, _located_params(type(self), err)) from None
        bad = [t for t in self.params.transforms if not isinstance(t, Step)]
        if bad:
            raise ParamError(self.name, [("transforms", f"items must be steps, got {show(bad[0])}")])
        self.transforms: list[Step] = list(self.params.transforms)

    @classmethod
    def validate_config(cls, params: dict[str, Any]) -> list[tuple[str, str]]:
        """Problems of a YAML parameter mapping (children still as raw mappings)."""
        try:
            cls.Params(**params)
        except ValidationError as err:
            return _located_params(cls, err)
        return []

    @property
    def p(self) -> float:  # type: ignore[override]
        return float(self.params.p)

    @property
    def same_on_batch(self) -> bool:  # type: ignore[override]
        return bool(self.params.same_on_batch)

    def children(self) -> list[Step]:
        return self.transforms

    def fields(self) -> set[str]:
        return set().union(*(c.fields() for c in self.transforms))

    def choose(self, r: Any) -> list[Any]:  # pragma: no cover - abstract
        """Per child: whether it is applied (a bool per sample; arrays for a RandBatch)."""
        raise NotImplementedError

    def choice_problem(self, chosen: list[bool]) -> str:
        """Why per-child choices (from a replayed record) are not ones this composite makes
        ('' if they are)."""
        return ""

    def _chosen(self, r: Any) -> list[Any]:
        tape = getattr(r, "tape", None)
        return self.choose(r) if tape is None else tape.choose(self, r)

    def run(self, sample: Sample, r: Any, ctx: Context) -> Sample:
        if not r.below(self.p):
            return sample
        chosen = self._chosen(r)
        for j, child in enumerate(self.transforms):
            if chosen[j]:
                try:
                    sample = child.run(sample, r.child(j), ctx)
                except InputError as err:
                    raise locate(err, j + 1, child.name) from None
        return sample

    def run_batch(self, data: Sample, r: Any, gate: np.ndarray, ctx: Context) -> Sample:
        applied = gate & r.below(self.p)
        chosen = self._chosen(r)
        for j, child in enumerate(self.transforms):
            sub = applied & chosen[j]
            if sub.any():
                rc = r.child(j)
                if getattr(rc, "tape", True) is None and child.same_on_batch:
                    rc.tape = SHARED
                try:
                    data = child.run_batch(data, rc, sub, ctx)
                except InputError as err:
                    raise locate(err, j + 1, child.name) from None
        return data

    def _extra_config(self) -> dict[str, Any]:
        return {}

    def to_config(self) -> dict[str, Any]:
        cfg: dict[str, Any] = {"transforms": [t.to_config() for t in self.transforms]}
        cfg.update(self._extra_config())
        if self.p != 1.0:
            cfg["p"] = self.params.p
        if self.same_on_batch:
            cfg["same_on_batch"] = True
        return {self.name: cfg}


class OneOf(Composite):
    """Apply exactly one child, chosen at random (uniformly, or by ``weights``)."""

    name = "OneOf"
    Params = OneOfParams

    @property
    def weights(self) -> list[float] | None:
        return self.params.weights

    def choose(self, r: Any) -> list[Any]:
        n = len(self.transforms)
        if self.weights is None:
            c = r.integers(n)
        else:
            cum = np.cumsum(np.asarray(self.weights, np.float64))
            c = np.minimum(np.searchsorted(cum, r.random() * cum[-1], side="right"), n - 1)
        return [c == j for j in range(n)]

    def choice_problem(self, chosen: list[bool]) -> str:
        if sum(chosen) != 1:
            return f"OneOf applies exactly one child, got {show(chosen)}"
        if self.weights is not None and not self.weights[chosen.index(True)]:
            return f"child {chosen.index(True) + 1} has weight 0 and is never chosen, got {show(chosen)}"
        return ""

    def _extra_config(self) -> dict[str, Any]:
        return {} if self.weights is None else {"weights": list(self.weights)}


class SomeOf(Composite):
    """Apply ``n`` distinct children (``n`` fixed or drawn from ``[lo, hi]``), in list order."""

    name = "SomeOf"
    Params = SomeOfParams

    @property
    def n(self) -> Any:
        return self.params.n

    def choose(self, r: Any) -> list[Any]:
        k = r.int_value(self.n)
        ranks = [r.u32() for _ in self.transforms]  # a random order; ties broken by position
        out = []
        for j, rj in enumerate(ranks):
            before = sum((ri < rj) | ((ri == rj) & (i < j)) for i, ri in enumerate(ranks))
            out.append(before < k)
        return out

    def choice_problem(self, chosen: list[bool]) -> str:
        lo, hi = (self.n[0], self.n[1]) if isinstance(self.n, list) else (self.n, self.n)
        if not lo <= sum(chosen) <= hi:
            return f"SomeOf applies {lo if lo == hi else f'{lo} to {hi}'} children, got {sum(chosen)}: {show(chosen)}"
        return ""

    def _extra_config(self) -> dict[str, Any]:
        return {"n": self.n}


class Sometimes(Composite):
    """Apply all children in order with probability ``p`` (otherwise none)."""

    name = "Sometimes"
    Params = SometimesParams

    def choose(self, r: Any) -> list[Any]:
        return [True] * len(self.transforms)

    def choice_problem(self, chosen: list[bool]) -> str:
        return "" if all(chosen) else f"Sometimes applies all its children, got {show(chosen)}"

    def to_config(self) -> dict[str, Any]:
        cfg: dict[str, Any] = {"transforms": [t.to_config() for t in self.transforms], "p": self.params.p}
        if self.same_on_batch:
            cfg["same_on_batch"] = True
        return {self.name: cfg}
