"""Hypothesis strategies for any transform's parameters, derived from its pydantic schema
(bounds, enums, booleans, ranges), starting from its first declared example for the fields a
schema cannot generate (file paths, class counts). No hand-kept table per transform."""
from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from augnoise.core.transform import REGISTRY

#: parameters every step has; the property tests set them themselves (same_on_batch is batch-stage
#: only and refused in the sample stage, so it keeps its default)
COMMON = ("p", "field", "same_on_batch")


def _number(prop: dict[str, Any]) -> st.SearchStrategy:
    integer = prop.get("type") == "integer"
    lo = prop.get("minimum", prop.get("exclusiveMinimum"))
    hi = prop.get("maximum", prop.get("exclusiveMaximum"))
    if integer:
        return st.integers(min_value=lo if lo is not None else -1000, max_value=hi if hi is not None else 1000)
    return st.floats(min_value=lo if lo is not None else -1e3, max_value=hi if hi is not None else 1e3,
                     exclude_min="exclusiveMinimum" in prop, exclude_max="exclusiveMaximum" in prop,
                     allow_nan=False, allow_infinity=False)


def _value(prop: dict[str, Any]) -> st.SearchStrategy | None:
    if "enum" in prop:
        return st.sampled_from(prop["enum"])
    if prop.get("type") == "boolean":
        return st.booleans()
    if prop.get("type") in ("number", "integer"):
        return _number(prop)
    if "anyOf" in prop:
        alts = [a for a in prop["anyOf"] if a.get("type") != "null"]
        numeric = alts and alts[0].get("type") in ("number", "integer")
        if numeric and len(alts) == 2 and alts[1].get("type") == "array" and alts[1].get("items") == alts[0]:  # a range
            one = _number(alts[0])
            pair = st.tuples(one, one).map(lambda t: sorted(t))
            return st.one_of(one, pair)
        parts = [s for s in (_value(a) for a in alts) if s is not None]
        return st.one_of(*parts) if parts and len(parts) == len(alts) else None
    if "const" in prop:
        return st.just(prop["const"])
    return None


def params(name: str, keep: tuple[str, ...] = ()) -> st.SearchStrategy[dict[str, Any]]:
    """Parameters of transform ``name``: schema-derived values for every field the schema
    describes fully, the first example's value (or the default) for the rest and for ``keep``."""
    cls = REGISTRY[name]
    ex = cls.examples[0].params
    base = dict(ex() if callable(ex) else ex)
    schema = cls.Params.model_json_schema()
    fields: dict[str, st.SearchStrategy] = {}
    for f, prop in schema.get("properties", {}).items():
        if f in COMMON or f in keep:
            continue
        strat = _value(prop)
        if strat is not None:
            fields[f] = strat
    fixed = {k: v for k, v in base.items() if k not in fields and k not in COMMON}
    return st.fixed_dictionaries(fields).map(lambda d: {**fixed, **d})
