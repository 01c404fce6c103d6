"""torch integration: keyed DataLoader workers, the tensor adapter of the batch stage, and
torch kernels' Philox streams.

* :class:`AugmentedDataset` and :func:`make_loader`: the sample stage in DataLoader workers,
  keyed by ``(seed, epoch, index)`` through the sampler, so results do not depend on worker
  count, persistence, batch size or rank;
* the batch stage is :meth:`augnoise.Pipeline.apply_batch`: CPU tensors run the numba kernels
  on their own memory, other devices the torch kernels (:mod:`augnoise.torch.philox`).
"""
from .data import AugmentedDataset, AugmentedLoader, KeyedSampler, make_loader

__all__ = ["AugmentedDataset", "AugmentedLoader", "KeyedSampler", "make_loader"]
