"""CSV tables without pandas: a header row, numbers (empty / NaN / NA = missing), and string
columns read as categories (codes) and written back as their strings. Numeric columns are
written with as many decimals as the input column had (full precision if it used exponents)."""
from __future__ import annotations

import csv
import io
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import InputError
from ..core.files import atomic_write

MISSING = {"", "nan", "NaN", "NA", "N/A", "null", "None"}


@dataclass
class CsvTable:
    """A CSV as a float table plus what is needed to write it back the same way."""

    names: list[str]
    x: np.ndarray  # float64 (rows, columns); NaN = missing
    categories: dict[int, list[str]] = field(default_factory=dict)  # column -> code -> string
    decimals: list[int | None] = field(default_factory=list)  # digits after the point (None: full precision)
    missing_token: list[str] = field(default_factory=list)
    #: the cells as read (stripped), so cells a transform leaves unchanged are written back as
    #: they were (integers beyond 2**53, which float64 cannot hold, included)
    cells: list[list[str]] | None = None

    @property
    def frame_kinds(self) -> list[str | None]:
        return ["categorical" if j in self.categories else None for j in range(len(self.names))]


def fit_if_unfitted(pipeline: Any, table: "CsvTable | Any") -> bool:
    """Fit ``pipeline`` on ``table`` (names, values, kind hints) unless it already has fitted
    statistics; returns whether it fitted. Used where no training table is given (preview,
    apply): the table being augmented stands in for it."""
    if pipeline.section("tabular").fitted is not None:
        return False
    pipeline.fit(features=table.x, names=table.names, kinds=table.frame_kinds)
    return True


def read_csv(path: str | os.PathLike[str]) -> CsvTable:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: cannot read CSV ({err})") from None
    rows = list(csv.reader(io.StringIO(text)))
    rows = [r for r in rows if r]
    if len(rows) < 2:
        raise InputError(f"{path}: a CSV needs a header row and at least one data row")
    names = [h.strip() for h in rows[0]]
    if len(set(names)) != len(names) or any(not n for n in names):
        raise InputError(f"{path}:1: column names must be non-empty and distinct, got {names}")
    body = rows[1:]
    for i, r in enumerate(body, start=2):
        if len(r) != len(names):
            raise InputError(f"{path}:{i}: row has {len(r)} fields, the header has {len(names)}")
    x = np.empty((len(body), len(names)), np.float64)
    cats: dict[int, list[str]] = {}
    decimals, tokens = [], []
    for j in range(len(names)):
        cells = [r[j].strip() for r in body]
        miss = [c in MISSING for c in cells]
        tokens.append(next((c for c, m in zip(cells, miss) if m), ""))
        try:
            vals = [math.nan if m else float(c) for c, m in zip(cells, miss)]
            if any(math.isinf(v) for v in vals):
                raise InputError(f"{path}: column {names[j]!r} holds inf")
            x[:, j] = vals
            present = [c for c, m in zip(cells, miss) if not m]
            if any("e" in c.lower() for c in present):
                decimals.append(None)
            else:
                decimals.append(max((len(c.split(".", 1)[1]) if "." in c else 0 for c in present), default=0))
        except ValueError:
            levels = sorted({c for c, m in zip(cells, miss) if not m})
            code = {c: k for k, c in enumerate(levels)}
            x[:, j] = [math.nan if m else code[c] for c, m in zip(cells, miss)]
            cats[j] = levels
            decimals.append(0)
    return CsvTable(names, x, cats, decimals, tokens, [[c.strip() for c in r] for r in body])


def format_cell(t: CsvTable, j: int, v: float) -> str:
    if math.isnan(v):
        return t.missing_token[j]
    if j in t.categories:
        return t.categories[j][int(v)]
    d = t.decimals[j]
    if d is None:
        return repr(float(v))
    return f"{v:.{d}f}" if d else str(int(round(v)))


def write_csv(path: str | os.PathLike[str], t: CsvTable, x: np.ndarray) -> Path:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(t.names)
    x = np.asarray(x, np.float64)
    same = None
    if t.cells is not None and x.shape == t.x.shape:
        same = (x == t.x) | (np.isnan(x) & np.isnan(t.x))
    for i, row in enumerate(x):
        if same is None:
            w.writerow([format_cell(t, j, v) for j, v in enumerate(row)])
        else:
            w.writerow([t.cells[i][j] if same[i, j] else format_cell(t, j, v) for j, v in enumerate(row)])
    return atomic_write(path, buf.getvalue())


def before_after(t: CsvTable, after: np.ndarray, rows: int = 5, width: int = 12) -> str:
    """Compact text: for each of the first rows, the original line then the augmented one,
    changed cells marked with '*'."""
    n = min(rows, t.x.shape[0])

    def cell(s: str, mark: str = "") -> str:
        room = width - len(mark)
        return ((s if len(s) <= room else s[: room - 1] + "~") + mark).ljust(width)

    lines = ["row  " + " ".join(cell(h) for h in t.names)]
    for i in range(n):
        before = [format_cell(t, j, v) for j, v in enumerate(t.x[i])]
        now = [format_cell(t, j, v) for j, v in enumerate(after[i])]
        lines.append(f"{i:<4} " + " ".join(cell(b) for b in before))
        lines.append("  -> " + " ".join(cell(a, "*" if a != b else "") for a, b in zip(now, before)))
    same = np.isnan(t.x) & np.isnan(after) | (t.x == after)
    lines.append(f"changed cells: {int((~same).sum())} of {t.x.size} ({(~same).mean():.1%}) in the whole table")
    return "\n".join(lines)
