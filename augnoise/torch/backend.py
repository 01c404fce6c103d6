"""The array adapter for torch tensors (found by :mod:`augnoise.core.arrays` through
augnoise._plugins): CPU tensors are viewed as numpy without a copy, so numba kernels run on
their memory; rows are taken and put on the tensor's device."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

_NUMPY_OK = {torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64, torch.float16, torch.float32,
             torch.float64, torch.bool, torch.uint16, torch.uint32, torch.uint64}


class TorchAdapter:
    def matches(self, x: Any) -> bool:
        return isinstance(x, torch.Tensor)

    def numpy_view(self, x: torch.Tensor) -> np.ndarray | None:
        if x.device.type != "cpu" or x.dtype not in _NUMPY_OK or x.is_sparse or x.is_quantized:
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
        finite = torch.isfinite(x)
        bad = int((~finite).sum())
        if bad or x.numel() == 0:
            return bad, 0.0, 0.0
        return 0, float(x.min()), float(x.max())

    def describe(self, x: torch.Tensor) -> str:
        return f"{x.dtype} {tuple(x.shape)} on {x.device}"


ADAPTER = TorchAdapter()
