"""Put benchmark results into the documentation's benchmark tables: ``python -m
augnoise.benchmarks._readme RESULT.json [RESULT.json ...] [--page docs/benchmarks.md]``.

A table generated from results has a marker line before it,
``<!-- bench SUITE K -->`` (the K-th table, from 1, that ``augnoise bench SUITE`` prints); the
table after each marker whose suite is among the given results is replaced by that table as
``augnoise bench SUITE --json FILE`` recorded it, and the line after the table, when it starts
with ``Measured:``, by the machine, date and library versions of the run. Other text is left
as it is."""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

MARK = re.compile(r"^<!-- bench (\w+) (\d+) -->$")


def render(table: dict[str, Any]) -> list[str]:
    """A recorded table as markdown lines, exactly as the suite printed it."""
    out = ["| " + " | ".join(table["header"]) + " |", table["align"]]
    out += ["| " + " | ".join(row["cells"]) + " |" for row in table["rows"]]
    return out


#: the peers each suite measures against (their versions go into its "Measured:" line)
PEERS = {"image": ("albumentations", "opencv-python-headless"), "noises": ("albumentations", "audiomentations"),
         "dispatch": ("albumentations",), "batch": ("kornia",), "audio": ("audiomentations",),
         "loader": ("albumentations",), "adversarial": ("torchattacks",), "ray": ("ray",)}


def measured(result: dict[str, Any]) -> str:
    """The "Measured:" line of a run: machine, library versions (augnoise's and the suite's
    peers'), date and command."""
    v = result.get("versions", {})
    names = ("augnoise", "numpy", "numba", "torch", *PEERS.get(result["suite"], ()))
    libs = ", ".join(f"{k} {v[k]}" for k in names if k in v)
    return f"Measured: {result['machine']}; {libs}; {result['date']} (`augnoise bench {result['suite']} --json`)."


def update(text: str, results: list[dict[str, Any]]) -> tuple[str, int]:
    """``text`` with every marked table of the given suites replaced; and how many were."""
    by_suite = {r["suite"]: r for r in results}
    lines = text.split("\n")
    out: list[str] = []
    i, done = 0, 0
    while i < len(lines):
        line = lines[i]
        out.append(line)
        m = MARK.match(line.strip())
        i += 1
        if not m or m.group(1) not in by_suite:
            continue
        result, k = by_suite[m.group(1)], int(m.group(2))
        if not 1 <= k <= len(result["tables"]):
            raise SystemExit(f"marker '{line.strip()}': the {m.group(1)} run has {len(result['tables'])} table(s)")
        if i >= len(lines) or not lines[i].startswith("|"):
            raise SystemExit(f"marker '{line.strip()}' is not followed by a table")
        while i < len(lines) and lines[i].startswith("|"):
            i += 1
        out += render(result["tables"][k - 1])
        if i + 1 < len(lines) and lines[i] == "" and lines[i + 1].startswith("Measured:"):
            out += ["", measured(result)]
            i += 2
        done += 1
    return "\n".join(out), done


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m augnoise.benchmarks._readme", description=__doc__.split("\n\n")[0])
    p.add_argument("results", nargs="+", help="files written by 'augnoise bench SUITE --json FILE'")
    p.add_argument("--page", "--readme", dest="page", default="docs/benchmarks.md",
                   help="the markdown page whose marked tables are rewritten (default: %(default)s)")
    args = p.parse_args(argv)
    results = [json.loads(Path(f).read_text()) for f in args.results]
    path = Path(args.page)
    text, n = update(path.read_text(), results)
    from ..core.files import atomic_write

    atomic_write(path, text)
    print(f"{path}: {n} table(s) regenerated from {', '.join(args.results)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
