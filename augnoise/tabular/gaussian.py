"""tabular.GaussianNoise: additive noise scaled by each column's std."""
from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field

from ..core.params import RangeParam, draw
from . import kernels
from .base import Resolved, TabularParams, TabularTransform
from .frame import Table


class GaussianNoise(TabularTransform):
    """Add Gaussian noise of ``scale`` times each column's std (fitted, or of the batch).

    Continuous columns get the noise; integer columns get it rounded (half to even); binary and
    categorical columns are untouched. Declared bounds are respected (values clipped into them).
    NaN cells stay NaN; a constant or all-NaN column (std 0) gets no noise.
    """

    name = "tabular.GaussianNoise"

    class Params(TabularParams):
        scale: RangeParam(ge=0, le=100, unit="column stds") = Field(0.1, description="noise std as a multiple of each column's std")

    def make_params(self, data: Table, rng: np.random.Generator) -> dict[str, Any]:
        return {"scale": draw(self.params.scale, rng), **super().make_params(data, rng)}

    def corrupt(self, t: Table, r: Resolved, params: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        assert r.stats is not None
        kinds = r.stats.kind_array()
        noisy = r.enabled & np.isin(kinds, ("continuous", "integer"))
        sigma = np.where(noisy, params["scale"] * r.stats.std, 0.0)
        is_int = kinds == "integer"
        lo = np.where(is_int, np.ceil(r.lo), r.lo)
        hi = np.where(is_int, np.floor(r.hi), r.hi)
        y = kernels.gaussian_noise(t.x, sigma, is_int, lo, hi, params["key"])
        mask = (sigma > 0)[None, :] & ~np.isnan(t.x)
        return y, np.broadcast_to(mask, t.x.shape).copy()
