"""Name resolution. Names resolve through augnoise's registry (filled by class definition), the
composites, or a name-prefix resolver a modality registers (``albumentations.<Name>``, resolved
by the image package through albumentations' own registry). Nothing is ever imported from a
string found in a configuration; the modality packages are a fixed list (augnoise._plugins).
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Callable

from .compose import COMPOSITES
from .transform import REGISTRY, Step, Transform


@dataclass(frozen=True)
class PrefixResolver:
    """Steps named ``<prefix><Name>`` built by another library's registry.

    ``build(name, params)`` makes the step (raising KeyError for an unknown name and ParamError
    for bad parameters); ``suggest(name)`` gives a "; did you mean ...?" suffix or '';
    ``describe`` is the one-line text of ``augnoise list``; ``show(name)`` the text of
    ``augnoise show``."""

    prefix: str
    build: Callable[[str, dict[str, Any]], Step]
    suggest: Callable[[str], str]
    describe: str
    show: Callable[[str], str] | None = None


PREFIXES: dict[str, PrefixResolver] = {}


def register_prefix(resolver: PrefixResolver) -> None:
    PREFIXES[resolver.prefix] = resolver


def load_builtins() -> None:
    """Import augnoise's modality packages (and plugins) so the registries are complete."""
    from .. import _plugins

    _plugins.load_all()


def prefix_for(name: str) -> PrefixResolver | None:
    """The resolver whose prefix ``name`` starts with (after loading the modalities)."""
    load_builtins()
    for prefix, res in PREFIXES.items():
        if name.startswith(prefix):
            return res
    return None


def transform_names(modality: str | None = None) -> list[str]:
    """Names of all registered augnoise transforms, optionally for one modality."""
    load_builtins()
    return sorted(n for n, c in REGISTRY.items() if modality is None or c.modality == modality)


def all_step_names() -> list[str]:
    return transform_names() + sorted(COMPOSITES)


def suggest(name: str) -> str:
    """A ``did you mean ...?`` suffix for a misspelt step name (or an empty string)."""
    candidates = all_step_names()
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    if not close and "." in name:  # try the bare class name against any namespace
        tail = name.rsplit(".", 1)[1]
        close = [c for c in candidates if c.rsplit(".", 1)[-1] == tail][:1]
    return f"; did you mean {close[0]}?" if close else ""


def get_transform(name: str) -> type[Transform]:
    """The augnoise transform class registered under ``name`` (KeyError if none)."""
    load_builtins()
    return REGISTRY[name]
