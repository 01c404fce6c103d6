"""torch integration: keyed DataLoader workers and the device batch stage.

* :class:`AugmentedDataset` and :func:`make_loader`: the sample stage in DataLoader workers,
  keyed by ``(seed, epoch, index)`` through the sampler, so results do not depend on worker
  count, persistence, batch size or rank;
* the batch stage (:func:`augnoise.torch.batch.apply_batch`): torch kernels on any device,
  keyed per sample.
"""
from .batch import apply_batch
from .data import AugmentedDataset, AugmentedLoader, KeyedSampler, make_loader

__all__ = ["AugmentedDataset", "AugmentedLoader", "KeyedSampler", "apply_batch", "make_loader"]
