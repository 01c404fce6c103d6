"""torch integration: keyed DataLoader workers, adapters for other people's data code, the
tensor adapter of the batch stage, and torch kernels' Philox streams.

* :class:`AugmentedDataset` and :func:`make_loader`: the sample stage in DataLoader workers,
  keyed by ``(seed, epoch, index, occurrence)`` through :class:`KeyedSampler`, so results do
  not depend on worker count, persistence, batch size or rank, and repeated indices get
  their own noise; ``loader.sampler.set_epoch`` (what Lightning calls) moves both stages;
* :class:`NoiseTransform` (a torchvision-style transform) and :func:`hf_transform` (for
  HuggingFace ``datasets``), keyed by :class:`KeyedDataset` or explicitly;
* the batch stage is :meth:`augnoise.Pipeline.apply_batch`: CPU tensors run the numba kernels
  on their own memory, other devices the torch kernels (:mod:`augnoise.torch.philox`).
"""
from .adapters import KeyedDataset, NoiseTransform, hf_transform
from .data import (AugmentedDataset, AugmentedIterable, AugmentedLoader, EpochRepeatWarning, KeyedBatchSampler,
                   KeyedSampler, make_loader)

__all__ = ["AugmentedDataset", "AugmentedIterable", "AugmentedLoader", "EpochRepeatWarning", "KeyedBatchSampler",
           "KeyedDataset", "KeyedSampler", "NoiseTransform", "hf_transform", "make_loader"]
