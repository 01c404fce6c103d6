"""Tabular noise transforms on ``features``: a row, a table, or a pandas DataFrame.

Column kinds and bounds are declared in the pipeline's ``tabular:`` section and completed by
``pipeline.fit(features=X)``, whose statistics travel with the pipeline."""
from .schema import TabularSection  # noqa: F401  (registers the ``tabular:`` section)
from .gaussian import GaussianNoise
from .mask import MaskNoise
from .swap import SwapNoise
from . import torch_kernels  # noqa: E402,F401  (registration; torch loads when a kernel runs)

__all__ = ["GaussianNoise", "MaskNoise", "SwapNoise"]
