"""Parameter declaration and validation (pydantic), with augnoise's one-line messages.

A transform declares its parameters as a pydantic model (``Params``) next to its code.
Ranges follow the project convention: a scalar is a fixed value, ``[lo, hi]`` is sampled
uniformly per call (lo <= hi, both within the declared bounds).

Every number a parameter accepts is one some call can use: finite (no NaN or inf), within its
declared bounds, and for values without a natural bound (a valid range, a mean, a std in data
units) within +-``MAX_MAGNITUDE`` so that their differences and quotients stay finite in
float32. Messages name the offending value through :func:`show` (bounded, printable).
"""
from __future__ import annotations

import difflib
import math
from typing import Annotated, Any, Optional, Union

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, WithJsonSchema
from pydantic.functional_validators import AfterValidator, BeforeValidator

from .errors import escape

__all__ = [
    "MAX_LIST",
    "MAX_MAGNITUDE",
    "BaseParams",
    "Count",
    "FloatList",
    "Interval",
    "Probability",
    "RangeParam",
    "show",
    "translate_validation_error",
]

#: largest magnitude of a data-unit number with no bound of its own (a valid range, a mean or a
#: std, a noise level): sums, differences and quotients of such numbers stay finite in float32
#: (whose largest value is 3.4e38)
MAX_MAGNITUDE = 1e30
#: most items in a list of per-channel numbers
MAX_LIST = 4096
#: integers printed in full up to this many digits; longer ones are described by their size
_MAX_DIGITS = 40


def show(v: Any, limit: int = 80) -> str:
    """``v`` for a message: printable, one line and at most about ``limit`` characters, whatever
    it is (a 5000-digit integer, a megabyte string, a list of a million numbers)."""
    if isinstance(v, bool) or v is None:
        return repr(v)
    if isinstance(v, (int, np.integer)):
        n = int(v)
        bits = abs(n).bit_length()
        if bits > 3.33 * _MAX_DIGITS:  # never str() a huge int (slow; refused past 4300 digits)
            return f"{'-' if n < 0 else ''}an integer of about {int(bits * math.log10(2)) + 1} digits"
        return str(n)
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    if isinstance(v, (list, tuple)):
        parts, used = [], 2
        for i, x in enumerate(v):
            part = show(x, limit)
            if used + len(part) > limit and i:
                parts.append(f"... ({len(v)} items)")
                break
            parts.append(part)
            used += len(part) + 2
        return "[" + ", ".join(parts) + "]"
    if isinstance(v, str):
        return escape(repr(v[: 4 * limit]), limit)
    return escape(repr(v), limit)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _fmt(v: Any) -> str:
    return show(v)


def _check_bounds(v: float, ge, le, gt, lt, what: str = "") -> None:
    prefix = f"{what} " if what else ""
    if isinstance(v, float) and not math.isfinite(v):
        raise ValueError(f"{prefix}must be finite, got {v}")
    if ge is not None and v < ge:
        raise ValueError(f"{prefix}must be >= {ge}, got {_fmt(v)}")
    if gt is not None and v <= gt:
        raise ValueError(f"{prefix}must be > {gt}, got {_fmt(v)}")
    if le is not None and v > le:
        raise ValueError(f"{prefix}must be <= {le}, got {_fmt(v)}")
    if lt is not None and v >= lt:
        raise ValueError(f"{prefix}must be < {lt}, got {_fmt(v)}")
    if abs(v) > MAX_MAGNITUDE:  # only reachable without a tighter bound
        raise ValueError(f"{prefix}must be within +-{MAX_MAGNITUDE:g} (finite in float32 arithmetic), got {_fmt(v)}")


def RangeParam(
    *,
    ge: float | None = None,
    le: float | None = None,
    gt: float | None = None,
    lt: float | None = None,
    integer: bool = False,
    unit: str = "",
) -> Any:
    """A parameter that is a fixed number or a ``[lo, hi]`` range sampled per call.

    Bounds apply to both ends. The value is stored as given (a number or a 2-item list) so a
    dumped pipeline reads exactly as it was written.
    """
    kind = "an integer" if integer else "a number"

    def check(v: Any) -> Any:
        def one(x: Any, what: str = "") -> Any:
            ok = isinstance(x, (int, np.integer)) and not isinstance(x, bool) if integer else _is_number(x)
            if not ok:
                raise ValueError(f"{what + ' ' if what else ''}must be {kind}, got {show(x)}")
            x = int(x) if integer else x
            _check_bounds(x, ge, le, gt, lt, what)
            return x

        if isinstance(v, (list, tuple)):
            if len(v) != 2:
                raise ValueError(f"must be {kind} or a [lo, hi] pair, got a list of {len(v)}")
            lo, hi = one(v[0], "lo"), one(v[1], "hi")
            if lo > hi:
                raise ValueError(f"lo must be <= hi, got [{_fmt(lo)}, {_fmt(hi)}]")
            return [lo, hi]
        if isinstance(v, (str, dict, type(None))) or not _is_number(v):
            raise ValueError(f"must be {kind} or a [lo, hi] pair, got {show(v)}")
        return one(v)

    item: dict[str, Any] = {"type": "integer" if integer else "number"}
    for key, bound in (("minimum", ge), ("maximum", le), ("exclusiveMinimum", gt), ("exclusiveMaximum", lt)):
        if bound is not None:
            item[key] = bound
    schema = {
        "anyOf": [item, {"type": "array", "items": item, "minItems": 2, "maxItems": 2}],
    }
    if unit:
        schema["description"] = unit
    return Annotated[Any, BeforeValidator(check), WithJsonSchema(schema)]


def _float_list_check(lo_n: int, hi_n: int, ge: float | None, gt: float | None, le: float | None,
                      names: tuple[str, ...], shape: str) -> Any:
    def check(v: Any) -> Any:
        if isinstance(v, tuple):
            v = list(v)
        if not isinstance(v, list):
            raise ValueError(f"must be {shape}, got {show(v)}")
        if not lo_n <= len(v) <= hi_n:
            raise ValueError(f"must be {shape}, got a list of {len(v)}: {show(v)}")
        out = []
        for i, x in enumerate(v):
            what = names[i] if i < len(names) else f"item {i}"
            if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)):
                raise ValueError(f"{what} must be a number, got {show(x)}")
            if isinstance(x, (float, np.floating)) and not math.isfinite(x):
                raise ValueError(f"{what} must be finite, got {show(x)}")
            if abs(x) > MAX_MAGNITUDE:
                raise ValueError(f"{what} must be within +-{MAX_MAGNITUDE:g} (finite in float32 arithmetic), "
                                 f"got {show(x)}")
            _check_bounds(float(x), ge, le, gt, None, what)
            out.append(float(x))
        return out

    return check


def _list_schema(lo_n: int, hi_n: int, ge: float | None, gt: float | None, le: float | None) -> dict[str, Any]:
    item: dict[str, Any] = {"type": "number"}
    if ge is not None:
        item["minimum"] = ge
    elif gt is not None:
        item["exclusiveMinimum"] = gt
    else:
        item["minimum"] = -MAX_MAGNITUDE
    item["maximum"] = le if le is not None else MAX_MAGNITUDE
    return {"type": "array", "items": item, "minItems": lo_n, "maxItems": hi_n}


def FloatList(
    *,
    length: int | None = None,
    min_len: int = 1,
    max_len: int = MAX_LIST,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    names: tuple[str, ...] = (),
) -> Any:
    """A list of finite numbers (``length`` of them, or ``min_len`` to ``max_len``), each
    within the bounds and within +-``MAX_MAGNITUDE``. ``names`` name the items in messages
    (``("start", "end")``); otherwise they are ``item 0``, ``item 1``, ... A tuple is taken
    as a list; the value is stored as a list of floats."""
    lo_n, hi_n = (length, length) if length is not None else (min_len, max_len)
    shape = f"a list of {length} numbers" if length is not None else f"a list of {lo_n} to {hi_n} numbers"
    check = _float_list_check(lo_n, hi_n, ge, gt, le, names, shape)
    return Annotated[list[float], BeforeValidator(check), WithJsonSchema(_list_schema(lo_n, hi_n, ge, gt, le))]


def Interval(*, ge: float | None = None, le: float | None = None, strict: bool = True) -> Any:
    """A ``[lo, hi]`` pair of finite numbers within +-``MAX_MAGNITUDE`` with ``lo < hi``
    (``lo <= hi`` when not ``strict``): a valid range of the data, a clipping range."""
    op = "<" if strict else "<="
    shape = f"[lo, hi] with lo {op} hi"
    pair = _float_list_check(2, 2, ge, None, le, ("lo", "hi"), shape)

    def check(v: Any) -> Any:
        lo, hi = pair(v)
        if lo > hi or (strict and lo == hi):
            raise ValueError(f"must be {shape}, got {show(v)}")
        return [lo, hi]

    return Annotated[list[float], BeforeValidator(check), WithJsonSchema(_list_schema(2, 2, ge, None, le))]


def Count(*, ge: int, le: int, why: str = "") -> Any:
    """An integer in ``[ge, le]`` (a class count, a number of epochs); ``why`` explains the
    upper bound in the message."""
    because = f" ({why})" if why else ""

    def check(v: Any) -> Any:
        if isinstance(v, np.integer):
            v = int(v)
        if isinstance(v, bool) or not isinstance(v, int):
            raise ValueError(f"must be an integer, got {show(v)}")
        if v < ge:
            raise ValueError(f"must be >= {ge}, got {show(v)}")
        if v > le:
            raise ValueError(f"must be <= {le}{because}, got {show(v)}")
        return v

    return Annotated[int, BeforeValidator(check), WithJsonSchema({"type": "integer", "minimum": ge, "maximum": le})]


def _check_p(v: Any) -> Any:
    if not _is_number(v):
        raise ValueError(f"must be a number in [0, 1], got {show(v)}")
    _check_bounds(v, 0, 1, None, None)
    return v


Probability = Annotated[
    Any,
    BeforeValidator(_check_p),
    WithJsonSchema({"type": "number", "minimum": 0, "maximum": 1}),
]


def _check_field(v: Any) -> Any:
    if v is not None and (not isinstance(v, str) or not v):
        raise ValueError(f"must be a non-empty string, got {show(v)}")
    return v


FieldName = Annotated[Optional[Any], AfterValidator(_check_field), WithJsonSchema({"type": "string"})]


#: what ``same_on_batch`` means (the field's description wherever a step has it)
SAME_ON_BATCH_DOC = ("batch stage only: draw this step's parameters (probability test, values, choices) once per "
                     "batch, from the batch's first row, and share them with every row; noise streams stay per sample")
#: parameters every step accepts that "unknown parameter" messages do not list (they are
#: still suggested for a near miss)
UNLISTED = ("same_on_batch",)


class BaseParams(BaseModel):
    """Parameters every transform has: ``p`` (probability of applying), ``field``, and
    ``same_on_batch`` (batch stage: one draw per batch, see :data:`SAME_ON_BATCH_DOC`)."""

    # allow_inf_nan=False: every plain float field refuses NaN and +-inf ("must be finite")
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)

    p: Probability = Field(1.0, description="probability that the step is applied to a sample")
    field: FieldName = Field(None, description="sample field the step acts on (default by modality)")
    same_on_batch: bool = Field(False, description=SAME_ON_BATCH_DOC)


_TYPE_WORDS = {
    "float_type": "a number",
    "int_type": "an integer",
    "bool_type": "true or false",
    "string_type": "a string",
    "list_type": "a list",
    "dict_type": "a mapping",
}


def translate_validation_error(
    err: ValidationError, fields: list[str] | None = None
) -> list[tuple[str, str]]:
    """Turn a pydantic error into ``(field, message)`` pairs in augnoise's wording."""
    out: list[tuple[str, str]] = []
    for e in err.errors():
        loc = e.get("loc", ())
        field = ""
        for part in loc:
            field += f"[{part}]" if isinstance(part, int) else (f".{part}" if field else str(part))
        typ, ctx, inp = e.get("type", ""), e.get("ctx") or {}, e.get("input")
        if typ == "missing":
            msg = "required parameter is missing"
        elif typ == "extra_forbidden":
            msg = "unknown parameter"
            if len(loc) > 1:  # inside a nested mapping: the step's own parameter names do not apply
                fields = None
            if fields:
                close = difflib.get_close_matches(str(loc[-1]), fields, n=1)
                if close:
                    msg += f"; did you mean {close[0]!r}?"
            if fields is not None:
                msg += f" (known: {', '.join(f for f in fields if f not in UNLISTED)})"
        elif typ in _TYPE_WORDS:
            msg = f"must be {_TYPE_WORDS[typ]}, got {show(inp)}"
        elif typ == "finite_number":
            msg = f"must be finite, got {show(inp)}"
        elif typ == "literal_error":
            msg = f"must be one of {ctx.get('expected')}, got {show(inp)}"
        elif typ in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
            op = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=", "less_than": "<"}[typ]
            bound = next(iter(ctx.values()), "?")
            msg = f"must be {op} {bound}, got {show(inp)}"
        elif typ == "union_tag_invalid":
            msg = f"{str(ctx.get('discriminator', 'mode')).strip(chr(39))} must be one of {ctx.get('expected_tags')}, " \
                  f"got {show(ctx.get('tag'))}"
        elif typ == "union_tag_not_found":
            msg = f"needs {str(ctx.get('discriminator', 'mode')).strip(chr(39))} (one of the known modes)"
        elif typ == "value_error":
            msg = str(ctx.get("error", e.get("msg", "")))
        else:
            msg = e.get("msg", "invalid value")
        out.append((escape(field, 80), escape(msg)))
    return out


Number = Union[int, float]
