"""tabular.MaskNoise: VIME/SCARF-style corruption."""
from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import Field

from ..core.params import RangeParam
from ..core.transform import Example
from . import kernels
from .base import Resolved, TabularParams, TabularTransform, example_table, fit_example


class MaskNoise(TabularTransform):
    """Replace each cell with probability ``p_mask`` by a fill value.

    ``fill: zero`` puts 0; ``fill: mean`` puts the column's mean (rounded for integer columns,
    the most frequent value for binary and categorical ones); ``fill: marginal`` draws from the
    column's marginal distribution (VIME; SCARF draws from the empirical marginal the same way):
    the fitted pool, or with ``stats: batch`` a value from another row of the table.
    NaN cells stay NaN. The mask marks the replaced cells.
    """

    name = "tabular.MaskNoise"
    batch_pools = "discrete"  # the most frequent value of binary / categorical columns

    class Params(TabularParams):
        p_mask: RangeParam(ge=0, le=1, unit="probability per cell") = Field(0.15, description="probability that a cell is masked")
        fill: Literal["zero", "mean", "marginal"] = Field("zero", description="replacement: zero, column mean, or a draw from the marginal")

    examples = (
        Example({"p_mask": 0.6, "fill": "mean"}, example_table("table"), prepare=fit_example),
        Example({"p_mask": [0.3, 0.9], "fill": "marginal", "stats": "batch", "mask_field": "m"}, example_table("table")),
        Example({"p_mask": 0.7, "fill": "marginal"}, example_table("row", np.int64), prepare=fit_example),
        Example({"p_mask": 0.5, "fill": "zero", "stats": "batch"}, example_table("table")),
    )

    def draw(self, r: Any) -> dict[str, Any]:
        return {"p_mask": r.value(self.params.p_mask), "key": r.key()}

    def corrupt(self, x: np.ndarray, r: Resolved, params: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        s = r.stats
        assert s is not None
        if self.params.fill == "marginal" and self.params.stats == "batch":
            # the table's own empirical marginal: a value from another row
            y, m = kernels.swap_within(x[0], params["p_mask"], int(params["key"][0]), r.enabled)
            return y[None], m[None]
        if self.params.fill == "marginal":
            return kernels.replace_cells(x, params["p_mask"], params["key"], r.enabled, alias=s.alias())
        return kernels.replace_cells(x, params["p_mask"], params["key"], r.enabled, const=self.fill_values(s, x.shape[2]))

    def fill_values(self, s: Any, m: int) -> np.ndarray:
        """The constant fill per column (``zero`` or ``mean``)."""
        if self.params.fill == "zero":
            return np.zeros(m)
        return np.array([
            mu if k == "continuous" else np.rint(mu) if k == "integer" else (v[np.argmax(c)] if v.size else 0.0)
            for k, mu, v, c in zip(s.kinds, s.mean, s.pool_values, s.pool_counts)
        ])
