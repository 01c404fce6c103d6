"""Any albumentations transform as a pipeline step: ``albumentations.<Name>: {...}``.

The class is looked up in albumentations' own registry; parameters are validated by its
pydantic ``InitSchema`` (strict: unknown keys are errors). ``p`` is handled by augnoise, and
the transform's generators are replaced for every call by ones derived from augnoise's keyed
generator, so albumentations steps are exactly as reproducible as ours.
"""
from __future__ import annotations

import random
import warnings
from typing import Any, Mapping

import numpy as np
from pydantic import ValidationError

from ..core.errors import InputError, ParamError
from ..core.params import translate_validation_error
from ..core.registry import ALBU_PREFIX, albumentations_class
from ..core.transform import Sample, Step


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

    def __call__(self, sample: Mapping[str, Any], rng: np.random.Generator, trace: list | None = None) -> Sample:
        out = dict(sample)
        if self.field not in sample:
            raise InputError(f"sample has no field {self.field!r}")
        if self.p < 1.0 and rng.random() >= self.p:
            return out
        img = sample[self.field]
        if not isinstance(img, np.ndarray) or img.size == 0:
            raise InputError(f"field {self.field!r} must be a non-empty numpy array")
        seed = int(rng.integers(2**63))
        self._t.set_random_state(np.random.default_rng(seed), random.Random(seed))
        # albumentations gets a private copy: our input is never handed out for mutation.
        res = self._t(image=np.array(img, copy=True))["image"]
        out[self.field] = np.ascontiguousarray(res)
        if trace is not None:
            trace.append((self.name, {}))
        return out

    def to_config(self) -> dict[str, Any]:
        return {self.name: dict(self._given)}


def _albu_fields(cls: type) -> list[str]:
    schema = getattr(cls, "InitSchema", None)
    return [f for f in getattr(schema, "model_fields", {}) if f != "strict"]
