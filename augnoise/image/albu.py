"""Any albumentations transform as a pipeline step: ``albumentations.<Name>: {...}``.

The class is looked up in albumentations' own registry (this module registers the
``albumentations.`` name prefix with the core; albumentations itself is imported only when such
a step is built); parameters are validated by its pydantic ``InitSchema`` (strict: unknown keys
are errors). ``p`` is handled by augnoise, and every call gets generators seeded from the step's
own full 64-bit key, so albumentations steps are exactly as reproducible as ours. They run in the
sample stage only.

Safety (issue 14):

* **Threads.** Each thread runs its own copy of the transform (``threading.local``, made on the
  thread's first call from a never-called prototype), so concurrent calls never share the
  generators albumentations keeps on the instance.
* **No global random state.** Transforms that touch a global generator are refused at
  construction with a pointer to augnoise's own transform (:data:`REFUSED`).
* **Full-width seeds.** Transforms that narrow their generator to a 32-bit ``seed`` /
  ``random_seed`` parameter of ``apply`` get a seed derived from the whole key instead.
* **Only what can run.** Base classes, volume-only transforms and transforms that need more than
  the image with every call (``metadata_key``, masks, bounding boxes: ``targets_as_params``) are
  refused at construction instead of failing on every call.
"""
from __future__ import annotations

import copy
import difflib
import inspect
import json
import random
import threading
import warnings
from typing import Any

import numpy as np
from pydantic import ValidationError

from ..core.context import Context
from ..core.errors import InputError, ParamError, escape
from ..core.params import translate_validation_error
from ..core.registry import PrefixResolver, register_prefix
from ..core.transform import Sample, Step

ALBU_PREFIX = "albumentations."

_GLOBAL_CV_RNG = ("reseeds OpenCV's global random generator (setRNGSeed) from 16 bits on every call, so it "
                  "changes global state and makes at most 65,536 different noise maps")
_NEEDS_BOXES = "needs bounding boxes with every call, and an augnoise step hands over the image alone"
_TENSOR = "returns a torch tensor, not an image"

#: albumentations transforms refused by name: ``{Name: (why, what to use instead)}``. Checked
#: against the installed albumentations (2.0.8) by tests/image/test_albu_safety.py, which runs
#: every accepted transform and checks that no global generator changed.
REFUSED: dict[str, tuple[str, str]] = {
    "GaussNoise": (_GLOBAL_CV_RNG, "use image.GaussianNoise (keyed, std in the image's value units)"),
    "AdditiveNoise": (_GLOBAL_CV_RNG, "for Gaussian noise use image.GaussianNoise; augnoise has no uniform, "
                                      "Laplace or beta additive noise yet"),
    "RGBShift": (_GLOBAL_CV_RNG, "augnoise has no per-channel colour shift yet"),
    "BBoxSafeRandomCrop": (_NEEDS_BOXES, "use albumentations.RandomCrop or albumentations.RandomSizedCrop"),
    "AtLeastOneBBoxRandomCrop": (_NEEDS_BOXES, "use albumentations.RandomCrop"),
    "RandomSizedBBoxSafeCrop": (_NEEDS_BOXES, "use albumentations.RandomSizedCrop"),
    "ConstrainedCoarseDropout": ("needs a mask or bounding boxes with every call, and an augnoise step hands "
                                 "over the image alone", "use albumentations.CoarseDropout"),
    "ToTensorV2": (_TENSOR, "the DataLoader's collate (or augnoise.torch) makes the tensors"),
    "ToTensor3D": (_TENSOR, "the DataLoader's collate (or augnoise.torch) makes the tensors"),
}

#: albumentations' interface classes (also refused: every name starting with ``Base`` or ``_``)
_BASE_CLASSES = frozenset({"BasicTransform", "DualTransform", "ImageOnlyTransform", "Transform3D"})
#: parameters of ``apply`` that albumentations fills with a 32-bit seed it draws itself
_NARROW_SEEDS = ("seed", "random_seed")


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
    """A "; did you mean albumentations.X?" suffix for a misspelt name ('' if none is close)."""
    from albumentations.core.serialization import SERIALIZABLE_REGISTRY

    short = name[len(ALBU_PREFIX):]
    close = difflib.get_close_matches(short, list(SERIALIZABLE_REGISTRY), n=1)
    return f"; did you mean albumentations.{close[0]}?" if close else ""


def albumentations_refusal(cls: type, instance: Any = None) -> str:
    """Why ``cls`` (an albumentations transform class) cannot be an augnoise step ('' if it can).

    The rules, in order: the :data:`REFUSED` table (global random state, extra targets, tensor
    output); albumentations' base classes; ``_targets`` without ``Targets.IMAGE`` (volume-only
    transforms); a ``metadata_key`` parameter (reference data handed with every call); and, given
    the built ``instance``, ``targets_as_params`` naming anything but the image."""
    from albumentations.core.type_definitions import Targets

    name = cls.__name__
    if name in REFUSED:
        why, instead = REFUSED[name]
        return f"{why}; {instead}"
    if name in _BASE_CLASSES or name.startswith(("Base", "_")):
        return "is one of albumentations' base classes, not a transform"
    targets = cls._targets if isinstance(getattr(cls, "_targets", None), tuple) else (getattr(cls, "_targets", None),)
    if Targets.IMAGE not in targets:
        return "acts on volumes (3D data) only, never on an image"
    if "metadata_key" in getattr(getattr(cls, "InitSchema", None), "model_fields", {}):
        return ("needs metadata (reference images or elements, named by metadata_key) with every call, and an "
                "augnoise step hands over the image alone")
    if instance is not None:
        extra = sorted(set(instance.targets_as_params) - {"image", "images"})
        if extra:
            return (f"needs {escape(', '.join(map(str, extra)), 80)} with every call, and an augnoise step hands "
                    f"over the image alone")
    return ""


def _narrow_seed_params(cls: type) -> tuple[str, ...]:
    """The ``apply`` parameters through which ``cls`` hands itself a 32-bit seed."""
    try:
        names = inspect.signature(cls.apply).parameters
    except (TypeError, ValueError):
        return ()
    return tuple(n for n in _NARROW_SEEDS if n in names)


class AlbumentationsStep(Step):
    """Wraps one albumentations transform; acts on ``field`` (default ``image``).

    Thread-safe (one private copy of the transform per thread), keyed by the step's full 64-bit
    key, and never touching global random state; transforms that cannot keep these promises, or
    that need more than the image with every call, are refused with a :class:`ParamError`."""

    def __init__(self, name: str, **params: Any) -> None:
        self.name = name if name.startswith(ALBU_PREFIX) else ALBU_PREFIX + name
        self._given = dict(params)
        cls = albumentations_class(self.name)
        p = params.pop("p", albumentations_defaults(cls).get("p", 0.5))  # albumentations' own default
        field = params.pop("field", "image")
        why = albumentations_refusal(cls)
        issues: list[tuple[str, str]] = [("", f"cannot be an augnoise step: {why}")] if why else []
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
            issues.append(("p", f"must be a number in [0, 1], got {escape(repr(p), 80)}"))
        if not isinstance(field, str) or not field:
            issues.append(("field", f"must be a non-empty string, got {escape(repr(field), 80)}"))
        takes_strict = _validated_init(cls)
        if "strict" in params:
            issues.append(("strict", "is set by augnoise (always strict)"))
        self._cls, self._kwargs, self._takes_strict = cls, params, takes_strict
        proto = None
        if not issues:
            try:
                proto = self._make()
            except ValidationError as err:
                issues.extend(translate_validation_error(err, _albu_fields(cls)))
            except ValueError as err:
                cause = err.__cause__ or err.__context__
                if isinstance(cause, ValidationError):
                    issues.extend(translate_validation_error(cause, _albu_fields(cls)))
                else:
                    issues.extend(_unknown_params(cls, params) or
                                  [("", escape((str(err).splitlines() or [type(err).__name__])[0]))])
            except Exception as err:  # albumentations' own TypeError, NotImplementedError, ...
                issues.append(("", escape((str(err).splitlines() or [type(err).__name__])[0])))
        if issues:
            raise ParamError(self.name, issues)
        why = albumentations_refusal(cls, proto)
        if why:
            raise ParamError(self.name, [("", f"cannot be an augnoise step: {why}")])
        self.p = float(p)
        self.field = field
        #: never called: each thread deep-copies it on its first call (see :meth:`_transform`)
        self._proto = proto
        self._seed_params = _narrow_seed_params(cls)
        self._local = threading.local()

    def _make(self) -> Any:
        kwargs = dict(self._kwargs, p=1.0)
        if self._takes_strict:  # classes without their own InitSchema take no ``strict``
            kwargs["strict"] = True
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return self._cls(**kwargs)

    def _transform(self) -> Any:
        """This thread's own copy of the transform (albumentations keeps its generators and last
        parameters on the instance, so one shared instance would mix concurrent calls)."""
        t = getattr(self._local, "t", None)
        if t is None:
            t = copy.deepcopy(self._proto)
            if self._seed_params:
                _widen_seeds(t, self._seed_params)
            self._local.t = t
        return t

    def __reduce__(self) -> tuple[Any, ...]:
        # rebuilt (and validated again) from the parameters: a thread-local cannot be pickled
        return (_build, (self.name, dict(self._given)))

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
            raise InputError(f"sample has no field {escape(repr(self.field), 80)}")
        if not r.below(self.p):
            return sample
        img = sample[self.field]
        if not isinstance(img, np.ndarray) or img.size == 0:
            raise InputError(f"field {escape(repr(self.field), 80)} must be a non-empty numpy array")
        key = int(r.key())  # the step's whole 64-bit key
        t = self._transform()
        t.set_random_state(np.random.default_rng(key), random.Random(key))
        t._augnoise_seed = key | (1 << 64)  # the seeds _widen_seeds hands to apply: also 64 bits of key
        # albumentations gets a private copy: our input is never handed out for mutation.
        try:
            res = t(image=np.array(img, copy=True))["image"]
        except Exception as err:  # albumentations' ValueError, cv2.error, ...: this image cannot be used
            text = (str(err).splitlines() or [""])[0] or type(err).__name__
            raise InputError(f"albumentations could not transform field {escape(repr(self.field), 80)} "
                             f"(shape {img.shape}, {img.dtype}): {escape(text)}") from err
        out = dict(sample)
        out[self.field] = np.ascontiguousarray(res)
        if ctx.trace is not None:
            ctx.trace.append((self.name, {}))
        return out

    def to_config(self) -> dict[str, Any]:
        return {self.name: dict(self._given)}


def _widen_seeds(t: Any, names: tuple[str, ...]) -> None:
    """Make ``t`` (a private, per-thread instance) hand its ``apply`` the seed in
    ``t._augnoise_seed`` (65 bits, from the whole key) instead of the 32-bit one it draws in
    ``get_params``, for each parameter in ``names``; every such parameter of albumentations 2
    seeds ``np.random.default_rng``, which takes integers of any width."""
    apply_with_params = type(t).apply_with_params

    def widened(params: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        wide = t._augnoise_seed
        return apply_with_params(t, {k: (wide if k in names else v) for k, v in params.items()}, *args, **kwargs)

    t.apply_with_params = widened


def _validated_init(cls: type) -> bool:
    """Whether ``cls.__init__`` is albumentations' validating wrapper (which takes ``strict``): its
    metaclass wraps the ``__init__`` of a class that defines ``InitSchema`` next to it."""
    for klass in cls.__mro__:
        if "__init__" in vars(klass):
            return "InitSchema" in vars(klass)
    return False


def _albu_fields(cls: type) -> list[str]:
    schema = getattr(cls, "InitSchema", None)
    return [f for f in getattr(schema, "model_fields", {}) if f != "strict"]


def albumentations_defaults(cls: type) -> dict[str, Any]:
    """The defaults of an albumentations class's constructor, as albumentations itself applies
    them (its ``__init__`` signature; its InitSchema often marks them required)."""
    try:
        sig = inspect.signature(cls.__init__)
    except (TypeError, ValueError):
        return {}
    return {n: q.default for n, q in sig.parameters.items()
            if q.default is not inspect.Parameter.empty and n not in ("self", "strict")}


def _unknown_params(cls: type, params: dict[str, Any]) -> list[tuple[str, str]]:
    """One issue per parameter albumentations does not know, with a did-you-mean."""
    known = sorted(set(_albu_fields(cls)) | set(albumentations_defaults(cls)) | {"p", "field"})
    out = []
    for name in params:
        if name not in known:
            close = difflib.get_close_matches(str(name), known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            out.append((str(name), f"unknown parameter{hint} (known: {', '.join(known)})"))
    return out


def _build(name: str, params: dict[str, Any]) -> AlbumentationsStep:
    return AlbumentationsStep(name, **params)


def _show(name: str) -> str:
    """``augnoise show albumentations.<Name>``: its doc and parameters (KeyError if unknown)."""
    from ..cli.info import param_rows, param_table

    cls = albumentations_class(name)
    doc = (cls.__doc__ or "").strip().split("\n\n")[0]
    why = albumentations_refusal(cls)
    if why:
        return f"{name} (albumentations)\n\n{doc}\n\nNot usable as an augnoise step: {why}."
    defaults = albumentations_defaults(cls)
    rows = []
    for pname, kind, default, desc in param_rows(cls.InitSchema):
        if pname == "strict":
            continue
        if default == "required" and pname in defaults:  # the schema says required; __init__ has the default
            default = json.dumps(defaults[pname], default=repr)
        rows.append((pname, kind, default, desc))
    rows.append(("field", "string", '"image"', "sample field the step acts on"))
    return f"{name} (albumentations)\n\n{doc}\n\n{param_table(rows)}"


register_prefix(PrefixResolver(ALBU_PREFIX, _build, albumentations_suggest,
                               "any albumentations transform, seeded from augnoise's keys (sample stage)", _show))
