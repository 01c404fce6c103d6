"""Noise beyond the input, for training only: on weights and on hidden units.

The implementation lives in :mod:`augnoise.torch.regularizers`; this module re-exports it so
``from augnoise.recipes.regularizers import GaussianNoise, WeightNoise`` keeps working. Target
noise and GAN instance noise are pipeline steps (``labels.LabelSmoothing``,
``labels.LabelFlip``, ``gan.InstanceNoise``).
"""
from ..torch.regularizers import GaussianNoise, WeightNoise, seed_noise

__all__ = ["GaussianNoise", "WeightNoise", "seed_noise"]
