"""tabular.SwapNoise: cells replaced by the same column's value from another row."""
from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field

from ..core.params import RangeParam, draw
from . import kernels
from .base import Resolved, TabularParams, TabularTransform
from .frame import Table


class SwapNoise(TabularTransform):
    """Replace each cell with probability ``p_swap`` by the same column's value from another row
    (the Porto Seguro denoising-autoencoder recipe uses about 0.15).

    With ``stats: fitted`` the donor value is drawn from the column's fitted values (as if from
    a random training row; see pipeline.fit), so single rows in DataLoader workers work; with
    ``stats: batch`` it comes from another row of the table being augmented, uniformly among
    the rows where that column is not NaN. Values always stay in the column's observed set, so
    every kind (integer, binary, categorical) stays valid. NaN cells are never swapped and never
    receive NaN. The mask marks the cells that were swapped.
    """

    name = "tabular.SwapNoise"
    batch_needs_stats = False

    class Params(TabularParams):
        p_swap: RangeParam(ge=0, le=1, unit="probability per cell") = Field(0.15, description="probability that a cell is swapped")

    def make_params(self, data: Table, rng: np.random.Generator) -> dict[str, Any]:
        return {"p_swap": draw(self.params.p_swap, rng), **super().make_params(data, rng)}

    def corrupt(self, t: Table, r: Resolved, params: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        if self.params.stats == "batch":
            return kernels.swap_within(t.x, params["p_swap"], params["key"], r.enabled)
        return kernels.replace_cells(t.x, params["p_swap"], params["key"], r.enabled, alias=r.stats.alias())
