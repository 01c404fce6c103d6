"""Shared base of tabular transforms: features in any accepted form, statistics (fitted or from
the table itself), column selection, and the optional corruption mask."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Literal, Optional, Union

import numpy as np
from pydantic import Field

from ..core.arrays import like, put_rows, take_rows
from ..core.context import Context
from ..core.errors import InputError
from ..core.kernels import col, kernel, run_kernel
from ..core.params import BaseParams
from ..core.transform import Sample, Transform, trace_values
from .frame import Table, is_frame, tensor_table, to_table, zeros_like_bool
from .schema import Fitted, TabularSection, fit_stats


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
    columns)`` of floats (NaN = missing) or ints, or a pandas DataFrame (returned as one).
    In a batch (the DataLoader's batched path, :meth:`augnoise.Pipeline.apply_rows`), every
    row is a sample keyed on its own."""

    modality = "tabular"
    default_field = "features"
    Params = TabularParams
    sections = ("tabular",)
    #: donor pools this transform needs when statistics come from the table: all / discrete / none
    batch_pools = "none"
    #: whether ``stats: batch`` needs column statistics at all (swap only needs the table)
    batch_needs_stats = True

    def fields(self) -> set[str]:
        return {self.field} | ({self.params.mask_field} if self.params.mask_field else set())

    def draw(self, r: Any) -> dict[str, Any]:
        return {"key": r.key()}

    def resolve(self, t: Table, spec: TabularSection, x2: Any) -> Resolved:
        """Statistics and columns for the table ``x2`` (R, M) of a sample of ``t`` (only its
        number of columns matters with fitted statistics)."""
        m = x2.shape[1]
        if self.params.stats == "fitted":
            f = spec.fitted
            if f is None:
                raise InputError("needs fitted column statistics: call pipeline.fit(features=X) on the training table "
                                 "(or use stats: batch on whole tables)")
            if f.n_columns != m:
                raise InputError(f"features have {m} columns but the statistics were fitted on {f.n_columns}")
            if t.names is not None and f.names is not None and list(t.names) != list(f.names):
                raise InputError(f"column names differ from the fitted table's ({', '.join(f.names)})")
            names = t.names or f.names
        else:
            if x2.shape[0] < 2:
                raise InputError("stats: batch needs a table of at least 2 rows (one row alone has no statistics)")
            names = t.names
            f = fit_stats(x2, spec, names, t.frame_kinds, pools=self.batch_pools) if self.batch_needs_stats else None
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
        lo, hi = spec.bounds(m, names)
        return Resolved(f, enabled, lo, hi)

    def corrupt(self, x: np.ndarray, r: Resolved, params: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover
        """Return (new ``(B, R, M)`` array, bool mask of corrupted cells); ``params`` hold one
        value per sample."""
        raise NotImplementedError

    def numpy_kernel(self, x: np.ndarray, t: Table, spec: TabularSection,
                     params: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        """The numpy path: :meth:`corrupt` with fitted statistics, or per sample with each
        sample's own (``stats: batch``)."""
        p = {k: col(v, np.uint64 if "key" in k else np.float64) for k, v in params.items() if not k.startswith("_")}
        if self.params.stats == "fitted":
            return self.corrupt(x, self.resolve(t, spec, x[0]), p)
        ys, ms = [], []
        for b in range(x.shape[0]):  # statistics of each sample's own table
            y, m = self.corrupt(x[b:b + 1], self.resolve(t, spec, x[b]), {k: v[b:b + 1] for k, v in p.items()})
            ys.append(y)
            ms.append(m)
        return np.concatenate(ys), np.concatenate(ms)

    def kernel_input(self, x: Any, ctx: Context | None = None) -> tuple[Any, dict[str, Any]]:
        """The float view for the kernel of ``x``'s own backend (a tensor stays a tensor)."""
        t = to_table(x, batched=True) if isinstance(x, np.ndarray) or is_frame(x) else tensor_table(x, batched=True)
        return t.x, {"_table": t}

    def _apply(self, x: Any, t: Table, ctx: Context, params: dict[str, Any]) -> tuple[Any, Any]:
        # a CPU tensor view (bfloat16 computed in float32) runs the numpy kernel: tensors back
        y, mask = run_kernel(self, x, {**params, "_table": t}, ctx)
        return like(y, x), like(mask, x)

    def run(self, sample: Sample, r: Any, ctx: Context) -> Sample:
        field = self.field
        if field not in sample:
            raise InputError(f"sample has no field {field!r} (fields: {', '.join(map(str, sample)) or 'none'})")
        t = to_table(sample[field])
        out = dict(sample)
        mask_field = self.params.mask_field
        if not r.below(self.p):
            if mask_field:
                out[mask_field] = t.restore_mask(zeros_like_bool(t.x))
            return out
        params = self.drawn(r)
        y, mask = self._apply(t.x, t, ctx, params)
        out[field] = t.restore(y)
        if mask_field:
            out[mask_field] = t.restore_mask(mask)
        if ctx.trace is not None:
            ctx.trace.append((self.name, trace_values(params)))
        return out

    def run_batch(self, data: Sample, r: Any, gate: np.ndarray, ctx: Context) -> Sample:
        field = self.field
        if field not in data:
            raise InputError(f"batch has no field {field!r} (fields: {', '.join(map(str, data)) or 'none'})")
        t = to_table(data[field], batched=True)
        if t.x.shape[0] != r.size:
            raise InputError(f"field {field!r} must have one row per sample ({r.size}), got {t.x.shape[0]}")
        applied = gate & r.below(self.p)
        params = self.drawn(r)
        sel = np.flatnonzero(applied)
        out = dict(data)
        mask = zeros_like_bool(t.x)
        if sel.size:
            part = {k: v[sel] if isinstance(v, np.ndarray) and v.ndim == 1 else v for k, v in params.items()}
            y_sel, m_sel = self._apply(take_rows(t.x, sel), t, ctx, part)
            if sel.size == t.x.shape[0]:
                y, mask = y_sel, m_sel
            else:
                y = put_rows(t.x, sel, y_sel)
                mask = put_rows(zeros_like_bool(t.x), sel, m_sel)
            out[field] = t.restore(y)
        if self.params.mask_field:
            out[self.params.mask_field] = t.restore_mask(mask)
        return out


@kernel(TabularTransform, "numpy")
def _numpy(t: TabularTransform, x: np.ndarray, params: dict[str, Any], ctx: Context) -> tuple[np.ndarray, np.ndarray]:
    return t.numpy_kernel(x, params["_table"], ctx.section("tabular"), params)


def example_table(kind: str = "row", dtype: Any = np.float64) -> Callable[[], dict[str, Any]]:
    """A sample factory for the conformance harness: a row or a small table of mixed columns
    (continuous, integer-valued, binary, with one NaN), as ``{"features": array}``."""
    def make() -> dict[str, Any]:
        base = np.array([[1.5, 3.0, 0.0, 10.25, -2.0], [2.5, 7.0, 1.0, 11.5, np.nan], [0.25, 5.0, 1.0, 9.0, -1.0],
                         [3.0, 4.0, 0.0, 12.75, -3.5]])
        x = base[0] if kind == "row" else base
        if np.dtype(dtype).kind in "iu":
            x = np.nan_to_num(x * 4).astype(dtype)
        return {"features": x.astype(dtype)}

    return make


def fit_example(pipeline: Any) -> None:
    """Fit a pipeline on a 64-row table of the example columns (for the conformance harness)."""
    rng = np.random.default_rng(0)
    x = np.column_stack([rng.normal(2, 1, 64), rng.integers(0, 10, 64), rng.integers(0, 2, 64),
                         rng.normal(10, 2, 64), rng.normal(-2, 1, 64)]).astype(np.float64)
    pipeline.fit(features=x)
