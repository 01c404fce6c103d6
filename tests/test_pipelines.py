"""Every example pipeline loads, validates, round-trips, and runs on the matching sample files."""
from pathlib import Path

import numpy as np
import pytest

import augnoise
from augnoise.audio.io import read_audio
from augnoise.core.compose import Composite
from augnoise.image.io import read_image
from augnoise.tabular.io import read_csv
from tests.conftest import ROOT

PIPELINES = sorted(Path(ROOT, "pipelines").glob("*.yaml"))
IMAGES = sorted(Path(ROOT, "samples").glob("*.png"))
AUDIO = sorted(Path(ROOT, "samples").glob("*.wav"))
CSV = sorted(Path(ROOT, "samples").glob("*.csv"))


def modalities(steps):
    out = set()
    for s in steps:
        if isinstance(s, Composite):
            out |= modalities(s.transforms)
        else:
            out.add(getattr(s, "modality", "image"))  # albumentations steps are image steps
    return out


def test_there_are_examples_and_small_samples():
    assert len(PIPELINES) >= 4 and len(IMAGES) >= 2 and AUDIO and CSV
    assert sum(p.stat().st_size for p in Path(ROOT, "samples").rglob("*") if p.is_file()) < 1 << 20
    assert {read_image(p).ndim for p in IMAGES} == {2, 3}  # a grayscale and a colour sample
    assert all(p.stat().st_size < 200_000 for p in AUDIO)


@pytest.mark.parametrize("path", PIPELINES, ids=lambda p: p.name)
def test_pipeline_file(path):
    p = augnoise.load(path)
    assert augnoise.loads(p.dumps(), base_dir=path.parent) == p
    kinds = modalities(p.sample) or modalities(p.batch)
    assert len(kinds) == 1, f"{path.name} mixes modalities {kinds}"
    if kinds == {"adversarial"}:  # batch stage only: needs a model
        import torch

        torch.manual_seed(0)
        net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))
        x, y = torch.rand(32, 1, 8, 8), torch.randint(0, 10, (32,))
        a = p.apply_batch(x, range(32), model=net, targets=y)
        assert a.shape == x.shape and not torch.equal(a, x)
        return
    if kinds == {"image"}:
        samples = [({"image": read_image(f)}, "image") for f in IMAGES]
    elif kinds == {"tabular"}:
        t = read_csv(CSV[0])
        p.fit(features=t.x, names=t.names)
        samples = [({"features": t.x[i]}, "features") for i in range(5)] + [({"features": t.x}, "features")]
    else:
        samples = []
        for f in AUDIO:
            audio, info = read_audio(f)
            samples.append(({"audio": audio, "sample_rate": info.sample_rate}, "audio"))
    for sample, field in samples:
        outs = [p(sample, index=i)[field] for i in range(3)]
        assert all(np.array_equal(np.isnan(o), np.isnan(sample[field])) for o in outs) if field == "features" else True
        assert all(o.dtype == sample[field].dtype and o.shape == sample[field].shape for o in outs)
        if field != "features" or sample[field].ndim == 2:  # a single row may by chance be untouched
            assert not np.array_equal(outs[0], outs[1], equal_nan=True)
