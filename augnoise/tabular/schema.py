"""Column kinds, declarations and fitted statistics for tabular noise: the ``tabular`` section.

A pipeline's ``tabular:`` section declares column kinds and bounds (by name or index) and
carries the statistics :meth:`Pipeline.fit` computed on the training table (inline, or in a
sidecar ``.npz`` beside the YAML). A sidecar is named relative to the pipeline's folder and
must stay inside it unless the caller allows more; it is read as a regular file of at most
:data:`MAX_SIDECAR_BYTES` and parsed from memory with every member checked before anything is
allocated (see :meth:`Fitted.load_npz`). Tabular steps read it from the call context; per-row use in
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
import os
import struct
import zipfile
import zlib
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from ..core.errors import InputError, ParamError, escape
from ..core.files import read_regular, resolve_path
from ..core.params import show
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
        """Statistics from their inline YAML form (:meth:`to_data`), every field checked: one
        ValueError line naming the field (``columns[3].mean``) and its value."""
        try:
            out = cls._parse_inline(d)
            out.validate(inline=True)
        except _Bad as err:
            raise ValueError(f"fitted statistics are malformed: {err}") from None
        return out

    @classmethod
    def _parse_inline(cls, d: Any) -> "Fitted":
        if not isinstance(d, Mapping):
            raise _Bad(f"must be a mapping with keys {', '.join(INLINE_KEYS)}, got {_kind_of(d)}")
        unknown = [k for k in d if k not in INLINE_KEYS]
        if unknown:
            raise _Bad(f"{escape(str(unknown[0]), 60)}: unknown key (known: {', '.join(INLINE_KEYS)})")
        for k in ("n_rows", "columns"):
            if k not in d:
                raise _Bad(f"{k}: missing")
        cols = d["columns"]
        if not isinstance(cols, list):
            raise _Bad(f"columns: must be a list of column mappings, got {_kind_of(cols)}")
        names = d.get("names")
        if names is not None:
            if not isinstance(names, list):
                raise _Bad(f"names: must be a list of strings or null, got {_kind_of(names)}")
            for i, n in enumerate(names):
                if not isinstance(n, str):
                    raise _Bad(f"names[{i}]: must be a string, got {show(n)}")
        kinds, mean, std, pv, pc = [], [], [], [], []
        for j, c in enumerate(cols):
            where = f"columns[{j}]"
            if not isinstance(c, Mapping):
                raise _Bad(f"{where}: must be a mapping with keys {', '.join(COLUMN_KEYS)}, got {_kind_of(c)}")
            for k in c:
                if k not in COLUMN_KEYS:
                    raise _Bad(f"{where}.{escape(str(k), 60)}: unknown key (known: {', '.join(COLUMN_KEYS)})")
            for k in COLUMN_KEYS:
                if k not in c:
                    raise _Bad(f"{where}.{k}: missing")
            if not isinstance(c["kind"], str):
                raise _Bad(f"{where}.kind: must be one of {', '.join(KINDS)}, got {show(c['kind'])}")
            kinds.append(c["kind"])
            mean.append(_number(c["mean"], f"{where}.mean"))
            std.append(_number(c["std"], f"{where}.std"))
            for k in ("values", "counts"):
                if not isinstance(c[k], list):
                    raise _Bad(f"{where}.{k}: must be a list, got {_kind_of(c[k])}")
                if len(c[k]) > POOL_SIZE:
                    raise _Bad(f"{where}.{k}: at most {POOL_SIZE} entries, got {len(c[k])}")
            pv.append(np.array([_number(v, f"{where}.values[{i}]") for i, v in enumerate(c["values"])], np.float64))
            pc.append(np.array([_integer(v, f"{where}.counts[{i}]", 1, MAX_ROWS) for i, v in enumerate(c["counts"])],
                               np.int64))
        n_rows = _integer(d["n_rows"], "n_rows", 1, MAX_ROWS)
        return cls(names=None if names is None else list(names), kinds=kinds, mean=np.array(mean, np.float64),
                   std=np.array(std, np.float64), pool_values=pv, pool_counts=pc, n_rows=n_rows)

    def validate(self, inline: bool = False) -> None:
        """Check the statistics are usable; raise ValueError naming the field (inline form:
        ``columns[j].mean``; sidecar form: ``mean (column j)``)."""
        try:
            self._check(inline)
        except _Bad as err:
            raise ValueError(f"fitted statistics are malformed: {err}") from None

    def _check(self, inline: bool) -> None:
        def at(field: str, j: int) -> str:  # the inline field, or the sidecar member, of column j
            return f"columns[{j}].{field}" if inline else f"{'kinds' if field == 'kind' else field} (column {j})"

        n = len(self.kinds)
        _integer(self.n_rows, "n_rows", 1, MAX_ROWS)
        for j, k in enumerate(self.kinds):
            if k not in KINDS:
                raise _Bad(f"{at('kind', j)}: must be one of {', '.join(KINDS)}, got {show(k)}")
        for field, arr in (("mean", self.mean), ("std", self.std)):
            if len(arr) != n:
                raise _Bad(f"{field}: {len(arr)} entries for {n} columns")
            bad = np.flatnonzero(~np.isfinite(arr) | ((arr < 0) if field == "std" else False))
            if bad.size:
                j = int(bad[0])
                want = "a finite number >= 0" if field == "std" else "a finite number"
                raise _Bad(f"{at(field, j)}: must be {want}, got {show(float(arr[j]))}")
        if len(self.pool_values) != n or len(self.pool_counts) != n:
            raise _Bad(f"values/counts: pools for {len(self.pool_values)} columns, expected {n}")
        if self.names is not None and len(self.names) != n:
            raise _Bad(f"names: {len(self.names)} names for {n} columns")
        for j, (v, c) in enumerate(zip(self.pool_values, self.pool_counts)):
            if v.shape != c.shape or v.ndim != 1:
                raise _Bad(f"{at('counts', j)}: {c.size} counts for {v.size} values")
            if v.size > POOL_SIZE:
                raise _Bad(f"{at('values', j)}: at most {POOL_SIZE} values per column, got {v.size}")
            bad = np.flatnonzero(~np.isfinite(v))
            if bad.size:
                raise _Bad(f"{at('values', j)}: must be finite numbers, got {show(float(v[bad[0]]))}")
            bad = np.flatnonzero((c < 1) | (c > MAX_ROWS))
            if bad.size:
                raise _Bad(f"{at('counts', j)}: must be integers in [1, {MAX_ROWS}], got {show(int(c[bad[0]]))}")
            if int(c.sum()) > self.n_rows:
                raise _Bad(f"{at('counts', j)}: the counts add up to {int(c.sum())}, more than n_rows ({self.n_rows})")

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
    def load_npz(cls, path: str | os.PathLike[str], name: str | None = None) -> "Fitted":
        """Statistics from a sidecar ``.npz`` written by :meth:`save_npz`, read safely: a regular
        file of at most :data:`MAX_SIDECAR_BYTES`, parsed from memory with every member's
        name, declared size, dtype and shape checked before anything is allocated (no pickle,
        no object arrays). Any problem is one ValueError line naming the file (as ``name``,
        default the path) and the field."""
        shown = escape(repr(str(name if name is not None else os.fspath(path))), 200)
        what = "cannot read fitted statistics"
        try:
            data = read_regular(path, MAX_SIDECAR_BYTES, what)
        except ValueError as err:
            msg = str(err)
            prefix = f"{what} {os.fspath(path)!r}: "
            raise ValueError(f"{what} {shown}: {msg[len(prefix):] if msg.startswith(prefix) else escape(msg)}") from None
        try:
            arrays = _read_npz(data)
            out = cls._from_arrays(arrays)
            out._check(inline=False)
        except _Unreadable as err:
            raise ValueError(f"{what} {shown}: {err}") from None
        except _Bad as err:
            raise ValueError(f"fitted statistics {shown} are malformed: {err}") from None
        return out

    @classmethod
    def _from_arrays(cls, z: dict[str, np.ndarray]) -> "Fitted":
        n = z["kinds"].shape[0]
        off = z["offsets"]
        if off.shape[0] != n + 1:
            raise _Bad(f"offsets: {off.shape[0]} entries for {n} columns (expected {n + 1})")
        nv = z["values"].shape[0]
        if z["counts"].shape[0] != nv:
            raise _Bad(f"counts: {z['counts'].shape[0]} counts for {nv} values")
        if off.dtype.kind == "u":  # before the cast to int64, which would wrap
            off = np.minimum(off, np.uint64(nv + 1))
        off = off.astype(np.int64)
        if off[0] != 0 or off[-1] != nv or (np.diff(off) < 0).any():
            raise _Bad(f"offsets: must rise from 0 to the number of values ({nv}), got {show(off.tolist())}")
        counts = z["counts"]
        if counts.dtype.kind == "u":  # before the cast to int64, which would wrap
            counts = np.minimum(counts, np.uint64(MAX_ROWS + 1))
        counts = counts.astype(np.int64)
        has_names = bool(z["has_names"])
        names = [str(v) for v in z["names"]] if has_names else None
        values = z["values"].astype(np.float64)
        return cls(names=names, kinds=[str(k) for k in z["kinds"]],
                   mean=z["mean"].astype(np.float64), std=z["std"].astype(np.float64),
                   pool_values=[values[a:b] for a, b in zip(off[:-1], off[1:])],
                   pool_counts=[counts[a:b] for a, b in zip(off[:-1], off[1:])],
                   n_rows=int(z["n_rows"]))


#: top-level keys of the inline ``fitted:`` mapping, and of each of its columns
INLINE_KEYS = ("n_rows", "names", "columns")
COLUMN_KEYS = ("kind", "mean", "std", "values", "counts")
#: a sidecar file may hold at most this many bytes, on disk and uncompressed (all members)
MAX_SIDECAR_BYTES = 64 * 1024 * 1024
#: n_rows and pool counts are at most this (exact in float64)
MAX_ROWS = 2 ** 53
#: the members of a sidecar: accepted dtype kinds and number of dimensions
NPZ_MEMBERS = {
    "kinds": ("U", 1), "names": ("U", 1), "has_names": ("b", 0), "mean": ("f", 1), "std": ("f", 1),
    "n_rows": ("iu", 0), "values": ("f", 1), "counts": ("iu", 1), "offsets": ("iu", 1),
}
_KIND_WORDS = {"U": "strings", "b": "a bool", "f": "floats", "iu": "integers"}


class _Bad(ValueError):
    """A field of the statistics is wrong (the message starts with the field)."""


class _Unreadable(ValueError):
    """The sidecar is not a readable .npz archive."""


def _kind_of(v: Any) -> str:
    return "a list" if isinstance(v, list) else "a mapping" if isinstance(v, Mapping) else \
        "null" if v is None else type(v).__name__


def _number(v: Any, field: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise _Bad(f"{field}: must be a number, got {show(v)}")
    try:
        f = float(v)
    except OverflowError:
        raise _Bad(f"{field}: must be a finite number, got {show(v)}") from None
    if not math.isfinite(f):
        raise _Bad(f"{field}: must be a finite number, got {show(v)}")
    return f


def _integer(v: Any, field: str, lo: int, hi: int) -> int:
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
        raise _Bad(f"{field}: must be an integer in [{lo}, {hi}], got {show(v)}")
    if not lo <= int(v) <= hi:
        raise _Bad(f"{field}: must be an integer in [{lo}, {hi}], got {show(v)}")
    return int(v)


def _read_npz(data: bytes) -> dict[str, np.ndarray]:
    """The arrays of a sidecar archive held in memory, checked before any allocation: the zip's
    end record (no zip64, a small central directory), member names, compression, declared
    sizes, and each ``.npy`` header's dtype and shape."""
    if data[:6] == b"\x93NUMPY":
        raise _Unreadable("a plain .npy file, not an .npz archive of fitted statistics")
    # the end-of-central-directory record, without a comment, as np.savez writes it
    if len(data) < 22 or data[-22:-18] != b"PK\x05\x06" or data[-2:] != b"\x00\x00":
        raise _Unreadable("not an .npz archive (truncated or corrupt)")
    entries = int.from_bytes(data[-12:-10], "little")
    cd_size = int.from_bytes(data[-10:-6], "little")
    if entries > 2 * len(NPZ_MEMBERS) or cd_size > 64 * 1024:
        raise _Unreadable(f"the archive lists {entries} members in a {cd_size}-byte directory; a sidecar has "
                          f"{len(NPZ_MEMBERS)}")
    if len(data) >= 42 and data[-42:-38] == b"PK\x06\x07":
        raise _Unreadable("zip64 archives are not accepted")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError, NotImplementedError,
            RuntimeError, struct.error, KeyError, OverflowError) as err:
        raise _Unreadable(f"not an .npz archive (truncated or corrupt: {escape(err, 120)})") from None
    seen: dict[str, zipfile.ZipInfo] = {}
    total = 0
    for info in infos:
        key = info.filename[:-4] if info.filename.endswith(".npy") else None
        if key not in NPZ_MEMBERS:
            raise _Bad(f"{escape(repr(info.filename), 80)}: unexpected member (a sidecar holds "
                       f"{', '.join(k + '.npy' for k in NPZ_MEMBERS)})")
        if key in seen:
            raise _Bad(f"{key}: the member appears twice")
        if info.flag_bits & 0x1:
            raise _Unreadable(f"member {key}.npy is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise _Unreadable(f"member {key}.npy uses compression method {info.compress_type} (stored or deflated only)")
        total += info.file_size
        if total > MAX_SIDECAR_BYTES:
            raise _Unreadable(f"the members declare more than {MAX_SIDECAR_BYTES} bytes uncompressed "
                              f"(member {key}.npy: {info.file_size} bytes)")
        seen[key] = info
    missing = [k for k in NPZ_MEMBERS if k not in seen]
    if missing:
        raise _Bad(f"{missing[0]}: missing from the archive")
    try:
        return {k: _read_member(zf, seen[k], k) for k in NPZ_MEMBERS}
    except (zipfile.BadZipFile, EOFError, zlib.error, OSError, NotImplementedError, RuntimeError,
            struct.error, OverflowError) as err:
        raise _Unreadable(f"truncated or corrupt .npz archive ({escape(err, 120)})") from None


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, key: str) -> np.ndarray:
    from numpy.lib import format as npy

    kinds, ndim = NPZ_MEMBERS[key]
    with zf.open(info) as fp:
        try:
            version = npy.read_magic(fp)
            if version == (1, 0):
                shape, fortran, dtype = npy.read_array_header_1_0(fp, max_header_size=4096)
            elif version == (2, 0):
                shape, fortran, dtype = npy.read_array_header_2_0(fp, max_header_size=4096)
            else:
                raise _Bad(f"{key}: .npy format version {version} is not supported")
        except (ValueError, SyntaxError, TypeError) as err:
            if isinstance(err, _Bad):
                raise
            raise _Bad(f"{key}: not a valid .npy member ({escape(err, 120)})") from None
        header = fp.tell()
        if dtype.hasobject or dtype.kind not in kinds or dtype.itemsize == 0 or dtype.fields is not None:
            raise _Bad(f"{key}: expected {_KIND_WORDS[kinds]}, got dtype {escape(str(dtype), 60)}")
        if len(shape) != ndim:
            want = "a single value (0-d array)" if ndim == 0 else "a 1-d array"
            raise _Bad(f"{key}: expected {want}, got a {len(shape)}-d array of shape {escape(str(shape), 60)}")
        count = math.prod(shape)
        nbytes = count * dtype.itemsize
        if nbytes != info.file_size - header:
            raise _Bad(f"{key}: the header declares {nbytes} bytes of data but the member holds "
                       f"{info.file_size - header}")
        raw = fp.read(nbytes)
        if len(raw) != nbytes:
            raise _Unreadable(f"member {key}.npy is truncated")
    arr = np.frombuffer(raw, dtype=dtype).reshape(shape)
    return arr.astype(dtype.newbyteorder("="))


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
                sec.fitted = Fitted.load_npz(resolve_path(fitted), name=fitted)
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
    if x.dtype.kind == "f" and x.dtype.itemsize < 4:
        x = x.astype(np.float32)  # float16: exact in float32
    elif x.dtype.kind not in "iuf":
        raise InputError(f"fit needs a numeric table, got dtype {x.dtype}")
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
    mean, std = moments(x, missing, count)
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


def moments(x: np.ndarray, missing: np.ndarray, count: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column mean and (population) std of a 2-D table (NaN = missing), as float64,
    without overflow or loss of precision to the values' magnitude.

    Integer columns are shifted by their minimum in exact integer arithmetic first (int64
    beyond 2**53 keeps its spread). Float columns whose values could overflow when squared or
    subtracted (or underflow when squared) are scaled by a power of two (exact) first; other
    columns are computed as they are, so their results are unchanged bit for bit."""
    m = x.shape[1]
    if x.dtype.kind in "iu":
        if x.shape[0] == 0 or m == 0:
            return np.zeros(m), np.zeros(m)
        lo = x.min(axis=0)
        if x.dtype.kind == "i":  # x - min as uint64: exact modulo 2**64, and the true difference is < 2**64
            shifted = x.astype(np.int64, copy=False).view(np.uint64) - lo.astype(np.int64).view(np.uint64)
        else:
            shifted = x.astype(np.uint64, copy=False) - lo.astype(np.uint64)
        mean_s, std = moments(shifted.astype(np.float64), missing, count)
        return lo.astype(np.float64) + mean_s, std
    filled = np.where(missing, 0, x)
    with np.errstate(invalid="ignore"):
        amax = np.abs(filled).max(axis=0) if x.shape[0] else np.zeros(m, x.dtype)
    amax = amax.astype(np.float64)
    # float32: x - mean must stay finite; float64: squares and their sum must stay finite
    big = amax > (2.0 ** 120 if x.dtype.itemsize <= 4 else 2.0 ** 480)
    tiny = (amax > 0) & (amax < 2.0 ** -480) if x.dtype == np.float64 else np.zeros(m, bool)
    scale = np.ones(m)
    if big.any() or tiny.any():
        sel = big | tiny
        scale[sel] = np.ldexp(1.0, np.frexp(amax[sel])[1] - 1)  # scaled magnitudes in [1, 2)
        filled = filled.astype(np.float64) / scale  # exact: powers of two
    total = filled.sum(axis=0, dtype=np.float64)
    mean = np.divide(total, count, out=np.zeros(m), where=count > 0)
    dev = np.where(missing, 0.0, filled - mean.astype(filled.dtype))
    var = np.divide((dev.astype(np.float64) ** 2).sum(axis=0), count, out=np.zeros(m), where=count > 1)
    return mean * scale, np.sqrt(var) * scale


def _num(v: float) -> str:
    return "null" if not np.isfinite(v) else (str(int(v)) if float(v).is_integer() else f"{v:g}")


def bad_param(name: str, field: str, message: str) -> ParamError:
    return ParamError(name, [(field, message)])
