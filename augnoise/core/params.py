"""Parameter declaration and validation (pydantic), with augnoise's one-line messages.

A transform declares its parameters as a pydantic model (``Params``) next to its code.
Ranges follow the project convention: a scalar is a fixed value, ``[lo, hi]`` is sampled
uniformly per call (lo <= hi, both within the declared bounds).
"""
from __future__ import annotations

import difflib
import math
from typing import Annotated, Any, Optional, Union

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, WithJsonSchema
from pydantic.functional_validators import AfterValidator, BeforeValidator

__all__ = [
    "BaseParams",
    "Probability",
    "RangeParam",
    "translate_validation_error",
]


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _fmt(v: Any) -> str:
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return repr(v)
    return repr(v) if isinstance(v, str) else str(v)


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
                raise ValueError(f"{what + ' ' if what else ''}must be {kind}, got {x!r}")
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
            raise ValueError(f"must be {kind} or a [lo, hi] pair, got {v!r}")
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


def _check_p(v: Any) -> Any:
    if not _is_number(v):
        raise ValueError(f"must be a number in [0, 1], got {v!r}")
    _check_bounds(float(v), 0, 1, None, None)
    return v


Probability = Annotated[
    Any,
    BeforeValidator(_check_p),
    WithJsonSchema({"type": "number", "minimum": 0, "maximum": 1}),
]


def _check_field(v: Any) -> Any:
    if v is not None and (not isinstance(v, str) or not v):
        raise ValueError(f"must be a non-empty string, got {v!r}")
    return v


FieldName = Annotated[Optional[Any], AfterValidator(_check_field), WithJsonSchema({"type": "string"})]


class BaseParams(BaseModel):
    """Parameters every transform has: ``p`` (probability of applying) and ``field``."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    p: Probability = Field(1.0, description="probability that the step is applied to a sample")
    field: FieldName = Field(None, description="sample field the step acts on (default by modality)")


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
            if fields:
                close = difflib.get_close_matches(str(loc[-1]), fields, n=1)
                if close:
                    msg += f"; did you mean {close[0]!r}?"
            if fields is not None:
                msg += f" (known: {', '.join(fields)})"
        elif typ in _TYPE_WORDS:
            msg = f"must be {_TYPE_WORDS[typ]}, got {inp!r}"
        elif typ == "literal_error":
            msg = f"must be one of {ctx.get('expected')}, got {inp!r}"
        elif typ in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
            op = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=", "less_than": "<"}[typ]
            bound = next(iter(ctx.values()), "?")
            msg = f"must be {op} {bound}, got {_fmt(inp)}"
        elif typ == "value_error":
            msg = str(ctx.get("error", e.get("msg", "")))
        else:
            msg = e.get("msg", "invalid value")
        out.append((field, msg))
    return out


Number = Union[int, float]
