"""Column kinds, declarations and fitted statistics for tabular noise: the ``tabular`` section.

A pipeline's ``tabular:`` section declares column kinds and bounds (by name or index) and
carries the statistics :meth:`Pipeline.fit` computed on the training table (inline, or in a
sidecar ``.npz`` beside the YAML). Tabular steps read it from the call context; per-row use in
DataLoader workers therefore never needs the whole table. The section owns its YAML schema,
its sidecar file and ``fit``.

Kinds: ``continuous``, ``integer`` (noise rounded), ``binary`` and ``categorical`` (untouched
by additive noise; swap and mask keep them in their observed values). Kinds not declared are
inferred when fitting: values in {0, 1} -> binary, all integral -> integer, else continuous;
a DataFrame's bool columns are binary and its category columns categorical.
"""
from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from ..core.errors import InputError, ParamError
from ..core.files import resolve_path
from ..core.sections import Report, Section

KINDS = ("continuous", "integer", "binary", "categorical")
KIND_CODE = {k: i for i, k in enumerate(KINDS)}
#: at most this many donor values are kept per column
POOL_SIZE = 256


@dataclass(frozen=True)
class ColumnDecl:
    """A declared column: its kind (None: infer) and optional bounds."""

    kind: str | None = None
    lo: float | None = None
    hi: float | None = None

    def to_data(self) -> Any:
        if self.lo is None and self.hi is None:
            return self.kind
        d: dict[str, Any] = {}
        if self.kind:
            d["kind"] = self.kind
        d["bounds"] = [self.lo, self.hi]
        return d


def parse_decl(key: Any, value: Any) -> ColumnDecl:
    """One ``columns:`` entry: a kind string, or ``{kind: ..., bounds: [lo, hi]}`` (null = open)."""
    if isinstance(value, str):
        value = {"kind": value}
    if not isinstance(value, Mapping):
        raise ValueError(f"column {key!r}: expected a kind ({', '.join(KINDS)}) or a mapping with kind/bounds, got {value!r}")
    unknown = set(value) - {"kind", "bounds"}
    if unknown:
        raise ValueError(f"column {key!r}: unknown key(s) {', '.join(sorted(map(str, unknown)))} (known: kind, bounds)")
    kind = value.get("kind")
    if kind is not None and kind not in KINDS:
        raise ValueError(f"column {key!r}: kind must be one of {', '.join(KINDS)}, got {kind!r}")
    lo = hi = None
    if "bounds" in value:
        b = value["bounds"]
        ok = isinstance(b, (list, tuple)) and len(b) == 2 and all(
            v is None or (isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)) for v in b)
        if not ok:
            raise ValueError(f"column {key!r}: bounds must be [lo, hi] (numbers or null), got {b!r}")
        lo, hi = b
        if lo is not None and hi is not None and lo > hi:
            raise ValueError(f"column {key!r}: bounds lo must be <= hi, got [{lo}, {hi}]")
    return ColumnDecl(kind, lo, hi)


def _check_key(key: Any) -> Any:
    if isinstance(key, bool) or not isinstance(key, (str, int)) or (isinstance(key, int) and key < 0):
        raise ValueError(f"columns are named by a string or a non-negative index, got {key!r}")
    return key


@dataclass
class Fitted:
    """Statistics of a training table, per column (arrays of length n_columns)."""

    names: list[str] | None
    kinds: list[str]
    mean: np.ndarray  # float64; 0 for an all-NaN column
    std: np.ndarray  # float64; 0 for a constant or all-NaN column
    pool_values: list[np.ndarray]  # observed values (sorted, no NaN)
    pool_counts: list[np.ndarray]  # weights of those values (int64)
    n_rows: int

    @property
    def n_columns(self) -> int:
        return len(self.kinds)

    def kind_array(self) -> np.ndarray:
        """``kinds`` as a numpy array (cached)."""
        cached = self.__dict__.get("_kinds")
        if cached is None:
            cached = self.__dict__["_kinds"] = np.array(self.kinds)
        return cached

    def alias(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Alias tables of the donor pools for O(1) weighted draws (built once, then cached)."""
        cached = self.__dict__.get("_alias")
        if cached is None:
            from .kernels import alias_tables

            cached = self.__dict__["_alias"] = alias_tables(self.pool_values, self.pool_counts)
        return cached

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Fitted) and other.to_data() == self.to_data()

    # -- serialisation ----------------------------------------------------------------------
    def to_data(self) -> dict[str, Any]:
        return {
            "n_rows": self.n_rows,
            "names": self.names,
            "columns": [
                {"kind": k, "mean": float(m), "std": float(s), "values": v.tolist(), "counts": c.tolist()}
                for k, m, s, v, c in zip(self.kinds, self.mean, self.std, self.pool_values, self.pool_counts)
            ],
        }

    @classmethod
    def from_data(cls, d: Any) -> "Fitted":
        try:
            cols = d["columns"]
            names = d.get("names")
            out = cls(
                names=None if names is None else [str(n) for n in names],
                kinds=[c["kind"] for c in cols],
                mean=np.array([float(c["mean"]) for c in cols], np.float64),
                std=np.array([float(c["std"]) for c in cols], np.float64),
                pool_values=[np.asarray(c["values"], np.float64) for c in cols],
                pool_counts=[np.asarray(c["counts"], np.int64) for c in cols],
                n_rows=int(d["n_rows"]),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"fitted statistics are malformed ({type(err).__name__}: {err})") from None
        out.validate()
        return out

    def validate(self) -> None:
        n = len(self.kinds)
        if any(k not in KINDS for k in self.kinds):
            raise ValueError(f"fitted statistics: unknown kind among {sorted(set(self.kinds))}")
        if not (len(self.mean) == len(self.std) == len(self.pool_values) == len(self.pool_counts) == n):
            raise ValueError("fitted statistics: per-column arrays differ in length")
        if self.names is not None and len(self.names) != n:
            raise ValueError("fitted statistics: names and columns differ in length")
        for v, c in zip(self.pool_values, self.pool_counts):
            if v.shape != c.shape or (c < 0).any() or not np.isfinite(v).all():
                raise ValueError("fitted statistics: a donor pool is malformed")

    def save_npz(self) -> bytes:
        buf = io.BytesIO()
        offsets = np.cumsum([0] + [len(v) for v in self.pool_values])
        np.savez(
            buf,
            kinds=np.array(self.kinds),
            names=np.array(self.names if self.names is not None else [], dtype=str),
            has_names=np.array(self.names is not None),
            mean=self.mean, std=self.std, n_rows=np.array(self.n_rows),
            values=np.concatenate(self.pool_values) if self.pool_values else np.zeros(0),
            counts=np.concatenate(self.pool_counts) if self.pool_counts else np.zeros(0, np.int64),
            offsets=offsets,
        )
        return buf.getvalue()

    @classmethod
    def load_npz(cls, path: Path) -> "Fitted":
        try:
            with np.load(path, allow_pickle=False) as z:
                off = z["offsets"]
                out = cls(
                    names=[str(n) for n in z["names"]] if bool(z["has_names"]) else None,
                    kinds=[str(k) for k in z["kinds"]],
                    mean=z["mean"].astype(np.float64), std=z["std"].astype(np.float64),
                    pool_values=[z["values"][a:b].astype(np.float64) for a, b in zip(off[:-1], off[1:])],
                    pool_counts=[z["counts"][a:b].astype(np.int64) for a, b in zip(off[:-1], off[1:])],
                    n_rows=int(z["n_rows"]),
                )
        except (OSError, KeyError, ValueError) as err:
            raise ValueError(f"cannot read fitted statistics {str(path)!r}: {err}") from None
        out.validate()
        return out


class TabularSection(Section):
    """The ``tabular:`` section: declared columns plus (after fit) the fitted statistics,
    shared by a pipeline's tabular steps.

    YAML: ``columns`` (name or index -> kind, or ``{kind, bounds: [lo, hi]}``) and ``fitted``
    (the statistics inline, or the name of a sidecar ``.npz`` relative to the pipeline file)."""

    key = "tabular"
    fittable = True

    def __init__(self, columns: dict[Any, ColumnDecl] | None = None, fitted: "Fitted | None" = None,
                 sidecar: str | None = None) -> None:
        self.columns: dict[Any, ColumnDecl] = dict(columns or {})
        self.fitted = fitted
        #: sidecar file the fitted statistics were loaded from / will be written to (as written)
        self.sidecar = sidecar

    @classmethod
    def from_columns(cls, columns: Any = None) -> "TabularSection":
        if columns is None:
            return cls()
        if not isinstance(columns, Mapping):
            raise ValueError(f"columns must be a mapping of column name or index to kind, got {columns!r}")
        return cls({_check_key(k): parse_decl(k, v) for k, v in columns.items()})

    @classmethod
    def from_config(cls, data: Any, report: Report, line: int | None) -> "TabularSection | None":
        if not isinstance(data, Mapping):
            kind = "a list" if isinstance(data, list) else type(data).__name__
            report(f"must be a mapping with keys columns, fitted; got {kind}", "", line)
            return None
        lines = getattr(data, "key_lines", {})
        ok = True
        for k in data:
            if k not in ("columns", "fitted"):
                report("unknown key (known: columns, fitted)", str(k), lines.get(k, line))
                ok = False
        try:
            sec = cls.from_columns(data.get("columns"))
        except ValueError as err:
            cols = data.get("columns")
            report(str(err), "columns", getattr(cols, "line", lines.get("columns", line)))
            return None
        fitted = data.get("fitted")
        fline = lines.get("fitted", line)
        try:
            if isinstance(fitted, str):
                sec.fitted = Fitted.load_npz(resolve_path(fitted))
                sec.sidecar = fitted
            elif isinstance(fitted, Mapping):
                sec.fitted = Fitted.from_data(fitted)
            elif fitted is not None:
                kind = "a list" if isinstance(fitted, list) else type(fitted).__name__
                raise ValueError(f"must be a sidecar file name or the statistics mapping, got {kind}")
        except ValueError as err:
            report(str(err), "fitted", fline)
            return None
        return sec if ok else None

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        kind = {"enum": list(KINDS)}
        bound = {"type": ["number", "null"]}
        decl = {"anyOf": [kind, {"type": "object", "additionalProperties": False, "properties": {
            "kind": kind, "bounds": {"type": "array", "items": bound, "minItems": 2, "maxItems": 2}}}]}
        return {"type": "object", "additionalProperties": False, "description": "tabular column kinds and fitted statistics",
                "properties": {"columns": {"type": "object", "additionalProperties": decl},
                               "fitted": {"anyOf": [{"type": "string"}, {"type": "object"}]}}}

    def fit(self, features: Any, names: Sequence[str] | None = None,
            kinds: Sequence[str | None] | None = None) -> None:
        """Compute the column statistics (kinds not declared are inferred, mean, std, donor
        pools) from the training table ``features`` (a 2-D array or a DataFrame; NaN =
        missing). ``kinds`` optionally hints a kind per column (e.g. string columns of a CSV
        are categorical)."""
        from .frame import to_table

        t = to_table(features)
        x = t.table
        if np.ndim(features) != 2 or (x.shape[0] < 2 and not hasattr(features, "columns")):
            raise InputError(f"fit needs the training table (rows, columns), got shape {getattr(features, 'shape', None)}")
        if names is not None:
            if t.names is not None and list(names) != t.names:
                raise InputError("names given but the DataFrame has its own column names")
            if len(names) != x.shape[1]:
                raise InputError(f"names has {len(names)} entries for {x.shape[1]} columns")
            t.names = [str(n) for n in names]
        if kinds is not None:
            if len(kinds) != x.shape[1]:
                raise InputError(f"kinds has {len(kinds)} entries for {x.shape[1]} columns")
            t.frame_kinds = [k or (t.frame_kinds[j] if t.frame_kinds else None) for j, k in enumerate(kinds)]
        self.fitted = fit_stats(x, self, t.names, t.frame_kinds)
        self.sidecar = None

    def sidecars(self, stem: str) -> dict[str, bytes]:
        if self.fitted is None:
            return {}
        self.sidecar = f"{stem}.fitted.npz"
        return {self.sidecar: self.fitted.save_npz()}

    def decl_for(self, j: int, names: Sequence[str] | None) -> ColumnDecl:
        d = self.columns.get(j)
        if d is None and names is not None and j < len(names):
            d = self.columns.get(names[j])
        return d or ColumnDecl()

    def check_names(self, names: Sequence[str] | None, n_columns: int) -> None:
        for key in self.columns:
            if isinstance(key, int):
                if key >= n_columns:
                    raise InputError(f"declared column index {key} is out of range (table has {n_columns} columns)")
            elif names is None:
                raise InputError(f"column {key!r} is declared by name but the table has no column names "
                                 f"(pass a DataFrame or fit(features=X, names=[...]))")
            elif key not in names:
                raise InputError(f"declared column {key!r} is not in the table (columns: {', '.join(names)})")

    def bounds(self, n_columns: int, names: Sequence[str] | None) -> tuple[np.ndarray, np.ndarray]:
        """Declared [lo, hi] per column (infinite when open); cached per (columns, names)."""
        key = (n_columns, tuple(names) if names is not None else None)
        cache = self.__dict__.setdefault("_bounds_cache", {})
        if key not in cache:
            cache[key] = self._bounds(n_columns, names)
        return cache[key]

    def _bounds(self, n_columns: int, names: Sequence[str] | None) -> tuple[np.ndarray, np.ndarray]:
        lo = np.full(n_columns, -np.inf)
        hi = np.full(n_columns, np.inf)
        for j in range(n_columns):
            d = self.decl_for(j, names)
            if d.lo is not None:
                lo[j] = d.lo
            if d.hi is not None:
                hi[j] = d.hi
        return lo, hi

    def to_config(self, inline: bool = True) -> dict[str, Any]:
        """``columns`` and ``fitted`` for YAML: fitted inline, or the sidecar file's name."""
        out: dict[str, Any] = {}
        if self.columns:
            out["columns"] = {k: d.to_data() for k, d in self.columns.items()}
        if self.fitted is not None:
            out["fitted"] = self.fitted.to_data() if inline or not self.sidecar else self.sidecar
        return out


def pool(col: np.ndarray, size: int = POOL_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """Donor pool of a column: its exact value counts when it has at most ``size`` distinct
    values, else ``size`` evenly spaced order statistics (every donor is an observed value)."""
    v = col[~np.isnan(col)]
    if v.size == 0:
        return np.zeros(0), np.zeros(0, np.int64)
    values, counts = np.unique(v, return_counts=True)
    if values.size <= size:
        return values.astype(np.float64), counts.astype(np.int64)
    s = np.sort(v)
    picks = s[np.round(np.linspace(0, s.size - 1, size)).astype(np.int64)]
    return picks.astype(np.float64), np.ones(size, np.int64)


def fit_stats(x: np.ndarray, spec: TabularSection, names: Sequence[str] | None,
              frame_kinds: Sequence[str | None] | None = None, pools: str = "all") -> Fitted:
    """Statistics of a 2-D float table (NaN = missing), honouring declared kinds.

    Kinds and moments are computed with whole-table reductions (a few passes). ``pools``:
    ``"all"`` builds every column's donor pool (a sort per column), ``"discrete"`` only those
    of binary and categorical columns, ``"none"`` none (empty pools).
    """
    if x.ndim != 2 or x.shape[0] < 1:
        raise InputError(f"fit needs a 2-D table with at least one row, got shape {x.shape}")
    spec.check_names(names, x.shape[1])
    n, m = x.shape
    missing = np.isnan(x)
    count = m and (~missing).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        lo_obs = np.where(missing, np.inf, x).min(axis=0)
        hi_obs = np.where(missing, -np.inf, x).max(axis=0)
    lo, hi = spec.bounds(m, names)
    for j in np.nonzero((lo_obs < lo) | (hi_obs > hi))[0]:
        label = names[j] if names is not None else int(j)
        raise InputError(f"column {label!r}: declared bounds [{_num(lo[j])}, {_num(hi[j])}] but the table holds "
                         f"values in [{_num(lo_obs[j])}, {_num(hi_obs[j])}]")
    filled = np.where(missing, 0, x)
    binary = np.all(missing | (filled == 0) | (filled == 1), axis=0) & (count > 0)
    integral = np.all(filled == np.round(filled), axis=0) & (count > 0)
    total = filled.sum(axis=0, dtype=np.float64)
    mean = np.divide(total, count, out=np.zeros(m), where=count > 0)
    dev = np.where(missing, 0.0, x - mean.astype(x.dtype))
    var = np.divide((dev.astype(np.float64) ** 2).sum(axis=0), count, out=np.zeros(m), where=count > 1)
    std = np.sqrt(var)
    kinds = []
    for j in range(m):
        declared = spec.decl_for(j, names).kind
        inferred = "binary" if binary[j] else "integer" if integral[j] else "continuous"
        kinds.append(declared or (frame_kinds[j] if frame_kinds and frame_kinds[j] else None) or inferred)
    pv, pc = [], []
    for j, kind in enumerate(kinds):
        if pools == "all" or (pools == "discrete" and kind in ("binary", "categorical")):
            vals, cnts = pool(x[:, j].astype(np.float64))
        else:
            vals, cnts = np.zeros(0), np.zeros(0, np.int64)
        pv.append(vals)
        pc.append(cnts)
    return Fitted(list(names) if names is not None else None, kinds, mean, std, pv, pc, n)


def _num(v: float) -> str:
    return "null" if not np.isfinite(v) else (str(int(v)) if float(v).is_integer() else f"{v:g}")


def bad_param(name: str, field: str, message: str) -> ParamError:
    return ParamError(name, [(field, message)])
