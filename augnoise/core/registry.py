"""Name resolution. Names resolve through augnoise's registry (filled by class definition) or,
for ``albumentations.<Name>``, through albumentations' own registry. Nothing is ever imported
from a string found in a config.
"""
from __future__ import annotations

import difflib
import importlib

from .compose import COMPOSITES
from .transform import REGISTRY, Transform

#: augnoise's own modules that define transforms (a fixed list, never taken from input).
_BUILTIN_MODULES = ("augnoise.image", "augnoise.audio", "augnoise.tabular", "augnoise.adversarial",
                    "augnoise.recipes.targets")
_loaded = False

ALBU_PREFIX = "albumentations."


def load_builtins() -> None:
    """Import augnoise's transform modules so the registry is complete."""
    global _loaded
    if not _loaded:
        for mod in _BUILTIN_MODULES:
            importlib.import_module(mod)
        _loaded = True


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
    from albumentations.core.serialization import SERIALIZABLE_REGISTRY

    short = name[len(ALBU_PREFIX):]
    close = difflib.get_close_matches(short, list(SERIALIZABLE_REGISTRY), n=1)
    return f"; did you mean albumentations.{close[0]}?" if close else ""
