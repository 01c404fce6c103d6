"""Target and GAN noise as pipeline steps: label smoothing, label flips, instance noise."""
from __future__ import annotations

from typing import Any, Literal, Optional

import numpy as np
from pydantic import Field

from ..core.errors import InputError
from ..core.params import BaseParams, RangeParam, draw
from ..core.transform import DEFAULT_FIELDS, Transform

DEFAULT_FIELDS.setdefault("labels", "label")
DEFAULT_FIELDS.setdefault("gan", "image")


def _label(data: Any, classes: int) -> int:
    arr = np.asarray(data)
    if arr.ndim != 0 or arr.dtype.kind not in "iu":
        raise InputError(f"label must be one integer class index, got {data!r}")
    k = int(arr)
    if not 0 <= k < classes:
        raise InputError(f"label {k} is outside [0, {classes})")
    return k


class _LabelStep(Transform):
    """A step on a class index (field ``label``), in either stage."""

    modality = "labels"
    batch_capable = True

    def check(self, data: Any) -> int:
        return _label(data, self.params.classes)


class LabelSmoothing(_LabelStep):
    """Soft targets as in the seed: ``1 - eps`` on the true class and ``eps / (k - 1)`` on each
    other class (the row sums to 1). Turns a class index into a float32 vector of ``classes``."""

    name = "labels.LabelSmoothing"
    batch_draws = ("eps",)

    class Params(BaseParams):
        classes: int = Field(..., ge=2, description="number of classes k")
        eps: RangeParam(ge=0, le=1) = Field(0.1, description="probability mass moved off the true class")

    def make_params(self, data: Any, rng: np.random.Generator) -> dict[str, Any]:
        return {"eps": draw(self.params.eps, rng)}

    def apply(self, data: int, params: dict[str, Any], rng: np.random.Generator) -> np.ndarray:
        k = self.params.classes
        out = np.full(k, params["eps"] / (k - 1), np.float32)
        out[data] = 1.0 - params["eps"]
        return out


class LabelFlip(_LabelStep):
    """Random label noise: with probability ``rate`` the label becomes another class, drawn
    uniformly among the ``classes - 1`` others."""

    name = "labels.LabelFlip"
    batch_draws = ("rate",)

    class Params(BaseParams):
        classes: int = Field(..., ge=2, description="number of classes k")
        rate: RangeParam(ge=0, le=1) = Field(0.1, description="probability that a label is flipped")

    def make_params(self, data: Any, rng: np.random.Generator) -> dict[str, Any]:
        rate = draw(self.params.rate, rng)
        return {"rate": rate, "flip": bool(rng.random() < rate), "offset": int(rng.integers(1, self.params.classes))}

    def apply(self, data: int, params: dict[str, Any], rng: np.random.Generator) -> Any:
        return np.int64((data + params["offset"]) % self.params.classes if params["flip"] else data)


class InstanceNoise(Transform):
    """Instance noise for GAN discriminators (Sonderby et al. 2017): Gaussian noise on the real
    and generated batches alike, with a std annealed from ``std[0]`` at epoch 0 to ``std[1]`` at
    ``epochs`` (linear or cosine), constant after. Batch stage only (it needs the epoch)."""

    name = "gan.InstanceNoise"
    modality = "gan"
    batch_capable = True
    batch_only = "needs the epoch: it runs in the batch stage only (move it under batch:)"

    class Params(BaseParams):
        std: list[float] = Field([0.1, 0.0], description="[start, end] std of the schedule, in data units")
        epochs: int = Field(10, ge=1, description="epochs over which the std is annealed")
        schedule: Literal["linear", "cosine"] = Field("linear", description="shape of the annealing")
        valid_range: Optional[list[float]] = Field(None, description="clip the result into [lo, hi] (default: no clipping)")

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        s = self.params.std
        if len(s) != 2 or min(s) < 0:
            from ..core.errors import ParamError

            raise ParamError(self.name, [("std", f"must be [start, end] with both >= 0, got {s}")])

    def std_at(self, epoch: int) -> float:
        start, end = self.params.std
        t = min(max(epoch, 0) / self.params.epochs, 1.0)
        if t >= 1.0:
            return float(end)
        if self.params.schedule == "cosine":
            t = 0.5 - 0.5 * np.cos(np.pi * t)
        return float(start + (end - start) * t)

    def __call__(self, sample: Any, rng: np.random.Generator, trace: list | None = None) -> Any:
        raise InputError(self.batch_only)
