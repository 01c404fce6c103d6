"""Every benchmark suite runs (``augnoise bench <suite> --quick``): a benchmark that broke would
otherwise go unnoticed until someone re-measures the README's tables. Nothing here is timed."""
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

SUITES = sorted(p.stem for p in Path(ROOT, "benchmarks").glob("*.py") if not p.stem.startswith("_"))


def test_every_suite_is_listed():
    assert {"adversarial", "audio", "batch", "image", "tabular"} <= set(SUITES)


@pytest.mark.parametrize("suite", SUITES)
def test_benchmark_suite_runs(suite):
    res = subprocess.run([sys.executable, "-m", "augnoise.cli.main", "bench", suite, "--quick"],
                         capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0, res.stderr[-2000:]
    rows = [line for line in res.stdout.splitlines() if line.startswith("|")]
    assert len(rows) >= 3, res.stdout[-2000:]  # a markdown table: header, rule, at least one row
    assert "Traceback" not in res.stderr and "unexpected error" not in res.stderr
