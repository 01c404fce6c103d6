"""Every example pipeline loads, validates, round-trips, and runs on the sample files."""
from pathlib import Path

import numpy as np
import pytest

import augnoise
from augnoise.image.io import read_image
from tests.conftest import ROOT

PIPELINES = sorted(Path(ROOT, "pipelines").glob("*.yaml"))
SAMPLES = sorted(Path(ROOT, "samples").glob("*.png"))


def test_there_are_examples_and_small_samples():
    assert len(PIPELINES) >= 2 and len(SAMPLES) >= 2
    assert sum(p.stat().st_size for p in Path(ROOT, "samples").iterdir()) < 1 << 20
    kinds = {read_image(p).ndim for p in SAMPLES}
    assert kinds == {2, 3}  # a grayscale and a colour sample


@pytest.mark.parametrize("path", PIPELINES, ids=lambda p: p.name)
def test_pipeline_file(path):
    p = augnoise.load(path)
    assert augnoise.loads(p.dumps()) == p
    for sample in SAMPLES:
        img = read_image(sample)
        out = [p(img, index=i) for i in range(3)]
        assert all(o.dtype == img.dtype and o.shape == img.shape for o in out)
        assert not np.array_equal(out[0], out[1])
