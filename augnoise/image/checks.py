"""Validation of image inputs: one clear sentence per problem (see :mod:`.layout`, which does
the full job with the call's declarations; this is the quick test a step makes before it
draws).

Both stages run the same checks: the sample stage on one image, the batch stage on the batch
(samples on axis 0), numpy arrays and tensors alike, so an input one stage refuses the other
refuses too, with the same sentence."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..core.arrays import adapter_for, is_array
from ..core.errors import InputError


def tensor_problem(x: Any, what: str) -> str:
    """Why the tensor ``x`` holds no values a kernel can read ('' if it does, and for numpy
    arrays): sparse, nested or otherwise non-strided tensors and tensors on the ``meta``
    device. ``what`` names the input ("image", "audio")."""
    if isinstance(x, np.ndarray):
        return ""
    if getattr(x, "is_nested", False):
        return f"{what} must be a dense tensor, got a nested tensor"
    layout = getattr(x, "layout", None)
    if layout is not None and str(layout) != "torch.strided":
        return f"{what} must be a dense (strided) tensor, got layout {str(layout).replace('torch.', '')}"
    device = getattr(x, "device", None)
    if getattr(device, "type", "") == "meta":
        return f"{what} is a tensor on the meta device, which holds no values"
    return ""


def finite_range(x: Any) -> tuple[int, float, float]:
    """``(count of NaN/inf values, min, max)`` through the array's adapter (for tensors one fused
    ``torch.aminmax`` pass and one host sync, see ``TorchAdapter.finite_range``)."""
    return adapter_for(x).finite_range(x)


def check_image(x: Any, *, batched: bool = False) -> Any:
    """Check that ``x`` is an array (numpy, or a dense tensor with values through its
    adapter); everything else (dtype, layout, channels, domain) is checked by
    :func:`augnoise.image.layout.image_batch`, in both stages."""
    if not isinstance(x, np.ndarray) and not is_array(x):
        raise InputError(f"image must be a numpy array or a tensor, got {type(x).__name__}")
    problem = tensor_problem(x, "image")
    if problem:
        raise InputError(problem)
    return x
