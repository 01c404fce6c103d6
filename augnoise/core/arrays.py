"""Arrays other than numpy (torch tensors) through adapters, so the core imports no framework.

An adapter is found by the top-level module of the array's type and loaded on first use
(:mod:`augnoise._plugins`). It says how to view an array as numpy without copying (CPU
tensors: numba kernels then run on the same memory), how to wrap a numpy result back, and how
to take and put rows (the samples of a batch) on the array's device."""
from __future__ import annotations

import importlib
from typing import Any, Protocol

import numpy as np


class Adapter(Protocol):  # pragma: no cover - a protocol
    def numpy_view(self, x: Any) -> np.ndarray | None: ...
    def from_numpy(self, y: np.ndarray, like: Any) -> Any: ...
    def take(self, x: Any, sel: np.ndarray) -> Any: ...
    def put(self, x: Any, sel: np.ndarray, y: Any) -> Any: ...
    def stack(self, xs: list[Any]) -> Any: ...
    def describe(self, x: Any) -> str: ...


_ADAPTERS: dict[str, Any] = {}


def adapter_by_name(root: str) -> Any | None:
    """The adapter for arrays of top-level module ``root`` (e.g. "torch"), loaded on first use."""
    ad = _ADAPTERS.get(root)
    if ad is None:
        from .. import _plugins

        mod = _plugins.adapter_module(root)
        if mod is None:
            return None
        ad = _ADAPTERS[root] = importlib.import_module(mod).ADAPTER
    return ad


def adapter_for(x: Any) -> Any | None:
    """The adapter of ``x``'s array type, or None (not an array augnoise knows)."""
    ad = adapter_by_name(type(x).__module__.split(".", 1)[0])
    return ad if ad is not None and ad.matches(x) else None


def is_array(x: Any) -> bool:
    """A numpy array or an array type with an adapter (a torch tensor)."""
    return isinstance(x, np.ndarray) or adapter_for(x) is not None


def numpy_view(x: Any) -> np.ndarray | None:
    """``x`` as a numpy array without a copy when possible (numpy, CPU tensors), else None."""
    if isinstance(x, np.ndarray):
        return x
    ad = adapter_for(x)
    return ad.numpy_view(x) if ad is not None else None


def like(y: np.ndarray, original: Any) -> Any:
    """``y`` as the array type of ``original`` (a numpy result for a tensor input)."""
    if isinstance(original, np.ndarray) or not isinstance(y, np.ndarray):
        return y
    ad = adapter_for(original)
    return ad.from_numpy(y, original) if ad is not None else y


def take_rows(x: Any, sel: np.ndarray) -> Any:
    """Rows ``sel`` of a batch."""
    if isinstance(x, np.ndarray):
        return x[sel]
    return adapter_for(x).take(x, sel)


def put_rows(x: Any, sel: np.ndarray, y: Any) -> Any:
    """A copy of batch ``x`` with rows ``sel`` replaced by ``y``."""
    if isinstance(x, np.ndarray):
        out = x.copy()
        out[sel] = y
        return out
    return adapter_for(x).put(x, sel, y)


def describe(x: Any) -> str:
    """``"uint8 (8, 32, 32, 3)"``-style text for messages."""
    if isinstance(x, np.ndarray):
        return f"{x.dtype} {tuple(x.shape)}"
    ad = adapter_for(x)
    return ad.describe(x) if ad is not None else type(x).__name__
