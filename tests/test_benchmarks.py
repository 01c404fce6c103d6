"""Every benchmark suite runs (``augnoise bench <suite> --quick``): a benchmark that broke would
otherwise go unnoticed until someone re-measures the README's tables. Nothing here is timed."""
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

SUITES = sorted(p.stem for p in Path(ROOT, "augnoise", "benchmarks").glob("*.py") if not p.stem.startswith("_"))


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


def test_json_results_and_the_readme_script(tmp_path):
    """``--json`` writes the run as data; the benchmark page's marked tables are exactly what the script
    renders from the committed results, and a changed result changes only its table."""
    import json

    from augnoise.benchmarks import _readme

    res = subprocess.run([sys.executable, "-m", "augnoise.cli.main", "bench", "tabular", "--quick", "--json",
                          str(tmp_path / "t.json")], capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0, res.stderr[-2000:]
    data = json.loads((tmp_path / "t.json").read_text())
    assert data["suite"] == "tabular" and data["quick"] and "numpy" in data["versions"] and data["machine"]
    table = data["tables"][0]
    assert table["rows"] and all(len(r["cells"]) == len(table["header"]) for r in table["rows"])
    printed = [line for line in res.stdout.splitlines() if line.startswith("|")]
    assert _readme.render(table) == printed[:len(table["rows"]) + 2]  # the table as the suite printed it
    assert any(isinstance(v, float) for r in table["rows"] for v in r["values"].values())

    from tests.docs_pages import PAGES

    results = [json.loads(f.read_text()) for f in sorted(Path(ROOT, "docs", "bench").glob("*.json"))]
    recorded = {r["suite"] for r in results}
    marked = 0
    for page in PAGES:  # every marked table of every page is its committed result, rendered
        text = page.read_text()
        suites = [m.group(1) for m in map(_readme.MARK.match, text.split("\n")) if m]
        assert set(suites) <= recorded, f"{page.name}: a marked table without a recorded result"
        rendered, n = _readme.update(text, results)
        assert n == len(suites) and rendered == text, page.name
        marked += n
    from augnoise.cli.bench import suites

    assert recorded == set(suites()) and marked >= len(suites())  # every suite recorded and shown
    readme = Path(ROOT, "docs", "benchmarks.md").read_text()
    noises = next(r for r in results if r["suite"] == "noises")
    noises["tables"][0]["rows"][0]["cells"][-1] = "99.99x"
    changed, _ = _readme.update(readme, [noises])
    diff = [(a, b) for a, b in zip(readme.split("\n"), changed.split("\n")) if a != b]
    assert len(diff) == 1 and diff[0][1].endswith("| 99.99x |")
