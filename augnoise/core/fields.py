"""Per-field conventions, declared once per pipeline: the ``fields:`` section.

    fields:
      image: {layout: NCHW, range: [0, 1], normalize: {mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225]}}

* ``layout``: the axes of one sample as letters (``HWC``, ``CHW``, ``HW``; a leading ``N``
  for the batch axis may be written and means the same). Without it a field's layout is the
  default of the type the sample stage saw: numpy channels-last (HWC / HW), torch tensors
  channels-first (CHW / HW); the number of dimensions only tells whether there is a channel
  axis. Never a guess from sizes.
* ``range``: the values' domain, ``[lo, hi]``: float data defaults to [0, 1], integer data
  to [0, the dtype's max].
* ``normalize``: the data is ``(x - mean) / std`` of values ``x`` in ``range`` (per channel, on
  the channel axis; one value applies to every channel), as torchvision's ``Normalize`` makes.

Noise parameters keep their units (fractions of the range); transforms convert them for the
declared domain, clip at the images of the range's ends, and refuse data outside the domain.
The section is generic (axis letters and value domains); modalities interpret the letters.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

from .sections import Report, Section, type_name


@dataclass(frozen=True)
class FieldSpec:
    """The declared conventions of one field (None: the default)."""

    layout: str | None = None
    range: tuple[float, float] | None = None
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None

    @property
    def normalized(self) -> bool:
        return self.mean is not None

    def to_config(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.layout is not None:
            out["layout"] = self.layout
        if self.range is not None:
            out["range"] = list(self.range)
        if self.mean is not None:
            out["normalize"] = {"mean": list(self.mean), "std": list(self.std or ())}
        return out


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def parse_layout(v: Any) -> str:
    """A layout string: distinct uppercase letters; a leading N (batch axis) is dropped."""
    if not isinstance(v, str) or not v or not v.isalpha() or not v.isupper() or len(set(v)) != len(v):
        raise ValueError(f"layout must be axis letters such as HWC, CHW or NCHW, got {v!r}")
    return v[1:] if v.startswith("N") and len(v) > 1 else v


def field_spec(name: str, d: Any) -> FieldSpec:
    """One field's declaration from plain data (raises ValueError naming the key)."""
    if not isinstance(d, Mapping):
        raise ValueError(f"{name}: must be a mapping with layout, range, normalize; got {type_name(d)}")
    unknown = sorted(set(map(str, d)) - {"layout", "range", "normalize"})
    if unknown:
        raise ValueError(f"{name}.{unknown[0]}: unknown key (known: layout, range, normalize)")
    layout = None
    if d.get("layout") is not None:
        try:
            layout = parse_layout(d["layout"])
        except ValueError as err:
            raise ValueError(f"{name}.layout: {err}") from None
    rng = d.get("range")
    if rng is not None:
        if not isinstance(rng, (list, tuple)) or len(rng) != 2 or not all(_number(v) for v in rng) or not rng[0] < rng[1]:
            raise ValueError(f"{name}.range: must be [lo, hi] with finite lo < hi, got {rng!r}")
        rng = (float(rng[0]), float(rng[1]))
    mean = std = None
    norm = d.get("normalize")
    if norm is not None:
        if not isinstance(norm, Mapping) or set(map(str, norm)) != {"mean", "std"}:
            raise ValueError(f"{name}.normalize: must be {{mean: [...], std: [...]}}, got {norm!r}")
        mean, std = norm["mean"], norm["std"]
        for key, vals in (("mean", mean), ("std", std)):
            vals = vals if isinstance(vals, (list, tuple)) else [vals]
            if not vals or not all(_number(v) for v in vals) or (key == "std" and min(vals) <= 0):
                need = "positive finite numbers" if key == "std" else "finite numbers"
                raise ValueError(f"{name}.normalize.{key}: must be {need} (one per channel), got {norm[key]!r}")
        mean = tuple(float(v) for v in (mean if isinstance(mean, (list, tuple)) else [mean]))
        std = tuple(float(v) for v in (std if isinstance(std, (list, tuple)) else [std]))
        if len(mean) != len(std) and 1 not in (len(mean), len(std)):
            raise ValueError(f"{name}.normalize: mean has {len(mean)} values but std has {len(std)}")
    return FieldSpec(layout, rng, mean, std)


class FieldsSection(Section):
    """The ``fields:`` section: :class:`FieldSpec` per field name."""

    key = "fields"

    def __init__(self, specs: Mapping[str, FieldSpec] | None = None) -> None:
        self.specs: dict[str, FieldSpec] = dict(specs or {})

    def get(self, name: str) -> FieldSpec | None:
        return self.specs.get(name)

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> "FieldsSection":
        """From plain data (Python use); raises ValueError."""
        return cls({str(k): v if isinstance(v, FieldSpec) else field_spec(str(k), v) for k, v in data.items()})

    @classmethod
    def from_config(cls, data: Any, report: Report, line: int | None) -> "FieldsSection | None":
        if not isinstance(data, Mapping):
            report(f"must be a mapping of field names to their conventions, got {type_name(data)}", "", line)
            return None
        lines = getattr(data, "key_lines", {})
        specs, ok = {}, True
        for k, v in data.items():
            try:
                specs[str(k)] = field_spec(str(k), v)
            except ValueError as err:
                sub, _, msg = str(err).partition(": ")
                report(msg, sub, lines.get(k, line))
                ok = False
        return cls(specs) if ok else None

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        nums = {"type": "array", "items": {"type": "number"}, "minItems": 1}
        return {"type": "object", "description": "per-field layout and value domain", "additionalProperties": {
            "type": "object", "additionalProperties": False, "properties": {
                "layout": {"type": "string", "pattern": "^[A-Z]+$"},
                "range": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2},
                "normalize": {"type": "object", "additionalProperties": False, "required": ["mean", "std"],
                              "properties": {"mean": {"anyOf": [{"type": "number"}, nums]},
                                             "std": {"anyOf": [{"type": "number"}, nums]}}}}}}

    def to_config(self, inline: bool = True) -> Any:
        return {k: v.to_config() for k, v in self.specs.items() if v.to_config()}


_UNDECLARED = FieldSpec()  # frozen: one instance serves every undeclared field


def declared(ctx: Any, name: str) -> FieldSpec:
    """The declared conventions of field ``name`` in a call context (an empty spec if none)."""
    sec = getattr(ctx, "sections", {}).get("fields") if ctx is not None else None
    spec = sec.get(name) if sec is not None else None
    return spec or _UNDECLARED


__all__ = ["FieldSpec", "FieldsSection", "declared", "field_spec", "parse_layout"]
