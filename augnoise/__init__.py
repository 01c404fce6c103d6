"""augnoise: noise augmentation for deep learning.

Declarative pipelines (YAML or Python) of modality-specific noise transforms, with keyed,
reproducible randomness. Importing augnoise is light: the public names below load on first
use, and numba, albumentations and torch only where they are used.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.6.0"

_EXPORTS = {
    "Pipeline": "augnoise.core.pipeline",
    "load": "augnoise.core.config",
    "loads": "augnoise.core.config",
    "dump": "augnoise.core.config",
    "dumps": "augnoise.core.config",
    "OneOf": "augnoise.core.compose",
    "SomeOf": "augnoise.core.compose",
    "Sometimes": "augnoise.core.compose",
    "AugnoiseError": "augnoise.core.errors",
    "ConfigError": "augnoise.core.errors",
    "InputError": "augnoise.core.errors",
    "ParamError": "augnoise.core.errors",
    "KeyReuseWarning": "augnoise.core.errors",
    "get_transform": "augnoise.core.registry",
    "transform_names": "augnoise.core.registry",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover
    from .core.compose import OneOf, SomeOf, Sometimes  # noqa: F401
    from .core.config import dump, dumps, load, loads  # noqa: F401
    from .core.errors import AugnoiseError, ConfigError, InputError, KeyReuseWarning, ParamError  # noqa: F401
    from .core.pipeline import Pipeline  # noqa: F401
    from .core.registry import get_transform, transform_names  # noqa: F401


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'augnoise' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
