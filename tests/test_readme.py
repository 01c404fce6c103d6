"""Every YAML and Python example in the README runs, and the shown CLI output is real."""
import doctest
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import augnoise
from tests.conftest import ROOT

README = Path(ROOT, "README.md").read_text()
BLOCKS = re.findall(r"```(\w+)\n(.*?)```", README, flags=re.S)
PYTHON = [b for lang, b in BLOCKS if lang == "python"]
YAML = [b for lang, b in BLOCKS if lang == "yaml"]


def test_readme_has_examples():
    assert len(PYTHON) >= 5 and len(YAML) >= 2
    assert README.splitlines()[7:9] == ["make demo   # creates .venv if missing, installs, previews the sample pipelines into out/",
                                        "make test   # creates .venv if missing, installs, runs the whole test suite"]


@pytest.mark.parametrize("code", PYTHON, ids=lambda c: c.strip().splitlines()[-1][:40])
def test_python_example_runs(code, monkeypatch):
    monkeypatch.chdir(ROOT)
    exec(compile(code, "README.md", "exec"), {"__name__": "readme"})


@pytest.mark.parametrize("text", YAML, ids=lambda t: str(len(t)))
def test_yaml_example_loads(text):
    p = augnoise.loads(text, "README.md")
    assert augnoise.loads(p.dumps()) == p


def test_yaml_example_is_the_shipped_pipeline():
    shipped = Path(ROOT, "pipelines", "image_noise.yaml").read_text()
    assert augnoise.loads(YAML[0]) == augnoise.loads(shipped)


def test_validate_output_shown_is_real():
    block = re.search(r"\$ augnoise validate (\S+)\n(.*?)```", README, flags=re.S)
    path, shown = block.group(1), block.group(2).strip().splitlines()
    out = subprocess.run([sys.executable, "-m", "augnoise.cli.main", "validate", path],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 2 and out.stderr.strip().splitlines() == shown


def test_doctests():
    import augnoise.core.pipeline as mod

    result = doctest.testmod(mod)
    assert result.attempted > 0 and result.failed == 0
