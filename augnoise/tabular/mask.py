"""tabular.MaskNoise: VIME/SCARF-style corruption."""
from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import Field

from ..core.params import RangeParam, draw
from . import kernels
from .base import Resolved, TabularParams, TabularTransform
from .frame import Table


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

    def make_params(self, data: Table, rng: np.random.Generator) -> dict[str, Any]:
        return {"p_mask": draw(self.params.p_mask, rng), **super().make_params(data, rng)}

    def corrupt(self, t: Table, r: Resolved, params: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        s = r.stats
        assert s is not None
        if self.params.fill == "marginal" and self.params.stats == "batch":
            # the table's own empirical marginal: a value from another row
            return kernels.swap_within(t.x, params["p_mask"], params["key"], r.enabled)
        if self.params.fill == "marginal":
            return kernels.replace_cells(t.x, params["p_mask"], params["key"], r.enabled, alias=s.alias())
        if self.params.fill == "zero":
            const = np.zeros(t.x.shape[1])
        else:
            const = np.array([
                m if k == "continuous" else np.rint(m) if k == "integer" else (v[np.argmax(c)] if v.size else 0.0)
                for k, m, v, c in zip(s.kinds, s.mean, s.pool_values, s.pool_counts)
            ])
        return kernels.replace_cells(t.x, params["p_mask"], params["key"], r.enabled, const=const)
