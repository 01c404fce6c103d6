"""Any albumentations transform as a pipeline step: ``albumentations.<Name>: {...}``.

The class is looked up in albumentations' own registry (this module registers the
``albumentations.`` name prefix with the core; albumentations itself is imported only when such
a step is built); parameters are validated by its pydantic ``InitSchema`` (strict: unknown keys
are errors). ``p`` is handled by augnoise, and the transform's generators are replaced for every
call by ones seeded from the step's own key, so albumentations steps are exactly as
reproducible as ours. They run in the sample stage only.
"""
from __future__ import annotations

import difflib
import random
import warnings
from typing import Any

import numpy as np
from pydantic import ValidationError

from ..core.context import Context
from ..core.errors import InputError, ParamError
from ..core.params import translate_validation_error
from ..core.registry import PrefixResolver, register_prefix
from ..core.transform import Sample, Step

ALBU_PREFIX = "albumentations."


def albumentations_class(name: str) -> type:
    """Resolve ``albumentations.<Name>`` through albumentations' registry (KeyError if none)."""
    from albumentations.core.serialization import SERIALIZABLE_REGISTRY
    from albumentations.core.transforms_interface import BasicTransform

    short = name[len(ALBU_PREFIX):] if name.startswith(ALBU_PREFIX) else name
    cls = SERIALIZABLE_REGISTRY.get(short)
    if not (isinstance(cls, type) and issubclass(cls, BasicTransform)):
        raise KeyError(short)
    return cls


def albumentations_suggest(name: str) -> str:
    from albumentations.core.serialization import SERIALIZABLE_REGISTRY

    short = name[len(ALBU_PREFIX):]
    close = difflib.get_close_matches(short, list(SERIALIZABLE_REGISTRY), n=1)
    return f"; did you mean albumentations.{close[0]}?" if close else ""


class AlbumentationsStep(Step):
    """Wraps one albumentations transform; acts on ``field`` (default ``image``)."""

    def __init__(self, name: str, **params: Any) -> None:
        self.name = name if name.startswith(ALBU_PREFIX) else ALBU_PREFIX + name
        self._given = dict(params)
        p = params.pop("p", 1.0)
        field = params.pop("field", "image")
        issues: list[tuple[str, str]] = []
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
            issues.append(("p", f"must be a number in [0, 1], got {p!r}"))
        if not isinstance(field, str) or not field:
            issues.append(("field", f"must be a non-empty string, got {field!r}"))
        cls = albumentations_class(self.name)
        if "strict" in params:
            issues.append(("strict", "is set by augnoise (always strict)"))
        if not issues:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    self._t = cls(**params, p=1.0, strict=True)
            except ValidationError as err:
                issues.extend(translate_validation_error(err, _albu_fields(cls)))
            except ValueError as err:
                cause = err.__cause__ or err.__context__
                if isinstance(cause, ValidationError):
                    issues.extend(translate_validation_error(cause, _albu_fields(cls)))
                else:
                    issues.append(("", str(err).splitlines()[0]))
            except TypeError as err:
                issues.append(("", str(err).splitlines()[0]))
        if issues:
            raise ParamError(self.name, issues)
        self.p = float(p)
        self.field = field

    def fields(self) -> set[str]:
        return {self.field}

    def field_problem(self, specs: Any) -> str:
        spec = specs.get(self.field)
        if spec is None:
            return ""
        if spec.layout not in (None, "HWC", "HW"):
            return f"fields: {self.field}: albumentations takes channels-last numpy images, declared {spec.layout}"
        if spec.range is not None or spec.normalized:
            return (f"fields: {self.field}: albumentations takes images in its own value conventions (uint8, or float "
                    f"in [0, 1]); a declared range or normalize is not applied to it")
        return ""

    def stage_problem(self, stage: str) -> str:
        if stage == "batch":
            return "albumentations steps run in the sample stage only (numpy images); move it under sample:"
        return ""

    def run(self, sample: Sample, r: Any, ctx: Context) -> Sample:
        if self.field not in sample:
            raise InputError(f"sample has no field {self.field!r}")
        if not r.below(self.p):
            return sample
        img = sample[self.field]
        if not isinstance(img, np.ndarray) or img.size == 0:
            raise InputError(f"field {self.field!r} must be a non-empty numpy array")
        seed = r.key() >> 1
        self._t.set_random_state(np.random.default_rng(seed), random.Random(seed))
        # albumentations gets a private copy: our input is never handed out for mutation.
        res = self._t(image=np.array(img, copy=True))["image"]
        out = dict(sample)
        out[self.field] = np.ascontiguousarray(res)
        if ctx.trace is not None:
            ctx.trace.append((self.name, {}))
        return out


    def to_config(self) -> dict[str, Any]:
        return {self.name: dict(self._given)}


def _albu_fields(cls: type) -> list[str]:
    schema = getattr(cls, "InitSchema", None)
    return [f for f in getattr(schema, "model_fields", {}) if f != "strict"]


def _build(name: str, params: dict[str, Any]) -> AlbumentationsStep:
    return AlbumentationsStep(name, **params)


def _show(name: str) -> str:
    """``augnoise show albumentations.<Name>``: its doc and parameters (KeyError if unknown)."""
    from ..cli.info import _param_rows, param_table

    cls = albumentations_class(name)
    doc = (cls.__doc__ or "").strip().split("\n\n")[0]
    rows = [r for r in _param_rows(cls.InitSchema) if r[0] != "strict"]
    rows.append(("field", "string", '"image"', "sample field the step acts on"))
    return f"{name} (albumentations)\n\n{doc}\n\n{param_table(rows)}"


register_prefix(PrefixResolver(ALBU_PREFIX, _build, albumentations_suggest,
                               "any albumentations transform, seeded from augnoise's keys (sample stage)", _show))
