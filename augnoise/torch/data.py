"""DataLoader integration: keyed samplers, an augmenting dataset wrapper, and a loader that
applies the batch stage on the device."""
from __future__ import annotations

from typing import Any, Iterable, Iterator, Mapping, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler, default_collate

from ..core.errors import InputError
from ..core.pipeline import Pipeline


def _primary_field(pipeline: Pipeline) -> str:
    """The field the pipeline's first step acts on (default ``image``)."""
    for step in [*pipeline.sample, *pipeline.batch]:
        field = getattr(step, "field", None)
        if isinstance(field, str):
            return field
        for child in getattr(step, "transforms", []):
            if isinstance(getattr(child, "field", None), str):
                return child.field
    return "image"


class KeyedSampler(Sampler):
    """Yields ``(epoch, index)`` keys, so the epoch reaches DataLoader workers with each index
    (no shared state: works with ``persistent_workers=True``).

    ``base`` is any sampler of indices (e.g. a ``DistributedSampler``); without one, indices
    ``0..length-1`` in order, or shuffled by a permutation keyed by ``(seed, epoch)``.
    """

    def __init__(self, base: Iterable[int] | None = None, *, length: int | None = None, shuffle: bool = False,
                 seed: int = 0) -> None:
        if base is None and length is None:
            raise ValueError("KeyedSampler needs a base sampler or a length")
        self.base, self.length, self.shuffle, self.seed = base, length, shuffle, int(seed)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)
        if hasattr(self.base, "set_epoch"):
            self.base.set_epoch(epoch)  # type: ignore[union-attr]

    def __iter__(self) -> Iterator[tuple[int, int]]:
        e = self.epoch
        if self.base is not None:
            for i in self.base:
                yield (e, int(i))
            return
        n = int(self.length)  # type: ignore[arg-type]
        if self.shuffle:
            ss = np.random.SeedSequence(entropy=self.seed, spawn_key=(2, e))
            order = np.random.Generator(np.random.Philox(ss)).permutation(n)
        else:
            order = np.arange(n)
        for i in order:
            yield (e, int(i))

    def __len__(self) -> int:
        return len(self.base) if self.base is not None else int(self.length)  # type: ignore[arg-type]


class AugmentedDataset(Dataset):
    """Wraps a map-style dataset so each item goes through ``pipeline``'s sample stage keyed by
    ``(seed, epoch, index)``.

    Indexing takes an ``(epoch, index)`` key (as :class:`KeyedSampler` yields) or a plain index
    (epoch 0). ``fields`` maps items to pipeline fields: for an array (numpy or torch) item, the
    field name (default: the field of the pipeline's first step); for a tuple item, one field
    name or None (passed through) per position (default: the first position is augmented); for
    a dict item, a mapping of its keys to field names (default: the keys themselves; fields the
    pipeline adds, such as masks, are added to the dict). Items come back in the same structure,
    torch tensors as tensors. ``__getitems__`` augments a whole batch in the worker at once
    (step by step, with the same per-sample keys, so the same numbers as item by item).
    """

    def __init__(self, dataset: Any, pipeline: Pipeline, fields: Any = None, *, with_index: bool = False,
                 batched: bool = True) -> None:
        self.dataset, self.pipeline, self.fields, self.with_index = dataset, pipeline, fields, with_index
        self.primary = _primary_field(pipeline)
        if not batched:
            self.__getitems__ = None  # type: ignore[assignment]  # DataLoader then fetches item by item

    def __len__(self) -> int:
        return len(self.dataset)

    @staticmethod
    def _key(key: Any) -> tuple[int, int]:
        if isinstance(key, (tuple, list)) and len(key) == 2:
            return int(key[0]), int(key[1])
        return 0, int(key)

    # item <-> sample ------------------------------------------------------------------------
    def _to_sample(self, item: Any) -> tuple[dict[str, Any], Any]:
        f = self.fields
        if isinstance(item, Mapping):
            mapping = dict(f) if f is not None else {k: k for k in item}
            return {mapping.get(k, k): v for k, v in item.items()}, ("dict", mapping, item)
        if isinstance(item, tuple):
            names = list(f) if f is not None else [self.primary] + [None] * (len(item) - 1)
            if len(names) != len(item):
                raise InputError(f"fields has {len(names)} entries but items are tuples of {len(item)}")
            return {n: v for n, v in zip(names, item) if n is not None}, ("tuple", names, item)
        return {f or self.primary: item}, ("array", f or self.primary, item)

    @staticmethod
    def _from_sample(sample: dict[str, Any], how: Any) -> Any:
        kind, spec, item = how
        if kind == "dict":
            out = {k: _like(sample.get(spec.get(k, k)), v) for k, v in item.items()}
            inverse = set(spec.values())
            out.update({k: v for k, v in sample.items() if k not in inverse})  # new fields (masks)
            return out
        if kind == "tuple":
            return tuple(v if n is None else _like(sample[n], v) for n, v in zip(spec, item))
        return _like(sample[spec], item)

    def __getitem__(self, key: Any) -> Any:
        epoch, index = self._key(key)
        sample, how = self._to_sample(self.dataset[index])
        out = self._from_sample(self.pipeline(sample, index=index, epoch=epoch), how)
        return (out, index) if self.with_index else out

    def __getitems__(self, keys: Sequence[Any]) -> list[Any]:
        pairs = [self._key(k) for k in keys]
        indices = [i for _, i in pairs]
        getitems = getattr(self.dataset, "__getitems__", None)
        items = getitems(indices) if callable(getitems) else [self.dataset[i] for i in indices]
        converted = [self._to_sample(it) for it in items]
        outs = self.pipeline.apply_many([s for s, _ in converted], indices, [e for e, _ in pairs])
        res = [self._from_sample(o, how) for o, (_, how) in zip(outs, converted)]
        return [(r, i) for r, i in zip(res, indices)] if self.with_index else res


def _like(value: Any, original: Any) -> Any:
    if isinstance(original, torch.Tensor) and isinstance(value, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(value))
    return value


def _numpy_positions(item: Any) -> Any:
    """Which parts of an item are numpy arrays (dict keys, tuple positions, or the item)."""
    if isinstance(item, Mapping):
        return {k for k, v in item.items() if isinstance(v, np.ndarray)}
    if isinstance(item, tuple):
        return {i for i, v in enumerate(item) if isinstance(v, np.ndarray)}
    return isinstance(item, np.ndarray)


def _collate_with_index(batch: list[tuple[Any, int]]) -> tuple[Any, torch.Tensor, Any]:
    items = [b for b, _ in batch]
    data = default_collate(items)
    return data, torch.tensor([i for _, i in batch], dtype=torch.int64), _numpy_positions(items[0])


class AugmentedLoader:
    """A DataLoader whose workers run the sample stage and whose iterator moves each batch to
    ``device`` and runs the batch stage there. Call :meth:`set_epoch` before each epoch."""

    def __init__(self, dataset: Any, pipeline: Pipeline, *, batch_size: int = 1, shuffle: bool = False,
                 num_workers: int = 0, seed: int | None = None, device: Any = None, fields: Any = None,
                 sampler: Iterable[int] | None = None, persistent_workers: bool = False, drop_last: bool = False,
                 pin_memory: bool | None = None, batched: bool = True, model: Any = None, targets: Any = None,
                 loss_fn: Any = None, **loader_kwargs: Any) -> None:
        if sampler is not None and shuffle:
            raise ValueError("give either shuffle=True or a sampler (which does its own shuffling), not both")
        self.pipeline = pipeline
        self.model, self.targets, self.loss_fn = model, targets, loss_fn  # for adversarial batch steps
        self.device = torch.device(device) if device is not None else None
        self.sampler = KeyedSampler(sampler, length=len(dataset), shuffle=shuffle,
                                    seed=pipeline.seed if seed is None else seed)
        self.dataset = AugmentedDataset(dataset, pipeline, fields, with_index=True, batched=batched)
        self.fields = fields
        if pin_memory is None:
            pin_memory = self.device is not None and self.device.type == "cuda"
        self.loader = DataLoader(self.dataset, batch_size=batch_size, sampler=self.sampler, num_workers=num_workers,
                                 persistent_workers=persistent_workers and num_workers > 0, drop_last=drop_last,
                                 collate_fn=_collate_with_index, pin_memory=pin_memory, **loader_kwargs)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Key the next iteration by ``epoch`` (and pass it on to a distributed sampler)."""
        self.epoch = int(epoch)
        self.sampler.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self) -> Iterator[Any]:
        epoch = self.epoch
        for data, indices, numpy_parts in self.loader:
            if self.device is not None:
                data = _to_device(data, self.device)
            if self.pipeline.batch:
                data = self._batch_stage(data, indices, epoch, numpy_parts)
            yield data

    def _targets(self, data: Any) -> Any:
        """The targets for adversarial steps: a tuple position or dict key of the batch."""
        if self.targets is None or isinstance(self.targets, torch.Tensor):
            return self.targets
        return data[self.targets]

    def _batch_stage(self, data: Any, indices: torch.Tensor, epoch: int, numpy_parts: Any = None) -> Any:
        """The batch stage on a collated batch; ``numpy_parts`` says which parts were numpy in
        the sample stage (numpy images collate to channels-last batches: the batch stage is told)."""
        primary = self.dataset.primary
        kw = {"model": self.model, "targets": self._targets(data) if not isinstance(data, torch.Tensor) else None,
              "loss_fn": self.loss_fn}
        if isinstance(data, torch.Tensor):
            types = {primary: "numpy"} if numpy_parts is True else {}
            return self.pipeline.apply_batch({primary: data}, indices, epoch=epoch, item_types=types, **kw)[primary]
        if isinstance(data, (list, tuple)):
            names = list(self.fields) if self.fields is not None else [primary] + [None] * (len(data) - 1)
            fields = {n: v for n, v in zip(names, data) if n is not None}
            types = {n: "numpy" for i, n in enumerate(names) if n is not None and i in (numpy_parts or ())}
            out = self.pipeline.apply_batch(fields, indices, epoch=epoch, item_types=types, **kw)
            return type(data)(v if n is None else out[n] for n, v in zip(names, data))
        if isinstance(data, dict):
            mapping = dict(self.fields) if self.fields is not None else {k: k for k in data}
            fields = {mapping.get(k, k): v for k, v in data.items()}
            types = {mapping.get(k, k): "numpy" for k in data if k in (numpy_parts or ())}
            out = self.pipeline.apply_batch(fields, indices, epoch=epoch, item_types=types, **kw)
            return {k: out[mapping.get(k, k)] for k in data}
        raise InputError(f"cannot run the batch stage on a batch of type {type(data).__name__}")


def _to_device(data: Any, device: torch.device) -> Any:
    if isinstance(data, torch.Tensor):
        return data.to(device, non_blocking=True)
    if isinstance(data, (list, tuple)):
        return type(data)(_to_device(d, device) for d in data)
    if isinstance(data, dict):
        return {k: _to_device(v, device) for k, v in data.items()}
    return data


def make_loader(dataset: Any, pipeline: Pipeline, batch_size: int = 1, shuffle: bool = False, num_workers: int = 0,
                seed: int | None = None, device: Any = None, **kwargs: Any) -> AugmentedLoader:
    """A DataLoader for ``dataset`` with ``pipeline`` wired in: the sample stage runs in the
    workers keyed by ``(seed, epoch, index)`` (shuffle order keyed by ``seed`` and the epoch),
    batches move to ``device`` (pinned memory for CUDA) and the batch stage runs there.
    Other keyword arguments go to :class:`AugmentedLoader` / ``torch.utils.data.DataLoader``
    (``fields``, ``sampler``, ``persistent_workers``, ``drop_last``, ...); adversarial batch
    steps take ``model=`` and ``targets=`` (the batch's tuple position or dict key of the
    labels)."""
    return AugmentedLoader(dataset, pipeline, batch_size=batch_size, shuffle=shuffle, num_workers=num_workers,
                           seed=seed, device=device, **kwargs)
