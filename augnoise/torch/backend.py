"""The array adapter for torch tensors (found by :mod:`augnoise.core.arrays` through
augnoise._plugins): CPU tensors are viewed as numpy without a copy, so numba kernels run on
their memory; rows are taken and put on the tensor's device."""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

_NUMPY_OK = {torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64, torch.float16, torch.float32,
             torch.float64, torch.bool, torch.uint16, torch.uint32, torch.uint64}


class TorchAdapter:
    def matches(self, x: Any) -> bool:
        return isinstance(x, torch.Tensor)

    def numpy_view(self, x: torch.Tensor) -> np.ndarray | None:
        if x.device.type != "cpu" or x.dtype not in _NUMPY_OK or x.is_sparse or x.is_quantized or x.is_nested:
            return None
        t = x.detach()
        if not t.is_contiguous():
            t = t.contiguous()
        if t.is_conj() or t.is_neg():
            t = t.resolve_conj().resolve_neg()
        return t.numpy()

    def from_numpy(self, y: np.ndarray, like: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(y))

    def take(self, x: torch.Tensor, sel: np.ndarray) -> torch.Tensor:
        return x[torch.as_tensor(sel, device=x.device)]

    def put(self, x: torch.Tensor, sel: np.ndarray, y: torch.Tensor) -> torch.Tensor:
        out = x.clone()
        out[torch.as_tensor(sel, device=x.device)] = y
        return out

    def stack(self, xs: list[torch.Tensor]) -> torch.Tensor:
        return torch.stack(xs)

    def finite_range(self, x: torch.Tensor) -> tuple[int, float, float]:
        """``(count of NaN/inf values, min, max)`` in one fused reduction: ``torch.aminmax``
        propagates NaN and keeps inf, so one pass and one host sync tell whether every value is
        finite; the count (a second pass) is taken only when one is not. ``(0, 0.0, 0.0)`` when
        empty."""
        if x.numel() == 0:
            return 0, 0.0, 0.0
        t = x.detach()
        lo, hi = torch.stack(torch.aminmax(t)).tolist()  # one reduction, one host sync
        if math.isfinite(lo) and math.isfinite(hi):
            return 0, float(lo), float(hi)
        return int((~torch.isfinite(t)).sum()), float(lo), float(hi)

    def describe(self, x: torch.Tensor) -> str:
        return f"{x.dtype} {tuple(x.shape)} on {x.device}"


ADAPTER = TorchAdapter()
