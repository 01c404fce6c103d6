"""Sample keys on their way from a sampler to the code that draws noise.

A key is ``(epoch, index, occurrence)``. Samplers (:class:`~augnoise.torch.KeyedSampler`) put
it next to each index; datasets that receive it make it *current* for the duration of one
``dataset[key]`` call (:func:`keyed`), so a transform called deep inside someone else's
``__getitem__`` (a torchvision-style ``Compose``, a HuggingFace ``set_transform``) knows which
sample it sees without any argument (:func:`current_keys`). Context variables are per thread
and per process, so DataLoader workers and threads never see each other's keys.
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Iterator, Sequence

import numpy as np

Key = tuple  # (epoch, index, occurrence), three non-negative ints

_CURRENT: ContextVar[tuple[Key, ...] | None] = ContextVar("augnoise_keys", default=None)


def _int(v: Any, what: str) -> int:
    if hasattr(v, "item") and getattr(v, "ndim", 1) == 0:
        v = v.item()
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
        raise TypeError(f"a sample key's {what} must be a non-negative integer, got {v!r}")
    return int(v)


def normalise_key(key: Any, epoch: int = 0) -> Key:
    """``(epoch, index, occurrence)`` from a key as samplers yield it: a plain index (keyed by
    ``epoch``, occurrence 0), ``(epoch, index)`` or ``(epoch, index, occurrence)``."""
    if isinstance(key, (tuple, list)):
        if len(key) == 2:
            return _int(key[0], "epoch"), _int(key[1], "index"), 0
        if len(key) == 3:
            return _int(key[0], "epoch"), _int(key[1], "index"), _int(key[2], "occurrence")
        raise TypeError(f"a sample key is an index, (epoch, index) or (epoch, index, occurrence), got {key!r}")
    return int(epoch), _int(key, "index"), 0


@contextmanager
def keyed(keys: Sequence[Key]) -> Iterator[None]:
    """Make ``keys`` (one per sample being loaded, in order) current inside the block."""
    token = _CURRENT.set(tuple(keys))
    try:
        yield
    finally:
        _CURRENT.reset(token)


def current_keys() -> tuple[Key, ...] | None:
    """The keys of the samples being loaded (see :func:`keyed`), or None outside any."""
    return _CURRENT.get()
