"""The JSON Schema of the pipeline file format (``augnoise schema``, as a fresh process prints
it) covers the whole format: every shipped pipeline validates, sections and nested steps
included, and it refuses what the loader refuses for the same reason; the ``version:`` key
(issue 17)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

import augnoise
from augnoise.core.config import FORMAT_VERSION
from tests.conftest import ROOT

SHIPPED = sorted(Path(ROOT, "pipelines").rglob("*.yaml")) + sorted(Path(ROOT, "examples").rglob("*.yaml"))


@pytest.fixture(scope="module")
def validator():
    out = subprocess.run([sys.executable, "-m", "augnoise.cli.main", "schema"], capture_output=True, text=True,
                         cwd=ROOT)
    assert out.returncode == 0, out.stderr
    schema = json.loads(out.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_shipped_pipelines_are_many():
    assert len(SHIPPED) >= 10 and any("tabular" in p.read_text() for p in SHIPPED)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_pipeline_validates(validator, path):
    data = yaml.safe_load(path.read_text())
    errors = [e.message for e in validator.iter_errors(data)]
    assert not errors, errors[:3]


def test_dumped_pipelines_validate(validator):
    p = augnoise.loads("""
fields: {mask: {layout: HW}}
sample:
  - OneOf:
      transforms:
        - image.AdditiveNoise: {distribution: laplace, std: 0.05}
        - image.GaussianNoise: {std: 0.05, grain: 2}
  - albumentations.HorizontalFlip: {p: 0.5}
""")
    data = yaml.safe_load(augnoise.dumps(p))
    assert data["version"] == FORMAT_VERSION
    assert not [e.message for e in validator.iter_errors(data)]


@pytest.mark.parametrize("doc, why", [
    ({"sample": [{"image.GaussianNoise": {"std": "big"}}]}, "std of the wrong type"),
    ({"sample": [{"image.GaussianNoise": {"stdev": 0.1}}]}, "unknown parameter"),
    ({"sample": [{"image.Nope": {}}]}, "unknown step"),
    ({"tabular": {"columns": {"a": "weird"}}, "sample": []}, "unknown column kind"),
    ({"version": FORMAT_VERSION + 1, "sample": []}, "newer format version"),
    ({"sampel": []}, "unknown top-level key"),
    ({"sample": [{"audio.BackgroundNoise": {"paths": "noise", "noise_transform": [{"image.Nope": {}}]}}]},
     "unknown step inside noise_transform"),
    ({"sample": [{"audio.BackgroundNoise": {"paths": "noise", "level": {"mode": "loud", "snr_db": 3}}}]},
     "unknown level mode"),
])
def test_the_schema_refuses_what_the_loader_refuses(validator, doc, why):
    assert list(validator.iter_errors(doc)), why
    with pytest.raises(augnoise.ConfigError):
        augnoise.loads(yaml.safe_dump(doc), base_dir=Path(ROOT, "pipelines"))


def test_version_key():
    text = augnoise.dumps(augnoise.Pipeline(sample=[], seed=3))
    assert text.startswith(f"version: {FORMAT_VERSION}\nseed: 3\n")
    assert augnoise.loads(text).seed == 3
    assert augnoise.loads("seed: 3\nsample: []\n").seed == 3  # files without one are read as version 1
    with pytest.raises(augnoise.ConfigError) as err:
        augnoise.loads(f"version: {FORMAT_VERSION + 1}\nseed: 3\nfuture_key: {{a: 1}}\nsample: []\n", source="new.yaml")
    assert str(err.value) == (f"new.yaml:1: version: file format version {FORMAT_VERSION + 1} is newer than this "
                              f"augnoise ({augnoise.__version__}) reads (up to {FORMAT_VERSION}): upgrade augnoise")
    with pytest.raises(augnoise.ConfigError, match="version: must be a positive integer"):
        augnoise.loads("version: one\nsample: []\n")
