"""Kernels registered per transform and backend, as torchvision v2 registers kernels per input
type. ``numpy`` kernels (numba) take numpy arrays, and CPU tensors through a zero-copy view;
``torch`` kernels take tensors on any device. Every kernel is batched: it receives the samples
stacked on a leading axis and one value per sample for every drawn parameter.

    @kernel(GaussianNoise, "numpy")
    def gaussian(t, x, params, ctx): ...   # x: (B, ...), params: {"std": (B,), "key": (B,), ...}
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .arrays import adapter_by_name, adapter_for, like, numpy_view
from .errors import InputError

Kernel = Callable[[Any, Any, dict[str, Any], Any], Any]
BACKENDS = ("numpy", "torch")
_KERNELS: dict[type, dict[str, Kernel]] = {}


def kernel(cls: type, backend: str) -> Callable[[Kernel], Kernel]:
    """Register the decorated function as ``cls``'s kernel for ``backend``."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r} (known: {', '.join(BACKENDS)})")

    def register(fn: Kernel) -> Kernel:
        _KERNELS.setdefault(cls, {})[backend] = fn
        _RESOLVED.clear()
        return fn

    return register


_RESOLVED: dict[tuple[type, str], Kernel | None] = {}


def kernel_for(cls: type, backend: str) -> Kernel | None:
    """``cls``'s kernel for ``backend`` (inherited from a base class if it has none itself)."""
    key = (cls, backend)
    if key in _RESOLVED:
        return _RESOLVED[key]
    fn = None
    for c in cls.__mro__:
        fn = _KERNELS.get(c, {}).get(backend)
        if fn is not None:
            break
    _RESOLVED[key] = fn
    return fn


def backends(cls: type) -> list[str]:
    """The backends ``cls`` has kernels for."""
    return [b for b in BACKENDS if kernel_for(cls, b) is not None]


def run_kernel(step: Any, x: Any, params: dict[str, Any], ctx: Any) -> Any:
    """Run ``step``'s kernel on a batch ``x``: the numpy kernel for numpy arrays and CPU
    tensors (zero-copy), the torch kernel for other tensors (or when there is no numpy one)."""
    cls = type(step)
    if isinstance(x, np.ndarray):  # the common case first
        fn = _RESOLVED.get((cls, "numpy")) or kernel_for(cls, "numpy")
        if fn is not None:
            return fn(step, x, params, ctx)
    view = numpy_view(x)
    if view is not None:
        fn = kernel_for(cls, "numpy")
        if fn is not None:
            return like(fn(step, view, params, ctx), x)
        if isinstance(x, np.ndarray):
            fn = kernel_for(cls, "torch")
            ad = adapter_by_name("torch") if fn is not None else None
            if ad is not None:  # a torch-only step on numpy data: through a CPU tensor, no copy
                out = fn(step, ad.from_numpy(x, None), params, ctx)
                view = ad.numpy_view(out) if ad.matches(out) else None
                return view if view is not None else out
            raise InputError(f"has no kernel for numpy arrays (backends: {', '.join(backends(cls)) or 'none'})")
    fn = kernel_for(cls, "torch")
    if fn is None or adapter_for(x) is None:
        where = f"{type(x).__module__}.{type(x).__name__}"
        raise InputError(f"cannot run on {where} data here (it has kernels for: {', '.join(backends(cls)) or 'none'})")
    return fn(step, x, params, ctx)


def col(v: Any, dtype: Any = np.float64) -> np.ndarray:
    """A drawn parameter as a 1-D array (one value per sample; a scalar becomes one value),
    writable (a read-only view, e.g. a broadcast, is copied: torch cannot take it without a
    warning)."""
    a = np.asarray(v, dtype=dtype).reshape(-1)
    return a if a.flags.writeable else a.copy()
