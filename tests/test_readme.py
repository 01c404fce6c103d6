"""Every YAML and Python example in the README and the documentation pages runs, and the
shown CLI output is real."""
import doctest
import re
import subprocess
import sys
from pathlib import Path

import pytest

import augnoise
from tests.conftest import ROOT
from tests.docs_pages import PAGES, blocks

README = Path(ROOT, "README.md").read_text()
BLOCKS = re.findall(r"```(\w+)\n(.*?)```", README, flags=re.S)
DOCS = "\n".join(p.read_text() for p in PAGES)
PYTHON = blocks("python")
YAML = blocks("yaml")


def _id(v: tuple[str, str]) -> str:
    return f"{v[0]}:{v[1].strip().splitlines()[-1][:40]}"


def test_readme_has_examples():
    assert sum(page == "README.md" for page, _ in PYTHON) >= 2 and len(PYTHON) >= 5 and len(YAML) >= 2
    lang, first = BLOCKS[0]  # the first thing a reader runs: exactly the two make commands
    assert lang == "sh" and [l.split("#")[0].strip() for l in first.strip().splitlines()] == ["make demo", "make test"]
    assert "make test" in Path(ROOT, ".ci", "run").read_text()


@pytest.mark.parametrize("page, code", PYTHON, ids=[_id(b) for b in PYTHON])
def test_python_example_runs(page, code, monkeypatch):
    monkeypatch.chdir(ROOT)
    exec(compile(code, page, "exec"), {"__name__": "readme"})


@pytest.mark.parametrize("page, text", YAML, ids=[f"{p}:{len(t)}" for p, t in YAML])
def test_yaml_example_loads(page, text):
    base = Path(ROOT, "pipelines")  # YAML examples are written as files in pipelines/
    p = augnoise.loads(text, page, base_dir=base)
    assert augnoise.loads(p.dumps(), base_dir=base) == p


@pytest.mark.parametrize("text", [t for _, t in YAML if t.startswith("# pipelines/")], ids=lambda t: t.split()[1])
def test_yaml_example_is_the_shipped_pipeline(text):
    path = Path(ROOT, text.split()[1])
    assert augnoise.loads(text, base_dir=path.parent) == augnoise.load(path)


# a python block followed by "prints ...:" and a text block: the text is what the block prints
PRINTED = re.findall(r"```python\n((?:(?!```).)*)```\n\nprints[^\n]*:\n\n```text\n((?:(?!```).)*)```", DOCS,
                     flags=re.S)


def test_readme_has_printed_output():
    assert PRINTED, "the corruption report example shows its printed tables"


@pytest.mark.parametrize("code, shown", PRINTED, ids=lambda v: str(len(v)))
def test_printed_output_shown_is_real(code, shown, monkeypatch):
    import contextlib
    import io

    monkeypatch.chdir(ROOT)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "docs", "exec"), {"__name__": "readme"})
    assert out.getvalue().strip().splitlines() == shown.strip().splitlines()


def test_validate_output_shown_is_real():
    block = re.search(r"\$ augnoise validate (\S+)\n(.*?)```", DOCS, flags=re.S)
    path, shown = block.group(1), block.group(2).strip().splitlines()
    out = subprocess.run([sys.executable, "-m", "augnoise.cli.main", "validate", path],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 2 and out.stderr.strip().splitlines() == shown


def test_doctests():
    import augnoise.core.pipeline as mod

    result = doctest.testmod(mod)
    assert result.attempted > 0 and result.failed == 0
