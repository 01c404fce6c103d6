"""DataLoader integration: keyed samplers, an augmenting dataset wrapper, and a loader that
applies the batch stage on the device."""
from __future__ import annotations

import warnings
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset, Sampler, default_collate, get_worker_info

from ..core.errors import InputError
from ..core.pipeline import Pipeline, walk
from .keys import Key, keyed, normalise_key


def _pipeline_fields(pipeline: Pipeline) -> set[str]:
    """Every field the pipeline's steps read or write."""
    return set().union(*(s.fields() for s in walk([*pipeline.sample, *pipeline.batch]))) if (
        pipeline.sample or pipeline.batch) else set()


def _primary_field(pipeline: Pipeline) -> str:
    """The field a bare array or a tuple's first position stands for: the first leaf step's
    field other than ``label`` (label steps act on the label, not on the item), else ``image``."""
    for step in walk([*pipeline.sample, *pipeline.batch]):
        if not step.children():
            for f in ([getattr(step, "field", None)] if isinstance(getattr(step, "field", None), str)
                      else sorted(step.fields())):
                if f != "label":
                    return f
    return "image"


class KeyedSampler(Sampler):
    """Yields ``(epoch, index, occurrence)`` keys, so the epoch and each index's occurrence
    count reach DataLoader workers with the index (no shared state: works with
    ``persistent_workers=True``).

    ``base`` is any sampler of indices (a ``DistributedSampler``, a ``WeightedRandomSampler``
    with replacement); the ``k``-th time an index comes up in an epoch its occurrence is ``k``,
    so every copy gets its own noise whatever the worker count. Without a base: indices
    ``0..length-1`` in order, or shuffled by a permutation keyed by ``(seed, epoch)``; with
    ``repeats=m`` each index comes ``m`` times (repeated augmentation, Hoffer et al. 2020), its
    copies ``0..m-1`` dealt to consecutive ranks when ``num_replicas``/``rank`` are given, so
    copies on different ranks differ too and the epoch's keys are the same for any number of
    ranks. :meth:`set_epoch` is what Lightning and DDP training code call on
    ``loader.sampler``; it moves both stages.
    """

    def __init__(self, base: Iterable[int] | None = None, *, length: int | None = None, shuffle: bool = False,
                 seed: int = 0, repeats: int = 1, num_replicas: int = 1, rank: int = 0) -> None:
        if base is None and length is None:
            raise ValueError("KeyedSampler needs a base sampler or a length")
        if base is not None and (repeats != 1 or num_replicas != 1 or rank != 0):
            raise ValueError("repeats, num_replicas and rank apply to KeyedSampler's own order; a base sampler "
                             "deals its own indices to ranks")
        if not (isinstance(repeats, int) and repeats >= 1 and isinstance(num_replicas, int) and num_replicas >= 1
                and isinstance(rank, int) and 0 <= rank < num_replicas):
            raise ValueError(f"need repeats >= 1, num_replicas >= 1 and 0 <= rank < num_replicas, got repeats={repeats}, "
                             f"num_replicas={num_replicas}, rank={rank}")
        self.base, self.length, self.shuffle, self.seed = base, length, shuffle, int(seed)
        self.repeats, self.num_replicas, self.rank = repeats, num_replicas, rank
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Key the next pass by ``epoch`` (passed on to the base sampler)."""
        self.epoch = int(epoch)
        if hasattr(self.base, "set_epoch"):
            self.base.set_epoch(epoch)  # type: ignore[union-attr]

    def _order(self) -> np.ndarray:
        n = int(self.length)  # type: ignore[arg-type]
        if self.shuffle:
            ss = np.random.SeedSequence(entropy=self.seed, spawn_key=(2, self.epoch))
            return np.random.Generator(np.random.Philox(ss)).permutation(n)
        return np.arange(n)

    def __iter__(self) -> Iterator[Key]:
        e = self.epoch
        if self.base is None:
            m, world = self.repeats, self.num_replicas
            order = np.repeat(self._order(), m)
            copies = np.tile(np.arange(m), len(order) // m if m else 0)
            total = -(-len(order) // world) * world
            pad = total - len(order)  # as DistributedSampler: pad with the first keys, so ranks get equal shares
            order, copies = np.concatenate([order, order[:pad]]), np.concatenate([copies, copies[:pad]])
            for i, k in zip(order[self.rank::world], copies[self.rank::world]):
                yield (e, int(i), int(k))
            return
        seen: dict[int, int] = {}
        for i in self.base:
            i = int(i)
            k = seen.get(i, 0)
            seen[i] = k + 1
            yield (e, i, k)

    def __len__(self) -> int:
        if self.base is not None:
            return len(self.base)  # type: ignore[arg-type]
        return -(-int(self.length) * self.repeats // self.num_replicas)  # type: ignore[arg-type]


class KeyedBatchSampler(Sampler):
    """A batch sampler's batches as lists of ``(epoch, index, occurrence)`` keys (the ``k``-th
    copy of an index in an epoch has occurrence ``k``, as in :class:`KeyedSampler`)."""

    def __init__(self, base: Iterable[Sequence[int]]) -> None:
        self.base = base
        self.epoch = 0
        self.sampler = getattr(base, "sampler", None)

    def set_epoch(self, epoch: int) -> None:
        """Key the next pass by ``epoch`` (passed on to the base's sampler)."""
        self.epoch = int(epoch)
        for obj in (self.base, self.sampler):
            if hasattr(obj, "set_epoch"):
                obj.set_epoch(epoch)  # type: ignore[union-attr]

    def __iter__(self) -> Iterator[list[Key]]:
        e = self.epoch
        seen: dict[int, int] = {}
        for batch in self.base:
            keys = []
            for i in batch:
                i = int(i)
                k = seen.get(i, 0)
                seen[i] = k + 1
                keys.append((e, i, k))
            yield keys

    def __len__(self) -> int:
        return len(self.base)  # type: ignore[arg-type]


class _Items:
    """Maps dataset items to pipeline samples and back (shared by the map-style and the
    iterable wrappers)."""

    def __init__(self, pipeline: Pipeline, fields: Any) -> None:
        self.pipeline, self.fields = pipeline, fields
        self.primary = _primary_field(pipeline)
        self.wants_label = "label" in _pipeline_fields(pipeline)

    def tuple_names(self, n: int) -> list[str | None]:
        """The field of each position of an n-tuple: ``fields`` when given; else the first
        position is the primary field and, when the pipeline has label steps, the second is
        ``label``."""
        if self.fields is not None:
            names = list(self.fields)
            if len(names) != n:
                raise InputError(f"fields has {len(names)} entries but items are tuples of {n}")
            return names
        names: list[str | None] = [self.primary] + [None] * (n - 1)
        if self.wants_label and n >= 2 and self.primary != "label":
            names[1] = "label"
        return names

    def to_sample(self, item: Any) -> tuple[dict[str, Any], Any]:
        f = self.fields
        if isinstance(item, Mapping):
            mapping = dict(f) if f is not None else {k: k for k in item}
            sample, how, what = {mapping.get(k, k): v for k, v in item.items()}, ("dict", mapping, item), "dicts"
        elif isinstance(item, tuple):
            names = self.tuple_names(len(item))
            sample = {n: v for n, v in zip(names, item) if n is not None}
            how, what = ("tuple", names, item), f"tuples of {len(item)}"
        else:
            name = f or self.primary
            sample, how, what = {name: item}, ("array", name, item), "single arrays"
        if self.wants_label and "label" not in sample:
            raise InputError(f"the pipeline's label steps act on field 'label' but the items are {what} without one: "
                             "name the label's position with fields= (e.g. fields=('image', 'label'))")
        return sample, how

    @staticmethod
    def from_sample(sample: dict[str, Any], how: Any) -> Any:
        kind, spec, item = how
        if kind == "dict":
            out = {k: _like(sample.get(spec.get(k, k)), v) for k, v in item.items()}
            inverse = set(spec.values())
            out.update({k: v for k, v in sample.items() if k not in inverse})  # new fields (masks)
            return out
        if kind == "tuple":
            return tuple(v if n is None else _like(sample[n], v) for n, v in zip(spec, item))
        return _like(sample[spec], item)


class AugmentedDataset(Dataset):
    """Wraps a map-style dataset so each item goes through ``pipeline``'s sample stage keyed by
    ``(seed, epoch, index, occurrence)``.

    Indexing takes a key as :class:`KeyedSampler` yields it, ``(epoch, index, occurrence)``
    (or ``(epoch, index)``), or a plain index, keyed by the dataset's own epoch
    (:meth:`set_epoch`; a plain ``DataLoader`` with ``persistent_workers=True`` does not see a
    new one: use :func:`make_loader` or a :class:`KeyedSampler`). While an item is loaded its
    key is current (:mod:`augnoise.torch.keys`), so a :class:`~augnoise.torch.NoiseTransform`
    inside the wrapped dataset's own transforms is keyed too.

    ``fields`` maps items to pipeline fields: for an array (numpy or torch) item, the field
    name (default: the field of the pipeline's first step); for a tuple item, one field name or
    None (passed through) per position (default: the first position is augmented, and the
    second is ``label`` when the pipeline has label steps); for a dict item, a mapping of its
    keys to field names (default: the keys themselves; fields the pipeline adds, such as
    masks, are added to the dict). Items come back in the same structure, torch tensors as
    tensors of the same shape (0-d stays 0-d). ``__getitems__`` augments a whole batch in the
    worker at once (step by step, with the same per-sample keys, so the same numbers as item
    by item).
    """

    def __init__(self, dataset: Any, pipeline: Pipeline, fields: Any = None, *, with_index: bool = False,
                 batched: bool = True) -> None:
        self.dataset, self.pipeline, self.fields, self.with_index = dataset, pipeline, fields, with_index
        self.items = _Items(pipeline, fields)
        self.primary = self.items.primary
        self.epoch = 0
        if not batched:
            self.__getitems__ = None  # type: ignore[assignment]  # DataLoader then fetches item by item

    def __len__(self) -> int:
        return len(self.dataset)

    def set_epoch(self, epoch: int) -> None:
        """The epoch of plain-index keys (keys from a :class:`KeyedSampler` carry their own)."""
        self.epoch = int(epoch)

    def __getitem__(self, key: Any) -> Any:
        k = normalise_key(key, self.epoch)
        with keyed([k]):
            item = self.dataset[k[1]]
        sample, how = self.items.to_sample(item)
        out = self.items.from_sample(self.pipeline(sample, epoch=k[0], index=k[1], occurrence=k[2]), how)
        return (out, k) if self.with_index else out

    def __getitems__(self, keys: Sequence[Any]) -> list[Any]:
        ks = [normalise_key(k, self.epoch) for k in keys]
        indices = [k[1] for k in ks]
        getitems = getattr(self.dataset, "__getitems__", None)
        with keyed(ks):
            items = getitems(indices) if callable(getitems) else None
        if items is None:
            items = []
            for k in ks:
                with keyed([k]):
                    items.append(self.dataset[k[1]])
        converted = [self.items.to_sample(it) for it in items]
        outs = self.pipeline.apply_many([s for s, _ in converted], indices, [k[0] for k in ks], [k[2] for k in ks])
        res = [self.items.from_sample(o, how) for o, (_, how) in zip(outs, converted)]
        return [(r, k) for r, k in zip(res, ks)] if self.with_index else res


class AugmentedIterable(IterableDataset):
    """Wraps an ``IterableDataset`` (a stream): item ``p`` of the stream is keyed by index
    ``p`` and the wrapper's epoch. In DataLoader workers the stream is sharded by position
    (worker ``w`` of ``W`` takes positions ``p % W == w``), so no two workers augment the same
    item and the keys do not depend on the worker count. The wrapped stream must therefore
    yield the same items in every worker (it must not shard itself)."""

    def __init__(self, dataset: Any, pipeline: Pipeline, fields: Any = None, *, with_index: bool = False) -> None:
        self.dataset, self.pipeline, self.with_index = dataset, pipeline, with_index
        self.items = _Items(pipeline, fields)
        self.primary = self.items.primary
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Key the next pass by ``epoch``."""
        self.epoch = int(epoch)

    def __iter__(self) -> Iterator[Any]:
        info = get_worker_info()
        w, nw = (info.id, info.num_workers) if info is not None else (0, 1)
        e = self.epoch
        for p, item in enumerate(self.dataset):
            if p % nw != w:
                continue
            k = (e, p, 0)
            sample, how = self.items.to_sample(item)
            out = self.items.from_sample(self.pipeline(sample, epoch=e, index=p), how)
            yield (out, k) if self.with_index else out


def _like(value: Any, original: Any) -> Any:
    """``value`` as the type of ``original``: numpy results of tensor fields become tensors of
    the same shape (0-d included)."""
    if isinstance(original, torch.Tensor) and isinstance(value, np.ndarray):
        return torch.from_numpy(value.copy() if not value.flags.c_contiguous or value.ndim == 0 else value)
    return value


def _numpy_positions(item: Any) -> Any:
    """Which parts of an item are numpy arrays (dict keys, tuple positions, or the item)."""
    if isinstance(item, Mapping):
        return {k for k, v in item.items() if isinstance(v, np.ndarray)}
    if isinstance(item, tuple):
        return {i for i, v in enumerate(item) if isinstance(v, np.ndarray)}
    return isinstance(item, np.ndarray)


class _Collate:
    """Collates ``(item, key)`` pairs: the items with the user's ``collate_fn`` (default
    ``default_collate``), the keys as a (B, 3) int64 tensor. A class, so workers can pickle it."""

    def __init__(self, collate_fn: Callable[[list[Any]], Any] | None) -> None:
        self.collate_fn = collate_fn or default_collate

    def __call__(self, batch: list[tuple[Any, Key]]) -> tuple[Any, torch.Tensor, Any]:
        items = [b for b, _ in batch]
        keys = torch.tensor([k for _, k in batch], dtype=torch.int64).reshape(len(batch), 3)
        return self.collate_fn(items), keys, _numpy_positions(items[0]) if items else False


class EpochRepeatWarning(UserWarning):
    """A loader was iterated again in the same epoch: the noise repeats the previous pass."""


class AugmentedLoader:
    """A DataLoader whose workers run the sample stage and whose iterator moves each batch to
    ``device`` and runs the batch stage there.

    Epochs: call :meth:`set_epoch` (or ``loader.sampler.set_epoch``, which is what Lightning
    and DDP training code call) before each epoch; both stages use it. Iterating twice in one
    epoch warns once (:class:`EpochRepeatWarning`), since the noise would repeat. Keys come
    from :class:`KeyedSampler` (each occurrence of a repeated index gets its own noise);
    ``sampler`` or ``batch_sampler`` are wrapped, ``collate_fn`` collates the items, and other
    keyword arguments go to ``torch.utils.data.DataLoader``. An ``IterableDataset`` is keyed
    by stream position (:class:`AugmentedIterable`).
    """

    def __init__(self, dataset: Any, pipeline: Pipeline, *, batch_size: int | None = 1, shuffle: bool = False,
                 num_workers: int = 0, seed: int | None = None, device: Any = None, fields: Any = None,
                 sampler: Iterable[int] | None = None, batch_sampler: Iterable[Sequence[int]] | None = None,
                 collate_fn: Callable[[list[Any]], Any] | None = None, persistent_workers: bool = False,
                 drop_last: bool = False, pin_memory: bool | None = None, batched: bool = True, model: Any = None,
                 targets: Any = None, loss_fn: Any = None, **loader_kwargs: Any) -> None:
        if sampler is not None and shuffle:
            raise ValueError("give either shuffle=True or a sampler (which does its own shuffling), not both")
        self.pipeline = pipeline
        self.model, self.targets, self.loss_fn = model, targets, loss_fn  # for adversarial batch steps
        self.device = torch.device(device) if device is not None else None
        self.fields = fields
        if pin_memory is None:
            pin_memory = self.device is not None and self.device.type == "cuda"
        common = dict(num_workers=num_workers, persistent_workers=persistent_workers and num_workers > 0,
                      collate_fn=_Collate(collate_fn), pin_memory=pin_memory, **loader_kwargs)
        self.iterable = isinstance(dataset, IterableDataset)
        if self.iterable:
            if shuffle or sampler is not None or batch_sampler is not None:
                raise ValueError("an IterableDataset has no indices to sample or shuffle: drop shuffle, sampler "
                                 "and batch_sampler (the stream's order is its own)")
            if persistent_workers and num_workers > 0:
                raise ValueError("persistent workers would keep an IterableDataset's first epoch: use "
                                 "persistent_workers=False with a stream")
            self.dataset: Any = AugmentedIterable(dataset, pipeline, fields, with_index=True)
            self.sampler: Any = None
            self.loader = DataLoader(self.dataset, batch_size=batch_size, drop_last=drop_last, **common)
        elif batch_sampler is not None:
            if shuffle or sampler is not None or drop_last or batch_size not in (1, None):
                raise ValueError("batch_sampler makes the batches: drop batch_size, shuffle, sampler and drop_last")
            self.dataset = AugmentedDataset(dataset, pipeline, fields, with_index=True, batched=batched)
            self.batch_sampler = KeyedBatchSampler(batch_sampler)
            self.sampler = self.batch_sampler
            self.loader = DataLoader(self.dataset, batch_sampler=self.batch_sampler, **common)
        else:
            self.sampler = KeyedSampler(sampler, length=len(dataset), shuffle=shuffle,
                                        seed=pipeline.seed if seed is None else seed)
            self.dataset = AugmentedDataset(dataset, pipeline, fields, with_index=True, batched=batched)
            self.loader = DataLoader(self.dataset, batch_size=batch_size, sampler=self.sampler, drop_last=drop_last,
                                     **common)
        self._passes: set[int] = set()
        self._warned = False

    @property
    def epoch(self) -> int:
        """The epoch the next pass is keyed by."""
        return (self.dataset if self.iterable else self.sampler).epoch

    def set_epoch(self, epoch: int) -> None:
        """Key the next pass by ``epoch`` (and pass it on to a distributed sampler)."""
        (self.dataset if self.iterable else self.sampler).set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self) -> Iterator[Any]:
        epoch = self.epoch
        if epoch in self._passes and not self._warned:
            self._warned = True
            warnings.warn(f"this loader was already iterated in epoch {epoch}: the noise repeats the previous pass; "
                          "call loader.set_epoch(e) (or loader.sampler.set_epoch(e), as Lightning does) before each "
                          "epoch", EpochRepeatWarning, stacklevel=2)
        self._passes.add(epoch)
        for data, keys, numpy_parts in self.loader:
            if self.device is not None:
                data = _to_device(data, self.device)
            if self.pipeline.batch:
                data = self._batch_stage(data, keys, numpy_parts)
            yield data

    def _targets(self, data: Any) -> Any:
        """The targets for adversarial steps: a tuple position or dict key of the batch."""
        if self.targets is None or isinstance(self.targets, torch.Tensor):
            return self.targets
        return data[self.targets]

    def _batch_stage(self, data: Any, keys: torch.Tensor, numpy_parts: Any = None) -> Any:
        """The batch stage on a collated batch keyed by its samples' ``(epoch, index,
        occurrence)``; ``numpy_parts`` says which parts were numpy in the sample stage (numpy
        images collate to channels-last batches: the batch stage is told)."""
        epochs = keys[:, 0]
        if len(keys) and not bool((epochs == epochs[0]).all()):
            raise InputError("a batch mixes samples of different epochs: the sampler changed epoch mid-batch")
        epoch = int(epochs[0]) if len(keys) else self.epoch
        indices, occ = keys[:, 1].numpy(), keys[:, 2].numpy()
        primary = self.dataset.primary
        kw = {"model": self.model, "targets": self._targets(data) if not isinstance(data, torch.Tensor) else None,
              "loss_fn": self.loss_fn, "epoch": epoch, "occurrence": occ}
        if isinstance(data, torch.Tensor):
            types = {primary: "numpy"} if numpy_parts is True else {}
            return self.pipeline.apply_batch({primary: data}, indices, item_types=types, **kw)[primary]
        if isinstance(data, (list, tuple)):
            names = self.dataset.items.tuple_names(len(data))
            fields = {n: v for n, v in zip(names, data) if n is not None}
            types = {n: "numpy" for i, n in enumerate(names) if n is not None and i in (numpy_parts or ())}
            out = self.pipeline.apply_batch(fields, indices, item_types=types, **kw)
            return type(data)(v if n is None else out[n] for n, v in zip(names, data))
        if isinstance(data, dict):
            mapping = dict(self.fields) if self.fields is not None else {k: k for k in data}
            fields = {mapping.get(k, k): v for k, v in data.items()}
            types = {mapping.get(k, k): "numpy" for k in data if k in (numpy_parts or ())}
            out = self.pipeline.apply_batch(fields, indices, item_types=types, **kw)
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


def make_loader(dataset: Any, pipeline: Pipeline, batch_size: int | None = 1, shuffle: bool = False,
                num_workers: int = 0, seed: int | None = None, device: Any = None, **kwargs: Any) -> AugmentedLoader:
    """A DataLoader for ``dataset`` with ``pipeline`` wired in: the sample stage runs in the
    workers keyed by ``(seed, epoch, index, occurrence)`` (shuffle order keyed by ``seed`` and
    the epoch), batches move to ``device`` (pinned memory for CUDA) and the batch stage runs
    there. Other keyword arguments go to :class:`AugmentedLoader` /
    ``torch.utils.data.DataLoader`` (``fields``, ``sampler``, ``batch_sampler``,
    ``collate_fn``, ``persistent_workers``, ``drop_last``, ...); adversarial batch steps take
    ``model=`` and ``targets=`` (the batch's tuple position or dict key of the labels)."""
    return AugmentedLoader(dataset, pipeline, batch_size=batch_size, shuffle=shuffle, num_workers=num_workers,
                           seed=seed, device=device, **kwargs)
