"""Pipeline sections: top-level blocks of a pipeline file that a modality owns (its YAML
schema, its sidecar files, its ``fit``), e.g. ``tabular:`` with column kinds and statistics.

A section class registers under its ``key`` by being defined. Steps name the sections they
read (``Transform.sections``); a pipeline makes a default one when the file has none, and
steps see them through the read-only call context."""
from __future__ import annotations

from typing import Any, Callable, ClassVar

SECTIONS: dict[str, type["Section"]] = {}

#: ``report(message, field, line)``: how a section reports a problem while loading
Report = Callable[[str, str, "int | None"], None]


def type_name(v: Any) -> str:
    """How an error message names the type of a parsed value ("a mapping", "a list", ...)."""
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, (int, float)):
        return "a number"
    for kind, name in ((dict, "a mapping"), (list, "a list"), (str, "a string"), (type(None), "nothing")):
        if isinstance(v, kind):
            return name
    return type(v).__name__


class Section:
    """Base class of pipeline sections."""

    key: ClassVar[str] = ""
    #: whether ``Pipeline.fit`` calls this section's :meth:`fit`
    fittable: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("key"):
            SECTIONS[cls.key] = cls

    @classmethod
    def from_config(cls, data: Any, report: Report, line: int | None) -> "Section | None":
        """Build from the parsed YAML value (a mapping with line information); report every
        problem through ``report`` and return None if there was any."""
        raise NotImplementedError

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        """JSON Schema of the section's YAML value."""
        return {}

    def to_config(self, inline: bool = True) -> Any:
        """Plain data for YAML (None or empty when there is nothing to write). With ``inline``
        false, large data may be referred to by a sidecar file name (see :meth:`sidecars`)."""
        raise NotImplementedError

    def sidecars(self, stem: str) -> dict[str, bytes]:
        """Files to write beside a dumped pipeline ``<stem>.yaml``: {file name: bytes}. Called
        before :meth:`to_config` with ``inline=False``."""
        return {}

    def fit(self, *args: Any, **kwargs: Any) -> None:  # pragma: no cover - optional
        raise NotImplementedError

    def copy(self) -> "Section":
        """An independent copy (a pipeline rebuilt with another seed gets its own)."""
        import copy

        return copy.deepcopy(self)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.to_config() == self.to_config()  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]
