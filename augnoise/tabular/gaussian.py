"""tabular.GaussianNoise: additive noise scaled by each column's std."""
from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field

from ..core.params import RangeParam
from ..core.transform import Example
from . import kernels
from .base import Resolved, TabularParams, TabularTransform, example_table, fit_example


class GaussianNoise(TabularTransform):
    """Add Gaussian noise of ``scale`` times each column's std (fitted, or of the batch).

    Continuous columns get the noise; integer columns get it rounded (half to even); binary and
    categorical columns are untouched. Declared bounds are respected (values clipped into them).
    NaN cells stay NaN; a constant or all-NaN column (std 0) gets no noise; cells without noise
    keep their exact bytes. Integer tables (int8..uint64) are computed exactly and saturate at
    the dtype's range; float sums beyond the dtype's finite range saturate at its largest value,
    and a noise std that would overflow is refused. float16 is computed in float32.
    """

    name = "tabular.GaussianNoise"

    class Params(TabularParams):
        scale: RangeParam(ge=0, le=100, unit="column stds") = Field(0.1, description="noise std as a multiple of each column's std")

    examples = (
        Example({"scale": 0.5}, example_table("row"), prepare=fit_example),
        Example({"scale": [0.1, 1.0], "stats": "batch", "mask_field": "mask"}, example_table("table")),
        Example({"scale": 1.0, "columns": [0, 3], "p": 0.7}, example_table("row", np.int64), prepare=fit_example),
    )

    def draw(self, r: Any) -> dict[str, Any]:
        return {"scale": r.value(self.params.scale), "key": r.key()}

    def scale_hi(self) -> float:
        """The largest noise scale this step can draw."""
        v = self.params.scale
        return float(max(v)) if isinstance(v, (list, tuple)) else float(v)

    def corrupt(self, x: np.ndarray, r: Resolved, params: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        assert r.stats is not None
        kinds = r.stats.kind_array()
        noisy = r.enabled & np.isin(kinds, ("continuous", "integer"))
        std = np.where(noisy, r.stats.std, 0.0)
        kernels.check_sigma(std, self.scale_hi(), x.dtype, r.stats.names)
        is_int = kinds == "integer"
        lo = np.where(is_int, np.ceil(r.lo), r.lo)
        hi = np.where(is_int, np.floor(r.hi), r.hi)
        y = kernels.gaussian_noise(x, params["scale"], std, is_int, lo, hi, params["key"])
        if x.dtype.kind == "f":  # sigma as the kernel rounds it
            ct = kernels.compute_dtype(x.dtype)
            sigma = (params["scale"][:, None] * std.astype(ct)[None, :]).astype(ct)
        else:
            sigma = params["scale"][:, None] * std[None, :]
        mask = (sigma[:, None, :] > 0) & ~np.isnan(x)
        return y, mask
