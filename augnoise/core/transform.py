"""The transform contract (v2): one draw for both stages, kernels per backend.

A transform is a small class:

* ``name`` (namespaced, e.g. ``image.GaussianNoise``), ``modality`` and ``default_field``;
* ``Params``: a pydantic model of its parameters, validated before any work (``p`` and
  ``field`` come from :class:`~augnoise.core.params.BaseParams`);
* ``draw(r)``: this call's random values from its draws ``r`` (values from ranges, 64-bit
  kernel keys). It is stage-neutral: ``r`` is a :class:`~augnoise.core.keys.Rand` (one sample,
  plain numbers) or a :class:`~augnoise.core.keys.RandBatch` (numpy arrays, one value per
  sample), and the same code gives the same values for a sample either way. The probability
  test (``p``) is drawn first, by the base class;
* ``check(x, batched)``: validate the input (one sample, or a batch with samples on axis 0);
* kernels, registered per backend with :func:`augnoise.core.kernels.kernel`: batched
  functions ``(transform, x, params, ctx)`` that make their arrays from the kernel keys.

Defining a subclass with a ``name`` registers it. A transform never mutates its input and never
touches global random state. ``batch_capable`` (the batch stage runs on any torch device) is
true when a ``torch`` kernel is registered.

Recording and replaying: the stages take a step's values through :meth:`Transform.drawn`, so
that a *tape* on its draws (``r.tape``, see :mod:`augnoise.core.keys`) sees them: the
:class:`Recorder` keeps them as plain data (``pipeline(..., record=True)``), the
:class:`Replayer` hands back a record's values instead (``pipeline.replay``, after checking
them against a fresh draw and the step's own ``Params``), and :data:`SHARED` gives every row of
a batch the first row's values (``same_on_batch``), keys (values named ``*key*``) excepted.
"""
from __future__ import annotations

import math
import re
from typing import Any, Callable, ClassVar, Iterator, Mapping, NamedTuple

import numpy as np
from pydantic import ValidationError

from dataclasses import replace

from .arrays import describe, is_array, put_rows, take_rows
from .context import Context
from .errors import InputError, ParamError, escape
from .kernels import backends, run_kernel
from .params import BaseParams, show, translate_validation_error

Sample = dict[str, Any]

REGISTRY: dict[str, type["Transform"]] = {}


class NotStackable(Exception):
    """A step's per-sample results cannot be stacked into a batch again (internal: the
    pipeline then runs those samples one by one)."""


class Example(NamedTuple):
    """A small case of a transform for the conformance harness (tests/conformance).

    ``params`` are the transform's parameters (or a function returning them, for transforms
    that need files); ``sample()`` makes a fresh sample dict; with ``strong`` two keys must give
    different outputs; ``context()`` gives what batch-only steps need (model, targets);
    ``prepare(pipeline)`` readies a pipeline holding the step (e.g. fits statistics)."""

    params: Any
    sample: Callable[[], dict[str, Any]]
    strong: bool = True
    context: Callable[[], dict[str, Any]] | None = None
    prepare: Callable[[Any], None] | None = None


class Step:
    """Anything that can stand in a pipeline: maps a sample (or a batch of samples) to a new
    one, drawing from its :class:`~augnoise.core.keys.Rand` / ``RandBatch``."""

    name: ClassVar[str] = ""
    #: why the step can only run in the batch stage ('' if it can run in the sample stage)
    batch_only: ClassVar[str] = ""
    #: parameters that hold lists of steps (built by the YAML loader as sub-steps ``pos.1, ...``)
    nested_steps: ClassVar[tuple[str, ...]] = ()
    p: float = 1.0
    #: batch stage: draw once per batch (the first row's draws) and share with every row
    same_on_batch: bool = False

    def run(self, sample: Sample, r: Any, ctx: Context) -> Sample:  # pragma: no cover - abstract
        """One sample: return a new sample dict (``sample`` itself when nothing changes)."""
        raise NotImplementedError

    def run_batch(self, data: Sample, r: Any, gate: np.ndarray, ctx: Context) -> Sample:
        """``B`` samples stacked on axis 0 of each field; ``gate`` (B,) says which samples the
        step may touch (the rest pass through unchanged).

        This default runs :meth:`run` on each gated sample with its own draws (numpy fields
        only; a step with a vectorised form overrides it). Raises :class:`NotStackable` when
        the results cannot be stacked again (e.g. a crop that changes shapes)."""
        out = dict(data)
        for b in np.flatnonzero(gate):
            sample = {k: v[b] if isinstance(v, np.ndarray) and v.ndim >= 1 else v for k, v in data.items()}
            ctx_b = replace(ctx, **{k: int(getattr(ctx, k)[b]) for k in ("epoch", "index", "occurrence")
                                    if isinstance(getattr(ctx, k), np.ndarray)})
            res = self.run(sample, r.sample(int(b)), ctx_b)
            for k, v in res.items():
                if k in sample and v is sample[k]:
                    continue
                cur = out.get(k)
                if k not in data:
                    if not isinstance(v, np.ndarray):
                        raise NotStackable(f"{self.name} made a non-array field {k!r}")
                    cur = out[k] = np.zeros((r.size,) + v.shape, v.dtype)
                elif cur is data[k]:
                    cur = out[k] = np.array(cur, copy=True)
                if not isinstance(v, np.ndarray) or not isinstance(cur, np.ndarray) or cur.shape[1:] != v.shape \
                        or cur.dtype != v.dtype:
                    raise NotStackable(f"{self.name} changed field {k!r} so the samples no longer stack")
                cur[b] = v
        return out

    def children(self) -> list["Step"]:
        return []

    def walk(self) -> Iterator["Step"]:
        """This step and every step nested in it, depth first."""
        yield self
        for c in self.children():
            yield from c.walk()

    def fields(self) -> set[str]:
        """Sample fields this step reads or writes."""
        return set()

    def stage_problem(self, stage: str) -> str:
        """Why this step (alone) cannot stand in ``stage`` ('sample' or 'batch'); '' if it can."""
        if stage == "sample" and self.batch_only:
            return self.batch_only
        if stage == "sample" and self.same_on_batch:
            return SAME_ON_BATCH_SAMPLE
        return ""

    #: the keys of a ``fields:`` declaration (layout, range, normalize) this step reads for the
    #: fields it acts on; declaring another key for such a field is an error, never ignored
    field_conventions: ClassVar[frozenset[str]] = frozenset()

    def field_problem(self, specs: Mapping[str, Any]) -> str:
        """Why the declared conventions of this step's fields (``{field: FieldSpec}``) cannot
        be honoured ('' if they can)."""
        for f in sorted(self.fields()):
            spec = specs.get(f)
            unread = sorted(set(spec.to_config()) - self.field_conventions) if spec is not None else []
            if unread:
                reads = ", ".join(sorted(self.field_conventions)) or "none of layout, range, normalize"
                return (f"fields: {f}: declares {' and '.join(unread)}, which this step does not read "
                        f"(it reads {reads})")
        return ""

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


#: why ``same_on_batch`` cannot stand in the sample stage
SAME_ON_BATCH_SAMPLE = ("same_on_batch applies to the batch stage only (the sample stage draws per sample); "
                        "move the step under batch: or drop same_on_batch")


def batch_capable_names() -> list[str]:
    """Names of the registered transforms that can run in the batch stage."""
    from .registry import transform_names

    return [n for n in transform_names() if REGISTRY[n].batch_capable()]


class Transform(Step):
    """Base class of leaf transforms. Subclasses set ``name``, ``modality``, ``Params`` and
    implement ``draw`` (and ``check``); kernels are registered separately per backend."""

    modality: ClassVar[str] = ""
    default_field: ClassVar[str] = ""
    Params: ClassVar[type[BaseParams]] = BaseParams
    #: pipeline sections this transform reads from the call context (e.g. "tabular")
    sections: ClassVar[tuple[str, ...]] = ()
    #: small cases for the conformance harness
    examples: ClassVar[tuple[Example, ...]] = ()
    _has_inputs: ClassVar[bool] = False
    #: whether the torch kernel gives the numpy kernel's bytes on CPU tensors (false where float
    #: reductions, FFTs or transcendental functions may round differently)
    exact_backends: ClassVar[bool] = True
    #: the output's type differs from the input's (class index -> soft label): the kernel runs
    #: on every sample, with :meth:`neutral` draws for samples the probability test skips
    changes_type: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._has_inputs = cls.inputs is not Transform.inputs
        if cls.__dict__.get("name"):
            if cls.name in REGISTRY and REGISTRY[cls.name] is not cls:
                raise RuntimeError(f"transform name {cls.name!r} registered twice")
            REGISTRY[cls.name] = cls

    def __init__(self, /, **params: Any) -> None:
        try:
            self.params = self.Params(**params)
        except ValidationError as err:
            raise ParamError(self.name, translate_validation_error(err, list(self.Params.model_fields))) from None

    # -- contract -------------------------------------------------------------------------
    @classmethod
    def batch_capable(cls) -> bool:
        """Whether the batch stage can run this transform on any device (a torch kernel)."""
        return "torch" in backends(cls)

    @property
    def field(self) -> str:
        return self.params.field or self.default_field or self.modality

    @property
    def p(self) -> float:  # type: ignore[override]
        return float(self.params.p)

    @property
    def same_on_batch(self) -> bool:  # type: ignore[override]
        return bool(getattr(self.params, "same_on_batch", False))

    def fields(self) -> set[str]:
        return {self.field}

    def stage_problem(self, stage: str) -> str:
        problem = super().stage_problem(stage)
        if problem or stage != "batch":
            return problem
        if not self.batch_capable():
            names = ", ".join(batch_capable_names())
            return f"has no batch-stage (torch) kernel; batch-stage steps: {names}"
        return self.batch_problem()

    def batch_problem(self) -> str:
        """Why these parameters cannot run in the batch stage ('' if they can)."""
        return ""

    def check(self, x: Any, batched: bool = False, ctx: Context | None = None) -> Any:
        """Validate one input (or a batch, samples on axis 0), with the call's declarations in
        ``ctx``; raise :class:`InputError`."""
        return x

    def draw(self, r: Any) -> dict[str, Any]:
        """This call's random values (see the module doc)."""
        return {}

    def drawn(self, r: Any) -> dict[str, Any]:
        """:meth:`draw` as the stages call it: through the tape of ``r`` when it has one (record,
        replay, ``same_on_batch``). Subclasses override :meth:`draw`, never this."""
        tape = getattr(r, "tape", None)
        return self.draw(r) if tape is None else tape.draw(self, r, type(self).draw)

    def drawn_problems(self, values: Mapping[str, Any]) -> list[tuple[str, str]]:
        """``(field, message)`` for drawn ``values`` (from a replayed record) that this step's
        ``Params`` would refuse as fixed values (a std above its bound, a negative rate); only
        values named like a parameter can be checked this way. Kinds (number, key, boolean)
        are checked before, against a fresh draw."""
        names = [k for k in values if k in self.Params.model_fields and k not in ("p", "field", "same_on_batch")]
        if not names:
            return []
        try:
            self.Params(**{**self.params.model_dump(exclude_unset=True), **{k: values[k] for k in names}})
        except ValidationError as err:
            out = []
            for f, m in translate_validation_error(err, list(self.Params.model_fields)):
                head = re.split(r"[.\[]", f, maxsplit=1)[0]
                if head in names:
                    out.append((f, m))
                elif not f and any(m.startswith(f"{n}: ") for n in names):
                    out.append(tuple(m.split(": ", 1)))  # type: ignore[arg-type]
            return out
        return []

    def kernel_input(self, x: Any, ctx: Context | None = None) -> tuple[Any, dict[str, Any]]:
        """What this transform's kernels take for a batch ``x``, and extra (non-drawn) values
        they need: ``(x, {})`` unless a transform prepares its input (tables: their float view).
        Lets tests and tools call the kernels exactly as :meth:`run_batch` does."""
        return x, {}

    def inputs(self, sample: Sample, batched: bool = False) -> dict[str, Any]:
        """Values the kernel takes from other fields of the sample (e.g. ``sample_rate``),
        merged into the drawn values; in a batch, one per sample. Raise :class:`InputError`
        when one is missing or wrong."""
        return {}

    def neutral(self, params: dict[str, Any], skipped: Any) -> dict[str, Any]:
        """For ``changes_type`` transforms: ``params`` with the draws of skipped samples made
        a no-op (``skipped``: a bool, or a (B,) bool array)."""
        raise NotImplementedError

    def apply(self, x: Any, params: dict[str, Any], ctx: Context | None = None) -> Any:
        """Apply the kernel to one sample ``x`` with drawn ``params``; returns a new array."""
        return run_kernel(self, x[None], params, ctx or Context())[0]

    # -- running ----------------------------------------------------------------------------
    def run(self, sample: Sample, r: Any, ctx: Context) -> Sample:
        field = self.field
        if field not in sample:
            raise InputError(f"sample has no field {field!r} (fields: {', '.join(map(str, sample)) or 'none'})")
        applied = r.below(self.p)
        if not applied and not self.changes_type:
            return sample
        x = self.check(sample[field], ctx=ctx)
        drawn = self.drawn(r)
        params = {**drawn, **self.inputs(sample)} if self._has_inputs else drawn
        if not applied:
            params = self.neutral(params, True)
        out = dict(sample)
        out[field] = self.apply(x, params, ctx)
        if ctx.trace is not None and applied:
            ctx.trace.append((self.name, trace_values(drawn)))
        return out

    def run_batch(self, data: Sample, r: Any, gate: np.ndarray, ctx: Context) -> Sample:
        field = self.field
        if field not in data:
            raise InputError(f"batch has no field {field!r} (fields: {', '.join(map(str, data)) or 'none'})")
        x = data[field]
        n = r.size
        if getattr(x, "is_nested", False):
            raise InputError(f"field {field!r} must be a dense array, got a nested tensor")
        if not is_array(x) or x.ndim < 1 or x.shape[0] != n:
            raise InputError(f"field {field!r} must be an array with one row per sample ({n}), got {describe(x)}")
        applied = gate & r.below(self.p)
        params = self.drawn(r)
        params.update(self.inputs(data, batched=True))
        if self.changes_type:
            params = self.neutral(params, ~applied)
            applied = np.ones(n, bool)
        sel = np.flatnonzero(applied)
        if sel.size == 0:
            return data
        out = dict(data)
        if sel.size == n:
            out[field] = run_kernel(self, self.check(x, batched=True, ctx=ctx), params, ctx)
        else:
            part = {k: v[sel] if isinstance(v, np.ndarray) and v.ndim == 1 else v for k, v in params.items()}
            xs = self.check(take_rows(x, sel), batched=True, ctx=ctx)
            out[field] = put_rows(x, sel, run_kernel(self, xs, part, ctx.rows(sel)))
        return out

    def to_config(self) -> dict[str, Any]:
        given = self.params.model_dump(exclude_unset=True)
        common = ("p", "field", "same_on_batch")
        order = [k for k in given if k not in common] + [k for k in common if k in given]
        return {self.name: {k: given[k] for k in order}}

    @classmethod
    def describe(cls) -> str:
        """First paragraph of the docstring."""
        doc = (cls.__doc__ or "").strip()
        return " ".join(doc.split("\n\n")[0].split())


def trace_values(params: Mapping[str, Any]) -> dict[str, Any]:
    """The drawn values worth showing (numbers and strings; kernel keys left out)."""
    out = {}
    for k, v in params.items():
        if "key" in k:
            continue
        if isinstance(v, (bool, np.bool_)):
            out[k] = bool(v)
        elif isinstance(v, (int, float, str, np.integer, np.floating)):
            out[k] = v.item() if hasattr(v, "item") else v
    return out


# -- tapes: record, replay, same_on_batch ---------------------------------------------------------
_HEX_KEY = re.compile(r"0x[0-9a-fA-F]{1,16}\Z")


def is_key_name(name: str) -> bool:
    """Whether a drawn value named ``name`` is a kernel key (a noise stream's 64-bit key)."""
    return "key" in name


def untaped(step: Any, r: Any, fn: Callable[[Any, Any], Any]) -> Any:
    """``fn(step, r)`` with ``r``'s tape lifted, so nested draws (``super().draw(r)``) pass
    through and the tape sees one value set per step."""
    tape, r.tape = r.tape, None
    try:
        return fn(step, r)
    finally:
        r.tape = tape


def encode_value(name: str, v: Any) -> Any:
    """A drawn value as JSON data: numbers, booleans and strings as themselves, kernel keys
    (``*key*`` integers) as 16-digit hex strings (64-bit safe in every JSON reader), arrays as
    lists. Raises :class:`InputError` for anything else."""
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        v = int(v)
        return f"0x{v:016x}" if is_key_name(name) and 0 <= v < 2**64 else v
    if isinstance(v, (float, np.floating)):
        return float(v)
    if isinstance(v, str):
        return str(v)
    if isinstance(v, np.ndarray) and v.ndim == 1 and v.dtype.kind in "biuf":
        return [encode_value(name, x) for x in v]
    raise InputError(f"record: params.{escape(name, 60)}: cannot record a value of type {type(v).__name__}")


def decode_value(name: str, v: Any, ref: Any) -> Any:
    """A record's value ``v`` for the drawn value ``name``, of the kind of ``ref`` (a fresh draw
    of the same step); ValueError with a one-line message when it is not one."""
    if isinstance(ref, np.ndarray):
        if not isinstance(v, list) or len(v) != ref.shape[0]:
            raise ValueError(f"must be a list of {ref.shape[0]} values, got {show(v)}")
        return np.asarray([decode_value(name, x, rx) for x, rx in zip(v, ref)], ref.dtype)
    if isinstance(ref, (bool, np.bool_)):
        if not isinstance(v, bool):
            raise ValueError(f"must be true or false, got {show(v)}")
        return v
    if isinstance(ref, (int, np.integer)):
        if is_key_name(name):
            if isinstance(v, str) and _HEX_KEY.match(v):
                return int(v, 16)
            if isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**64:
                return v
            raise ValueError(f"must be a 64-bit key as a hex string such as '0x00000000000000ff', got {show(v)}")
        if isinstance(v, bool) or not isinstance(v, int):
            raise ValueError(f"must be an integer, got {show(v)}")
        if not -(2**63) <= v < 2**63:
            raise ValueError(f"must be a 64-bit integer, got {show(v)}")
        return v
    if isinstance(ref, (float, np.floating)):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ValueError(f"must be a number, got {show(v)}")
        if isinstance(v, int) and abs(v) > 2**1000 or isinstance(v, float) and not math.isfinite(v):
            raise ValueError(f"must be a finite number, got {show(v)}")
        return float(v)
    if isinstance(ref, str):
        if not isinstance(v, str):
            raise ValueError(f"must be a string, got {show(v)}")
        return v
    raise ValueError(f"cannot be replayed (a {type(ref).__name__})")


def _first_row(v: Any, n: int) -> Any:
    if isinstance(v, np.ndarray) and v.ndim >= 1 and n and v.shape[0] == n:
        return np.repeat(v[:1], n, axis=0)
    return v


class SharedDraws:
    """The tape of a ``same_on_batch`` step (and of everything nested in it) in the batch
    stage: the probability test, the drawn values and the composite choices of the batch's
    first row go to every row; kernel keys (the noise streams) stay each row's own."""

    def gate(self, r: Any, real: Any) -> Any:
        return _first_row(real, r.size)

    def draw(self, step: Any, r: Any, fn: Callable[[Any, Any], dict[str, Any]]) -> dict[str, Any]:
        values = untaped(step, r, fn)
        return {k: v if is_key_name(k) else _first_row(v, r.size) for k, v in values.items()}

    def choose(self, step: Any, r: Any) -> list[Any]:
        return [_first_row(c, r.size) for c in untaped(step, r, type(step).choose)]


#: the one (stateless) tape of ``same_on_batch`` steps
SHARED = SharedDraws()


class Recorder:
    """The tape of ``pipeline(..., record=True)``: per step path, its name, whether it applied,
    its drawn values (:func:`encode_value`) and a composite's choices."""

    def __init__(self) -> None:
        self.steps: dict[str, dict[str, Any]] = {}

    def _entry(self, r: Any) -> dict[str, Any]:
        e = self.steps.get(r.path)
        if e is None:
            e = self.steps[r.path] = {"name": r.step.name, "applied": True}
        return e

    def gate(self, r: Any, real: Any) -> Any:
        self._entry(r)["applied"] = bool(real)
        return real

    def draw(self, step: Any, r: Any, fn: Callable[[Any, Any], dict[str, Any]]) -> dict[str, Any]:
        values = untaped(step, r, fn)
        self._entry(r)["params"] = {str(k): encode_value(str(k), v) for k, v in values.items()}
        return values

    def choose(self, step: Any, r: Any) -> list[Any]:
        chosen = untaped(step, r, type(step).choose)
        self._entry(r)["choices"] = [bool(c) for c in chosen]
        return chosen


class Replayer:
    """The tape of ``pipeline.replay``: hands each step the record's probability test, drawn
    values and choices instead of its own. Each value is checked against a fresh draw of the
    step (same names, same kinds) and through the step's own ``Params`` checks
    (:meth:`Transform.drawn_problems`); problems are :class:`InputError` (located at the step
    by the pipeline)."""

    def __init__(self, steps: Mapping[str, Any]) -> None:
        self.steps = steps

    def _entry(self, r: Any) -> Mapping[str, Any]:
        e = self.steps.get(r.path)
        if e is None:
            raise InputError("record: has no entry for this step (the record took other choices, or was cut)")
        return e

    def gate(self, r: Any, real: Any) -> bool:
        applied = self._entry(r).get("applied")
        if not isinstance(applied, bool):
            raise InputError(f"record: applied: must be true or false, got {show(applied)}")
        return applied

    def draw(self, step: Any, r: Any, fn: Callable[[Any, Any], dict[str, Any]]) -> dict[str, Any]:
        ref = untaped(step, r, fn)
        given = self._entry(r).get("params")
        if not isinstance(given, Mapping):
            raise InputError(f"record: params: must be a mapping of the drawn values, got {show(given)}")
        missing = [k for k in ref if k not in given]
        if missing:
            raise InputError(f"record: params: missing {', '.join(missing)} (this step draws {', '.join(ref)})")
        extra = [k for k in given if k not in ref]
        if extra:
            raise InputError(f"record: params: unknown value {show(extra[0])} (this step draws {', '.join(ref)})")
        out = {}
        for k, rv in ref.items():
            try:
                out[k] = decode_value(k, given[k], rv)
            except ValueError as err:
                raise InputError(f"record: params.{k}: {err}") from None
        problems = step.drawn_problems(out) if hasattr(step, "drawn_problems") else []
        if problems:
            field, msg = problems[0]
            raise InputError(f"record: params.{field}: {msg}" if field else f"record: params: {msg}")
        return out

    def choose(self, step: Any, r: Any) -> list[Any]:
        ref = untaped(step, r, type(step).choose)
        given = self._entry(r).get("choices")
        if not isinstance(given, list) or len(given) != len(ref) or any(not isinstance(c, bool) for c in given):
            raise InputError(f"record: choices: must be a list of {len(ref)} true/false values (one per child), "
                             f"got {show(given)}")
        problem = step.choice_problem(given)
        if problem:
            raise InputError(f"record: choices: {problem}")
        return list(given)
