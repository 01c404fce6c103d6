"""Optional dependencies: which extra installs each, and the one-line error when one is missing
(``pip install augnoise`` alone runs list, validate, show, schema, preview and apply; the rest
names the extra it needs)."""
from __future__ import annotations

import importlib
from types import ModuleType

from .errors import AugnoiseError

#: top-level module -> (package to install, augnoise extra that installs it)
EXTRAS: dict[str, tuple[str, str]] = {
    "sklearn": ("scikit-learn", "recipes"),
    "ray": ("ray[data]", "ray"),
    "pyarrow": ("pyarrow", "ray"),
    "lightning": ("lightning", "lightning"),
    "datasets": ("datasets", "hf"),
    "pandas": ("pandas", "pandas"),
    "audiomentations": ("audiomentations", "bench"),
    "kornia": ("kornia", "bench"),
}


class MissingExtra(AugnoiseError, ImportError):
    """An optional package a feature needs is not installed (the message names the extra)."""


def missing_message(module: str, what: str) -> str | None:
    """``"<what> needs <package>: pip install 'augnoise[<extra>]'"`` for a module one of the
    extras installs (None for any other module)."""
    top = module.split(".")[0]
    if top not in EXTRAS:
        return None
    package, extra = EXTRAS[top]
    return f"{what} needs {package}, which is not installed: pip install 'augnoise[{extra}]'"


def import_extra(module: str, what: str) -> ModuleType:
    """Import ``module`` (part of an extra), or raise :class:`MissingExtra` saying which extra
    installs it."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as err:
        missing = (err.name or module).split(".")[0]
        msg = missing_message(missing, what) if missing == module.split(".")[0] else None
        if msg is None:
            raise
        raise MissingExtra(msg) from None
