"""A pipeline inside other people's data code: a torchvision-style transform (an ``nn.Module``)
and a HuggingFace ``datasets`` transform, each keyed per sample.

A transform called inside a dataset's ``__getitem__`` does not know which sample it sees. Here
the key comes either explicitly (``t(x, index=i, epoch=e)``, an index column) or from the
dataset being loaded: :class:`KeyedDataset` (and :class:`~augnoise.torch.AugmentedDataset`)
make each item's ``(epoch, index, occurrence)`` current while it loads (:mod:`augnoise.torch.keys`).
Without a key the call is an error that says how to pass one: no sample silently gets another
sample's noise.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from ..core.errors import InputError
from ..core.pipeline import Pipeline
from .keys import Key, current_keys, keyed, normalise_key

_NO_KEY = ("{what} does not know which sample it sees: wrap the dataset that calls it with "
           "augnoise.torch.KeyedDataset(dataset) and load it through a DataLoader with "
           "sampler=augnoise.torch.KeyedSampler(length=len(dataset)) (or make_loader), or pass the key yourself{how}")


class KeyedDataset(Dataset):
    """Makes each item's key current while ``dataset[index]`` loads it, for the
    :class:`NoiseTransform` (or :func:`hf_transform`) inside ``dataset``'s own transforms.

    Indexing takes a key as :class:`~augnoise.torch.KeyedSampler` yields it, ``(epoch, index,
    occurrence)``, or a plain index keyed by the wrapper's epoch (:meth:`set_epoch`); items are
    returned unchanged. With a ``KeyedSampler`` (whose ``set_epoch`` Lightning and DDP code
    call) the epoch and repeated indices reach workers, persistent ones included.
    """

    def __init__(self, dataset: Any) -> None:
        self.dataset = dataset
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """The epoch of plain-index keys (keys from a KeyedSampler carry their own)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key: Any) -> Any:
        k = normalise_key(key, self.epoch)
        with keyed([k]):
            return self.dataset[k[1]]

    def __getitems__(self, keys: Sequence[Any]) -> list[Any]:
        ks = [normalise_key(k, self.epoch) for k in keys]
        getitems = getattr(self.dataset, "__getitems__", None)
        if callable(getitems):
            with keyed(ks):
                return list(getitems([k[1] for k in ks]))
        out = []
        for k in ks:
            with keyed([k]):
                out.append(self.dataset[k[1]])
        return out


class NoiseTransform(torch.nn.Module):
    """A pipeline's sample stage as a torchvision-style transform: ``t(x)`` inside a
    ``Compose`` chain of a dataset wrapped by :class:`KeyedDataset` (or
    :class:`~augnoise.torch.AugmentedDataset`), or ``t(x, index=i, epoch=e)`` with an explicit
    key. ``x`` is one sample: an array or tensor (the pipeline's primary field; torch tensors
    are CHW by default, numpy arrays HWC) or a dict of fields; the result has the same type.
    A call with no key anywhere is an error saying how to give one."""

    def __init__(self, pipeline: Pipeline) -> None:
        super().__init__()
        if not isinstance(pipeline, Pipeline):
            raise TypeError(f"NoiseTransform takes an augnoise.Pipeline, got {type(pipeline).__name__}")
        self.pipeline = pipeline

    def forward(self, x: Any, index: int | None = None, epoch: int | None = None,
                occurrence: int | None = None) -> Any:
        if index is None:
            keys = current_keys()
            if keys is None:
                raise InputError(_NO_KEY.format(what="NoiseTransform", how=": t(x, index=i, epoch=e)"))
            if len(keys) != 1:
                raise InputError(f"NoiseTransform transforms one sample, but {len(keys)} are being loaded at once: "
                                 "call it per item")
            e, index, o = keys[0]
            epoch = e if epoch is None else epoch
            occurrence = o if occurrence is None else occurrence
        return self.pipeline(x, index=index, epoch=epoch or 0, occurrence=occurrence or 0)

    def extra_repr(self) -> str:
        return f"seed={self.pipeline.seed}, sample={[s.name for s in self.pipeline.sample]}"


def _as_array(v: Any) -> Any:
    """A column value as the pipeline takes it: PIL images and nested lists become numpy
    arrays (PIL images as HWC / HW uint8); arrays and tensors stay as they are."""
    if isinstance(v, (np.ndarray, torch.Tensor)):
        return v
    if hasattr(v, "getbands") and hasattr(v, "size"):  # a PIL image
        return np.asarray(v)
    if isinstance(v, (list, tuple)):
        return np.asarray(v)
    return v


class HFTransform:
    """A HuggingFace ``datasets`` transform (for ``Dataset.set_transform`` /
    ``with_transform``); see :func:`hf_transform`. Picklable, so DataLoader workers can
    load it."""

    def __init__(self, pipeline: Pipeline, columns: Mapping[str, str] | Sequence[str] | None,
                 index_column: str | None, epoch: int) -> None:
        self.pipeline, self.index_column, self.epoch = pipeline, index_column, int(epoch)
        if columns is None:
            columns = [pipeline.primary_field]
        self.columns = dict(columns) if isinstance(columns, Mapping) else {c: c for c in columns}

    def set_epoch(self, epoch: int) -> None:
        """The epoch of the keys made from the index column."""
        self.epoch = int(epoch)

    def _keys(self, batch: Mapping[str, list], n: int) -> list[Key]:
        if self.index_column is not None:
            if self.index_column not in batch:
                raise InputError(f"hf_transform: the batch has no column {self.index_column!r} (columns: "
                                 f"{', '.join(batch)}); add one with dataset.add_column('{self.index_column}', "
                                 "range(len(dataset)))")
            return [(self.epoch, int(i), 0) for i in batch[self.index_column]]
        keys = current_keys()
        if keys is None:
            raise InputError(_NO_KEY.format(what="hf_transform", how=", or give index_column= naming a column of "
                                            "sample indices"))
        if len(keys) != n:
            raise InputError(f"hf_transform got {n} rows but {len(keys)} keys are current")
        return list(keys)

    def __call__(self, batch: Mapping[str, list]) -> dict[str, list]:
        missing = [c for c in self.columns if c not in batch]
        if missing:
            raise InputError(f"hf_transform: no column {missing[0]!r} in the batch (columns: {', '.join(batch)})")
        n = len(next(iter(batch.values()))) if batch else 0
        keys = self._keys(batch, n)
        out = dict(batch)
        samples = [{self.columns[c]: _as_array(batch[c][r]) for c in self.columns} for r in range(n)]
        done = self.pipeline.apply_many(samples, [k[1] for k in keys], [k[0] for k in keys], [k[2] for k in keys])
        for c, f in self.columns.items():
            out[c] = [d[f] for d in done]
        return out


def hf_transform(pipeline: Pipeline, columns: Mapping[str, str] | Sequence[str] | None = None, *,
                 index_column: str | None = None, epoch: int = 0) -> Callable[[Mapping[str, list]], dict]:
    """A transform for a HuggingFace ``datasets.Dataset``: ``ds.set_transform(hf_transform(pipe,
    {"img": "image"}))`` runs the sample stage on the named columns (column -> pipeline field;
    a list of names maps each to itself; default: the pipeline's primary field) of each row
    as rows are read, returning numpy arrays.

    Keys: by default each row's ``(epoch, index, occurrence)`` comes from the dataset being
    loaded, so read it through :class:`KeyedDataset` and a :class:`~augnoise.torch.KeyedSampler`
    (or :func:`~augnoise.torch.make_loader`); with ``index_column=`` the row's index is that
    column and the epoch is the transform's (``set_epoch``; workers see a new epoch only when
    they are not persistent). Rows read with no key are an error saying how to give one.
    """
    return HFTransform(pipeline, columns, index_column, epoch)

