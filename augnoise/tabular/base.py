"""Shared base of tabular transforms: features in any accepted form, statistics (fitted or from
the batch), column selection, and the optional corruption mask."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Mapping, Optional, Union

import numpy as np
from pydantic import Field

from ..core.errors import InputError
from ..core.params import BaseParams
from ..core.transform import Sample, Transform
from .frame import Table, to_table
from .schema import Fitted, TabularSpec, fit_stats


class TabularParams(BaseParams):
    stats: Literal["fitted", "batch"] = Field(
        "fitted", description="column statistics from pipeline.fit (fitted) or from the table being augmented (batch, >= 2 rows)")
    columns: Optional[list[Union[str, int]]] = Field(None, description="only these columns (names or indices); default all")
    mask_field: Optional[str] = Field(None, description="also write the corruption mask (bool, same shape) to this field")


@dataclass
class Resolved:
    """What a kernel needs for one call: statistics, enabled columns, bounds."""

    stats: Fitted | None  # None: stats: batch for a transform that needs no statistics
    enabled: np.ndarray
    lo: np.ndarray
    hi: np.ndarray


class TabularTransform(Transform):
    """A tabular transform on ``features``: one row ``(n_columns,)`` or a table ``(rows,
    columns)`` of floats (NaN = missing) or ints, or a pandas DataFrame (returned as one)."""

    modality = "tabular"
    Params = TabularParams
    #: donor pools this transform needs when statistics come from the batch: all / discrete / none
    batch_pools = "none"
    #: whether ``stats: batch`` needs column statistics at all (swap only needs the table)
    batch_needs_stats = True

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.spec = TabularSpec()  # the owning pipeline binds its shared spec

    def bind(self, spec: TabularSpec) -> None:
        """Share a pipeline's column declarations and fitted statistics."""
        self.spec = spec

    def check(self, data: Any) -> Table:
        return to_table(data)

    def resolve(self, t: Table) -> Resolved:
        m = t.x.shape[1]
        if self.params.stats == "fitted":
            f = self.spec.fitted
            if f is None:
                raise InputError("needs fitted column statistics: call pipeline.fit(features=X) on the training table "
                                 "(or use stats: batch on whole tables)")
            if f.n_columns != m:
                raise InputError(f"features have {m} columns but the statistics were fitted on {f.n_columns}")
            if t.names is not None and f.names is not None and list(t.names) != list(f.names):
                raise InputError(f"column names differ from the fitted table's ({', '.join(f.names)})")
            names = t.names or f.names
        else:
            if t.x.shape[0] < 2:
                raise InputError("stats: batch needs a table of at least 2 rows (one row alone has no statistics)")
            names = t.names
            f = fit_stats(t.x, self.spec, names, t.frame_kinds, pools=self.batch_pools) if self.batch_needs_stats else None
        if f is not None and t.frame_kinds and any(k == "integer" for k in t.frame_kinds):  # integer numpy input
            f = Fitted(f.names, [k if k != "continuous" else "integer" for k in f.kinds], f.mean, f.std,
                       f.pool_values, f.pool_counts, f.n_rows)
        enabled = np.ones(m, bool)
        if self.params.columns is not None:
            enabled[:] = False
            for c in self.params.columns:
                if isinstance(c, int):
                    if not 0 <= c < m:
                        raise InputError(f"columns: index {c} is out of range ({m} columns)")
                    enabled[c] = True
                elif names is None or c not in names:
                    raise InputError(f"columns: no column named {c!r}" + (f" (columns: {', '.join(names)})" if names else " (the table has no names)"))
                else:
                    enabled[names.index(c)] = True
        lo, hi = self.spec.bounds(m, names)
        return Resolved(f, enabled, lo, hi)

    def make_params(self, data: Table, rng: np.random.Generator) -> dict[str, Any]:
        return {"key": int(rng.integers(0, 2**64, dtype=np.uint64))}

    def corrupt(self, t: Table, r: Resolved, params: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover
        """Return (new 2-D table, bool mask of corrupted cells)."""
        raise NotImplementedError

    def __call__(self, sample: Mapping[str, Any], rng: np.random.Generator, trace: list | None = None) -> Sample:
        field = self.field
        if field not in sample:
            raise InputError(f"sample has no field {field!r} (fields: {', '.join(map(str, sample)) or 'none'})")
        out = dict(sample)
        t = self.check(sample[field])
        if self.p < 1.0 and rng.random() >= self.p:
            if self.params.mask_field:
                out[self.params.mask_field] = np.zeros(t.mask_shape, bool)
            return out
        params = self.make_params(t, rng)
        y, mask = self.corrupt(t, self.resolve(t), params)
        out[field] = t.restore(y)
        if self.params.mask_field:
            out[self.params.mask_field] = mask.reshape(t.mask_shape)
        if trace is not None:
            trace.append((self.name, {k: v for k, v in params.items() if k != "key" and isinstance(v, (int, float, str))}))
        return out
