"""``augnoise bench SUITE [--json FILE]``: runs the suite ``augnoise.benchmarks.SUITE`` (its
markdown tables on stdout) and, with ``--json``, writes the results as data: the suite, the
machine, library versions, and every table's rows with numbers parsed (rates, ratios), for
:mod:`augnoise.benchmarks._readme` to put into docs/benchmarks.md."""
from __future__ import annotations

import contextlib
import importlib
import io
import json
import pkgutil
import re
import sys
import time
from typing import Any

from ..core.errors import InputError

#: libraries whose versions a result records (those installed)
LIBRARIES = ("augnoise", "numpy", "numba", "scipy", "torch", "albumentations", "opencv-python-headless",
             "audiomentations", "kornia", "torchattacks", "ray", "soxr")


def suites() -> list[str]:
    """The benchmark suites in :mod:`augnoise.benchmarks` (modules not starting with ``_``)."""
    from .. import benchmarks

    return sorted(m.name for m in pkgutil.iter_modules(benchmarks.__path__) if not m.name.startswith("_"))


class _Tee(io.TextIOBase):
    def __init__(self, out: Any):
        self.out, self.buf = out, io.StringIO()

    def write(self, s: str) -> int:
        self.out.write(s)
        return self.buf.write(s)

    def flush(self) -> None:
        self.out.flush()


def _number(cell: str) -> Any:
    """A table cell as a number where it is one (``1,234``, ``3.91x``, ``-1.7%``), else the text."""
    m = re.fullmatch(r"\s*(-?[\d,]*\.?\d+)\s*(x|%)?\s*", cell)
    if not m:
        return cell.strip()
    v = float(m.group(1).replace(",", ""))
    return v / 100.0 if m.group(2) == "%" else v


def parse_tables(text: str) -> list[dict[str, Any]]:
    """The markdown tables of a suite's output: per table its header, its rows (cells as text and
    as numbers) and the line of text just before it (its title)."""
    tables: list[dict[str, Any]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("|") and i + 1 < len(lines) and re.match(r"^\|[\s:|-]+\|$", lines[i + 1]):
            header = [c.strip() for c in lines[i].strip("|").split("|")]
            title = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), "")
            rows, j = [], i + 2
            while j < len(lines) and lines[j].startswith("|"):
                cells = [c.strip() for c in lines[j].strip("|").split("|")]
                rows.append({"cells": cells, "values": {h: _number(c) for h, c in zip(header, cells)}})
                j += 1
            tables.append({"title": title, "header": header, "align": lines[i + 1], "rows": rows})
            i = j
        else:
            i += 1
    return tables


def versions() -> dict[str, str]:
    from importlib import metadata

    out = {"python": sys.version.split()[0]}
    for name in LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def cmd_bench(suite: str, quick: bool = False, json_path: str | None = None) -> int:
    available = suites()
    if suite not in available:
        raise InputError(f"no benchmark {suite!r}; available: {', '.join(available)}")
    mod = importlib.import_module(f"augnoise.benchmarks.{suite}")
    tee = _Tee(sys.stdout)
    with contextlib.redirect_stdout(tee):
        status = int(mod.main(quick=quick) or 0)
    if json_path is not None:
        from ..benchmarks._common import machine
        from ..core.files import atomic_write

        result = {"suite": suite, "quick": quick, "date": time.strftime("%Y-%m-%d"), "machine": machine(),
                  "versions": versions(), "tables": parse_tables(tee.buf.getvalue())}
        atomic_write(json_path, json.dumps(result, indent=1) + "\n")
        print(f"wrote {json_path}", file=sys.stderr)
    return status
