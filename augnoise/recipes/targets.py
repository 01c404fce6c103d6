"""Target and GAN noise as pipeline steps: label smoothing, label flips, instance noise."""
from __future__ import annotations

from typing import Any, Literal, Optional

import numpy as np
from pydantic import Field

from ..core.errors import InputError
from ..core.kernels import col, kernel
from ..core.params import BaseParams, Count, FloatList, Interval, RangeParam
from ..core.transform import Example, Transform

#: most classes a label step accepts: a LabelSmoothing row is then at most 64 MiB of float32
#: per sample (128 MiB of float64 while it is built), and every class index fits int64
MAX_CLASSES = 2**24
_CLASSES_WHY = "2**24: a smoothed float32 row of that many classes is 64 MiB per sample"
_FLIP_WHY = "2**24, the bound of every label step"


def _check_labels(x: Any, classes: int, batched: bool) -> Any:
    import numpy as np

    arr = x if hasattr(x, "dtype") and hasattr(x, "shape") else np.asarray(x)
    kind = str(arr.dtype).replace("torch.", "")
    want = 1 if batched else 0
    if len(arr.shape) != want or not (kind.startswith("int") or kind.startswith("uint")):
        what = "a 1-D integer array of class indices" if batched else "one integer class index"
        raise InputError(f"labels must be {what}, got {x!r}" if not batched else
                         f"labels must be {what}, got {kind} {tuple(arr.shape)}")
    if int(np.prod(arr.shape)):
        lo, hi = int(arr.min()), int(arr.max())
        if lo < 0 or hi >= classes:
            raise InputError(f"label {lo if lo < 0 else hi} is outside [0, {classes})")
    return arr


def _labels_example() -> dict[str, Any]:
    return {"label": np.int64(3), "image": np.zeros((2, 2), np.uint8)}


class _LabelStep(Transform):
    """A step on a class index (field ``label``), in either stage."""

    modality = "labels"
    default_field = "label"

    def check(self, x: Any, batched: bool = False, ctx: Any = None) -> Any:
        return _check_labels(x, self.params.classes, batched)


class LabelSmoothing(_LabelStep):
    """Soft targets as in the seed: ``1 - eps`` on the true class and ``eps / (k - 1)`` on each
    other class (the row sums to 1). Turns a class index into a float32 vector of ``classes``;
    a sample the probability test skips gets the plain one-hot vector."""

    name = "labels.LabelSmoothing"
    changes_type = True

    class Params(BaseParams):
        classes: Count(ge=2, le=MAX_CLASSES, why=_CLASSES_WHY) = Field(..., description="number of classes k (2 to 2**24)")
        eps: RangeParam(ge=0, le=1) = Field(0.1, description="probability mass moved off the true class")

    examples = (
        Example({"classes": 10, "eps": [0.1, 0.3]}, _labels_example),
        Example({"classes": 5, "eps": 0.2, "p": 0.5}, _labels_example, strong=False),
    )

    def draw(self, r: Any) -> dict[str, Any]:
        return {"eps": r.value(self.params.eps)}

    def neutral(self, params: dict[str, Any], skipped: Any) -> dict[str, Any]:
        return {**params, "eps": params["eps"] * (1 - skipped)}


class LabelFlip(_LabelStep):
    """Random label noise: with probability ``rate`` the label becomes another class, drawn
    uniformly among the ``classes - 1`` others."""

    name = "labels.LabelFlip"

    class Params(BaseParams):
        classes: Count(ge=2, le=MAX_CLASSES, why=_FLIP_WHY) = Field(..., description="number of classes k (2 to 2**24)")
        rate: RangeParam(ge=0, le=1) = Field(0.1, description="probability that a label is flipped")

    examples = (
        Example({"classes": 10, "rate": 0.5}, _labels_example, strong=False),
        Example({"classes": 4, "rate": [0.2, 0.9], "p": 0.8}, _labels_example, strong=False),
    )

    def draw(self, r: Any) -> dict[str, Any]:
        rate = r.value(self.params.rate)
        return {"rate": rate, "flip": r.random() < rate, "offset": 1 + r.integers(self.params.classes - 1)}


@kernel(LabelSmoothing, "numpy")
def _smooth_np(t: LabelSmoothing, x: np.ndarray, params: dict[str, Any], ctx: Any) -> np.ndarray:
    k = t.params.classes
    eps = col(params["eps"])[:, None]
    one = np.zeros((x.shape[0], k), np.float64)
    one[np.arange(x.shape[0]), x.astype(np.int64)] = 1.0
    return (one * (1.0 - eps) + (1.0 - one) * eps / (k - 1)).astype(np.float32)


@kernel(LabelSmoothing, "torch")
def _smooth_torch(t: LabelSmoothing, x: Any, params: dict[str, Any], ctx: Any) -> Any:
    import torch

    k = t.params.classes
    eps = torch.from_numpy(col(params["eps"])).to(x.device)[:, None]
    one = torch.nn.functional.one_hot(x.long(), k).to(torch.float64)
    return (one * (1.0 - eps) + (1.0 - one) * eps / (k - 1)).to(torch.float32)


@kernel(LabelFlip, "numpy")
def _flip_np(t: LabelFlip, x: np.ndarray, params: dict[str, Any], ctx: Any) -> np.ndarray:
    flip = col(params["flip"], bool)
    offset = col(params["offset"], np.int64)
    return np.where(flip, (x.astype(np.int64) + offset) % t.params.classes, x).astype(x.dtype)


@kernel(LabelFlip, "torch")
def _flip_torch(t: LabelFlip, x: Any, params: dict[str, Any], ctx: Any) -> Any:
    import torch

    flip = torch.from_numpy(col(params["flip"], bool)).to(x.device)
    offset = torch.from_numpy(col(params["offset"], np.int64)).to(x.device)
    return torch.where(flip, (x.long() + offset) % t.params.classes, x.long()).to(x.dtype)


class InstanceNoise(Transform):
    """Instance noise for GAN discriminators (Sonderby et al. 2017): Gaussian noise on the real
    and generated batches alike, with a std annealed from ``std[0]`` at epoch 0 to ``std[1]`` at
    ``epochs`` (linear or cosine), constant after. Batch stage only (it needs the epoch)."""

    name = "gan.InstanceNoise"
    modality = "gan"
    default_field = "image"
    field_conventions = frozenset({"layout"})  # elementwise: any layout; std in the batch's own units
    batch_only = "needs the epoch: it runs in the batch stage only (move it under batch:)"

    class Params(BaseParams):
        std: FloatList(length=2, ge=0, names=("start", "end")) = Field(
            [0.1, 0.0], description="[start, end] std of the schedule, in data units (finite, >= 0)")
        epochs: Count(ge=1, le=10**9) = Field(10, description="epochs over which the std is annealed (1 to 10**9)")
        schedule: Literal["linear", "cosine"] = Field("linear", description="shape of the annealing")
        valid_range: Optional[Interval()] = Field(
            None, description="clip the result into [lo, hi], lo < hi (default: no clipping)")

    def check(self, x: Any, batched: bool = False, ctx: Any = None) -> Any:
        """A float batch of finite values (NaN or inf would pass through the noise unnoticed)."""
        if type(x).__module__.startswith("torch"):
            import torch

            if not torch.is_floating_point(x):
                raise InputError(f"instance noise needs a float batch, got {x.dtype}")
            bad = int((~torch.isfinite(x)).sum())
        else:
            arr = np.asarray(x)
            if arr.dtype.kind != "f":
                raise InputError(f"instance noise needs a float batch, got {arr.dtype}")
            bad = int((~np.isfinite(arr)).sum())
        if bad:
            raise InputError(f"the batch holds {bad} NaN or inf value(s); instance noise needs finite data")
        return x

    def std_at(self, epoch: int) -> float:
        start, end = self.params.std
        t = min(max(epoch, 0) / self.params.epochs, 1.0)
        if t >= 1.0:
            return float(end)
        if self.params.schedule == "cosine":
            t = 0.5 - 0.5 * np.cos(np.pi * t)
        return float(start + (end - start) * t)

    examples = (
        Example({"std": [0.3, 0.1], "epochs": 4}, lambda: {"image": np.full((3, 4, 4), 0.5, np.float32)}),
        Example({"std": [0.2, 0.2], "valid_range": [0.0, 1.0]}, lambda: {"image": np.full((2, 5), 0.5, np.float32)}),
    )

    def draw(self, r: Any) -> dict[str, Any]:
        return {"key": r.key()}


@kernel(InstanceNoise, "torch")
def _instance_noise(t: InstanceNoise, x: Any, params: dict[str, Any], ctx: Any) -> Any:
    import torch

    from ..torch import philox

    if not torch.is_floating_point(x):
        raise InputError(f"instance noise needs a float batch, got {x.dtype}")
    std = t.std_at(int(ctx.epoch))
    top = torch.finfo(x.dtype).max
    if std * 8 > top / 2:  # normals reach about 6.7: x + std * z would overflow this dtype
        raise InputError(f"std {std:g} is too large for a {str(x.dtype).replace('torch.', '')} batch "
                         f"(largest value {top:g})")
    vr = t.params.valid_range
    if vr is not None and max(abs(vr[0]), abs(vr[1])) > top:
        raise InputError(f"valid_range {vr} does not fit a {str(x.dtype).replace('torch.', '')} batch "
                         f"(largest value {top:g})")
    n = int(np.prod(x.shape[1:]))
    z = philox.normals(philox.keys_tensor(params["key"], x.device), n).reshape(x.shape).to(x.dtype)
    y = x + std * z
    return y.clamp(vr[0], vr[1]) if vr is not None else y
