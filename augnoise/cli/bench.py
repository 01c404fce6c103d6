"""``augnoise bench SUITE``: runs ``benchmarks/SUITE.py`` from the project checkout."""
from __future__ import annotations

import importlib.util
from pathlib import Path

from ..core.errors import InputError


def benchmarks_dir() -> Path:
    """The ``benchmarks/`` folder: beside the package (source checkout) or in the cwd."""
    for base in (Path(__file__).resolve().parents[2], Path.cwd()):
        d = base / "benchmarks"
        if d.is_dir():
            return d
    raise InputError("benchmarks/ not found: run 'augnoise bench' from the augnoise source checkout")


def cmd_bench(suite: str, quick: bool = False) -> int:
    d = benchmarks_dir()
    available = sorted(p.stem for p in d.glob("*.py") if not p.stem.startswith("_"))
    if suite not in available:
        raise InputError(f"no benchmark {suite!r}; available: {', '.join(available)}")
    spec = importlib.util.spec_from_file_location(f"augnoise_bench_{suite}", d / f"{suite}.py")
    mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return int(mod.main(quick=quick) or 0)
