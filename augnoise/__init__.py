"""augnoise: noise augmentation for deep learning.

Declarative pipelines (YAML or Python) of modality-specific noise transforms, with keyed,
reproducible randomness. Importing augnoise is light: numba, albumentations and torch are
imported only where they are used.
"""
from .core.config import dump, dumps, load, loads
from .core.compose import OneOf, SomeOf, Sometimes
from .core.errors import AugnoiseError, ConfigError, InputError, ParamError
from .core.pipeline import Pipeline
from .core.registry import get_transform, transform_names

__version__ = "0.1.0"

__all__ = [
    "AugnoiseError",
    "ConfigError",
    "InputError",
    "OneOf",
    "ParamError",
    "Pipeline",
    "SomeOf",
    "Sometimes",
    "dump",
    "dumps",
    "get_transform",
    "load",
    "loads",
    "transform_names",
]
