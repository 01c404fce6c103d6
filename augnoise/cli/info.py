"""``list``, ``show``, ``validate`` and ``schema``."""
from __future__ import annotations

import json
import re
import sys
from typing import Any

from ..core.compose import COMPOSITES
from ..core.errors import ConfigError, Problem
from ..core.sections import SECTIONS
from ..core.config import FORMAT_VERSION
from ..core.registry import PREFIXES, get_transform, load_builtins, prefix_for, suggest, transform_names


def summary(doc: str) -> str:
    """A docstring's first sentence as plain text: RST literals (````x````) unmarked, whole (a
    first paragraph that ends in a colon, introducing a list, gets the list's items named)."""
    paras = [" ".join(p.split()) for p in (doc or "").strip().split("\n\n")]
    text = re.sub(r"``([^`]*)``", r"\1", paras[0] if paras else "")
    if text.endswith(":") and len(paras) > 1:  # "... variants by variant:" then "* a: ...; * b: ..."
        items = re.findall(r"\*\s*``([^`]+)``", paras[1])
        text = text[:-1] + (f" ({', '.join(items)})." if items else ".")
    m = re.search(r"(?<!\be\.g)(?<!\bi\.e)(?<!\bet al)\.(\s)(?=[A-Z(])", text)
    return text[:m.start() + 1] if m else text


def cmd_list(modality: str | None) -> int:
    names = transform_names(modality)
    if modality and not names:
        print(f"no transforms for modality {modality!r}", file=sys.stderr)
        return 2
    width = max(len(n) for n in [*names, *COMPOSITES])
    for n in names:
        print(f"{n:<{width}}  {summary(get_transform(n).__doc__ or '')}")
    if not modality:
        for n, c in sorted(COMPOSITES.items()):
            print(f"{n:<{width}}  {summary(c.__doc__ or '')}")
        for prefix, res in sorted(PREFIXES.items()):
            print(f"{prefix + '<Name>':<{width}}  {res.describe}")
    return 0


def param_rows(model: Any) -> list[tuple[str, str, str, str]]:
    """``(name, type, default, description)`` of every parameter of a step's ``Params`` model, the
    step's own first and the ones every step has (p, field, same_on_batch) last."""
    rows = []
    schema = model.model_json_schema()
    props = schema.get("properties", {})
    common = ("p", "field", "same_on_batch")  # shared by every step: listed after the transform's own
    fields = [f for f in model.model_fields if f not in common] + [f for f in common if f in model.model_fields]
    for name in fields:
        info = model.model_fields[name]
        prop = props.get(name, {})
        kind = _describe_schema(prop)
        if info.is_required():
            default = "required"
        else:  # a default made by a factory (ShortNoises' level) is shown as the value it makes
            value = info.get_default(call_default_factory=True)
            default = json.dumps(value.model_dump() if hasattr(value, "model_dump") else value)
        rows.append((name, kind, default, info.description or prop.get("description", "")))
    return rows


def _describe_schema(prop: dict[str, Any]) -> str:
    if "anyOf" in prop:
        alts = [a for a in prop["anyOf"] if a.get("type") != "null"]
        pair = len(alts) == 2 and alts[1].get("type") == "array" and alts[1].get("minItems") == alts[1].get("maxItems") == 2
        if pair and alts[1].get("items") == alts[0]:
            return f"{_describe_schema(alts[0])}, or [lo, hi]"  # a range parameter
        return " or ".join(_describe_schema(a) for a in alts)
    if "const" in prop:
        return json.dumps(prop["const"])
    if prop.get("type") == "array":
        if prop.get("items", {}).get("title") == "step":
            return "list of steps"
        item = _describe_schema(prop.get("items", {}))
        if prop.get("minItems") == prop.get("maxItems") == 2:
            return f"[lo, hi] of {item}"
        return f"list of {item}"
    t = prop.get("type", "any")
    bounds = []
    for key, op in (("minimum", ">="), ("exclusiveMinimum", ">"), ("maximum", "<="), ("exclusiveMaximum", "<")):
        if key in prop:
            bounds.append(f"{op}{prop[key]}")
    if "enum" in prop:
        return " | ".join(json.dumps(v) if not isinstance(v, str) else v for v in prop["enum"])
    return f"{t} {' '.join(bounds)}".strip()


def cmd_show(name: str) -> int:
    if name in COMPOSITES:
        cls = COMPOSITES[name]
        print(f"{name}\n\n{(cls.__doc__ or '').strip()}\n")
        rows = param_rows(cls.Params)
    elif (res := prefix_for(name)) is not None and res.show is not None:
        try:
            print(res.show(name))
        except KeyError:
            print(f"{res.prefix.rstrip('.')} has no transform {name[len(res.prefix):]!r}{res.suggest(name)}", file=sys.stderr)
            return 2
        return 0
    else:
        try:
            cls = get_transform(name)
        except KeyError:
            print(f"unknown transform {name!r}{suggest(name)} (see 'augnoise list')", file=sys.stderr)
            return 2
        print(f"{name}  [{cls.modality}]\n\n{(cls.__doc__ or '').strip()}\n")
        rows = param_rows(cls.Params)
    print(param_table(rows))
    return 0


def param_table(rows: list[tuple[str, str, str, str]]) -> str:
    """The ``parameters:`` block of ``augnoise show``."""
    w = [max(len(r[i]) for r in rows) for i in range(3)]
    return "parameters:\n" + "\n".join(f"  {r[0]:<{w[0]}}  {r[1]:<{w[1]}}  default {r[2]:<{w[2]}}  {r[3]}" for r in rows)


def cmd_validate(files: list[str]) -> int:
    from ..core.config import load

    from ..core.errors import AugnoiseError, escape

    status = 0
    for f in files:  # every file is checked, whatever happened to the one before
        try:
            p = load(f)
        except ConfigError as err:
            print(str(err), file=sys.stderr)
            status = 2
            continue
        except AugnoiseError as err:
            print(f"{escape(f, 200)}: {escape(err)}", file=sys.stderr)
            status = 2
            continue
        except Exception as err:  # noqa: BLE001 - a library bug must not hide the other files' results
            print(f"{escape(f, 200)}: internal error while validating ({type(err).__name__}: {escape(err, 200)}); "
                  f"please report it", file=sys.stderr)
            status = 2
            continue
        print(f"{escape(f, 200)}: ok (seed {p.seed}, {len(p.sample)} sample step(s), {len(p.batch)} batch step(s))")
    return status


def file_schema() -> dict[str, Any]:
    """JSON Schema of the pipeline file format, built from the registry."""
    step_refs: list[dict[str, Any]] = []
    defs: dict[str, Any] = {}
    def hoist(s: dict[str, Any]) -> dict[str, Any]:
        """Nested models' definitions (a level's Relative/Absolute) moved to the root, where their
        references point."""
        for key, sub in s.pop("$defs", {}).items():
            if defs.setdefault(key, sub) != sub:
                raise RuntimeError(f"two parameter models are both called {key!r} with different schemas")
        return s

    load_builtins()
    for name in transform_names():
        cls_t = get_transform(name)
        s = hoist(cls_t.Params.model_json_schema())
        s.pop("title", None)
        s["additionalProperties"] = False
        for nested in getattr(cls_t, "nested_steps", ()):  # lists of steps inside a parameter
            for alt in s["properties"][nested].get("anyOf", [s["properties"][nested]]):
                if alt.get("type") == "array":
                    alt["items"] = {"$ref": "#/$defs/step"}
        defs[name] = {
            "type": "object",
            "description": get_transform(name).describe(),
            "properties": {name: {"anyOf": [s, {"type": "null"}]}},
            "required": [name],
            "additionalProperties": False,
        }
        step_refs.append({"$ref": f"#/$defs/{name}"})
    for name, cls in sorted(COMPOSITES.items()):
        s = cls.Params.model_json_schema()
        s.pop("title", None)
        s["additionalProperties"] = False
        s["properties"]["transforms"]["items"] = {"$ref": "#/$defs/step"}
        defs[name] = {
            "type": "object",
            "description": (cls.__doc__ or "").strip(),
            "properties": {name: s},
            "required": [name],
            "additionalProperties": False,
        }
        step_refs.append({"$ref": f"#/$defs/{name}"})
    for prefix, res in sorted(PREFIXES.items()):
        key = prefix.rstrip(".")
        defs[key] = {
            "type": "object",
            "description": f"{prefix}<Name>: {res.describe}",
            "patternProperties": {f"^{prefix.replace('.', chr(92) + '.')}[A-Za-z0-9_]+$": {"type": ["object", "null"]}},
            "minProperties": 1,
            "maxProperties": 1,
            "additionalProperties": False,
        }
        step_refs.append({"$ref": f"#/$defs/{key}"})
    defs["step"] = {"anyOf": step_refs}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "augnoise pipeline",
        "type": "object",
        "properties": {
            "version": {"type": "integer", "minimum": 1, "maximum": FORMAT_VERSION,
                        "description": "file format version (written by dumps; newer versions are refused)"},
            "seed": {"type": "integer", "minimum": 0, "maximum": 2**63 - 1},
            **{key: sec.json_schema() for key, sec in SECTIONS.items()},
            "sample": {"type": ["array", "null"], "items": {"$ref": "#/$defs/step"}},
            "batch": {"type": ["array", "null"], "items": {"$ref": "#/$defs/step"}},
        },
        "additionalProperties": False,
        "$defs": defs,
    }


def cmd_schema() -> int:
    print(json.dumps(file_schema(), indent=2))
    return 0


__all__ = ["cmd_list", "cmd_show", "cmd_validate", "cmd_schema", "file_schema", "Problem"]
