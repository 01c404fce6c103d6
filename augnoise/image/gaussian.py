"""image.GaussianNoise: additive Gaussian noise with exact std and unbiased rounding."""
from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field

from ..core.errors import InputError
from ..core.params import BaseParams, RangeParam, draw
from . import kernels
from .base import ImageTransform


class GaussianNoise(ImageTransform):
    """Add Gaussian noise; ``std`` and ``mean`` are fractions of the full range for every dtype.

    ``std: 0.1`` is 25.5 levels on uint8, 6553.5 on uint16 and 0.1 on float32. A ``[lo, hi]``
    range is sampled once per call. Integer images are rounded to nearest (no truncation bias,
    so the measured std matches the requested one) and saturated; float images are clipped to
    [0, 1] unless ``clip: false``. ``per_channel: false`` adds the same noise value to every
    channel of a pixel (luminance-like noise). Every call draws fresh noise.
    """

    name = "image.GaussianNoise"
    batch_capable = True
    batch_draws = ("std", "mean")
    check_float_range = False  # the fused kernel checks NaN/inf and [0, 1] in its one pass

    class Params(BaseParams):
        std: RangeParam(ge=0, le=1, unit="fraction of full range") = Field(0.05, description="noise std, fraction of the full range")
        mean: RangeParam(ge=-1, le=1, unit="fraction of full range") = Field(0.0, description="noise mean, fraction of the full range")
        per_channel: bool = Field(True, description="independent noise per channel (false: shared across channels)")
        clip: bool = Field(True, description="clip float images to [0, 1] (integer images always saturate)")

    def make_params(self, data: np.ndarray, rng: np.random.Generator) -> dict[str, Any]:
        return {
            "std": draw(self.params.std, rng),
            "mean": draw(self.params.mean, rng),
            "key": int(rng.integers(0, 2**64, dtype=np.uint64)),
        }

    def apply(self, data: np.ndarray, params: dict[str, Any], rng: np.random.Generator) -> np.ndarray:
        try:
            return kernels.gaussian_noise(
                data, params["std"], params["mean"], self.params.per_channel, params["key"], self.params.clip
            )
        except ValueError as err:
            raise InputError(str(err)) from None

    def apply_many(self, samples: list[dict[str, Any]], rngs: list[Any]) -> list[dict[str, Any]]:
        """Vectorised over samples: integer images of one shape and dtype go through a single
        kernel call; everything else (and the probability test) exactly as one call each."""
        field = self.field
        outs = [dict(s) for s in samples]
        todo: dict[tuple, list[tuple[int, np.ndarray, dict[str, Any]]]] = {}
        for b, (s, rng) in enumerate(zip(samples, rngs)):
            if field not in s:
                return [self(x, r) for x, r in zip(samples, rngs)]  # the per-sample path reports it
            if self.p < 1.0 and rng.random() >= self.p:
                continue
            data = self.check(s[field])
            params = self.make_params(data, rng)
            if data.dtype in kernels.INT_MAX:
                todo.setdefault((data.shape, data.dtype), []).append((b, data, params))
            else:
                outs[b][field] = self.apply(data, params, rng)
        for group in todo.values():
            stack = kernels.gaussian_noise_many(
                np.stack([d for _, d, _ in group]), np.array([p["std"] for _, _, p in group]),
                np.array([p["mean"] for _, _, p in group]), [p["key"] for _, _, p in group], self.params.per_channel)
            for (b, _, _), y in zip(group, stack):
                outs[b][field] = y
        return outs
