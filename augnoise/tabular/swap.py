"""tabular.SwapNoise: cells replaced by the same column's value from another row."""
from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field

from ..core.params import RangeParam
from ..core.transform import Example
from . import kernels
from .base import Resolved, TabularParams, TabularTransform, example_table, fit_example


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

    examples = (
        Example({"p_swap": 0.6}, example_table("row"), prepare=fit_example),
        Example({"p_swap": [0.3, 0.9], "stats": "batch", "mask_field": "mask"}, example_table("table")),
        Example({"p_swap": 0.8, "p": 0.5}, example_table("table", np.int32), prepare=fit_example),
    )

    def draw(self, r: Any) -> dict[str, Any]:
        return {"p_swap": r.value(self.params.p_swap), "key": r.key()}

    def corrupt(self, x: np.ndarray, r: Resolved, params: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        if self.params.stats == "batch":
            y, m = kernels.swap_within(x[0], params["p_swap"], int(params["key"][0]), r.enabled)
            return y[None], m[None]
        return kernels.replace_cells(x, params["p_swap"], params["key"], r.enabled, alias=r.stats.alias())
