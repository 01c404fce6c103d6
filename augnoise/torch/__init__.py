"""torch integration: keyed DataLoader workers, adapters for other people's data code, the
tensor adapter of the batch stage, and torch kernels' Philox streams.

* :class:`AugmentedDataset` and :func:`make_loader`: the sample stage in DataLoader workers,
  keyed by ``(seed, epoch, index, occurrence)`` through :class:`KeyedSampler`, so results do
  not depend on worker count, persistence, batch size or rank, and repeated indices get
  their own noise; ``loader.sampler.set_epoch`` (what Lightning calls) moves both stages;
* :class:`NoiseTransform` (a torchvision-style transform) and :func:`hf_transform` (for
  HuggingFace ``datasets``), keyed by :class:`KeyedDataset` or explicitly;
* noise inside the network (:mod:`~augnoise.torch.regularizers`: hidden units, weights) and in
  the optimiser (:mod:`~augnoise.torch.optim`: gradients, parameters, SGLD), counter-based
  and keyed by (seed, site, step);
* the batch stage is :meth:`augnoise.Pipeline.apply_batch`: CPU tensors run the numba kernels
  on their own memory, other devices the torch kernels (:mod:`augnoise.torch.philox`).
"""
from .adapters import KeyedDataset, NoiseTransform, hf_transform
from .data import (AugmentedDataset, AugmentedIterable, AugmentedLoader, EpochRepeatWarning, KeyedBatchSampler,
                   KeyedSampler, make_loader)
from .optim import GradientNoise, ParameterNoise
from .regularizers import GaussianNoise, WeightNoise, seed_noise

__all__ = ["AugmentedDataset", "AugmentedIterable", "AugmentedLoader", "EpochRepeatWarning", "GaussianNoise",
           "GradientNoise", "KeyedBatchSampler", "KeyedDataset", "KeyedSampler", "NoiseTransform", "ParameterNoise",
           "WeightNoise", "hf_transform", "make_loader", "seed_noise"]
