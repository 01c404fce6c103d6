"""audio.BackgroundNoise's noise_transform (issue 16): steps applied to the noise only, before its
level is set; keyed as sub-steps k.1, k.2; located errors; YAML, records and replay; both stages."""
from __future__ import annotations

import math
import shutil
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

import augnoise
from augnoise.audio import BackgroundNoise, GaussianNoise

RATE = 16000
NOISE = str(Path(__file__).resolve().parents[2] / "pipelines" / "noise")


def tone(channels=1, n=RATE):
    t = np.arange(n) / RATE
    return np.stack([0.3 * np.sin(2 * np.pi * 440 * (c + 1) * t) for c in range(channels)]).astype(np.float32)


def added(step, x, index=0, seed=1):
    out = augnoise.Pipeline(sample=[step], seed=seed)({"audio": x, "sample_rate": RATE}, index=index)["audio"]
    return out.astype(np.float64) - x


def test_applied_to_the_noise_only_and_the_level_holds_after_it():
    x = tone()
    plain = added(BackgroundNoise(paths=NOISE, snr_db=10, clip=False), x)
    hiss = added(BackgroundNoise(paths=NOISE, snr_db=10, clip=False,
                                 noise_transform=[GaussianNoise(std=0.05, clip=False)]), x)
    snr = 10 * np.log10((x.astype(np.float64) ** 2).mean() / (hiss ** 2).mean())
    assert abs(snr - 10) < 1e-3  # the SNR is set on the transformed noise
    # the same segment (the step's own draws do not move), plus white noise: regress it out
    a = float((hiss * plain).sum() / (plain * plain).sum())
    white = hiss - a * plain
    n = white.size
    assert white.std() > 0.1 * hiss.std()
    assert abs(np.corrcoef(white.ravel(), x.ravel())[0, 1]) < 5 / math.sqrt(n)  # nothing of the signal
    lag1 = float((white[:, 1:] * white[:, :-1]).mean() / white.var())
    assert abs(lag1) < 5 / math.sqrt(n)  # white: the child's noise, scaled with the segment


def test_absolute_level_with_a_transform_on_silence():
    silence = np.zeros((2, 8000), np.float32)
    step = BackgroundNoise(paths=NOISE, level={"mode": "absolute", "rms_db": -30}, clip=False,
                           noise_transform=[GaussianNoise(std=0.2, clip=False)])
    d = added(step, silence)
    assert np.allclose(10 * np.log10((d ** 2).mean(axis=1)), -30, atol=0.01)


def test_sub_steps_are_keyed_recorded_and_replayed():
    x = tone(2)
    p = augnoise.Pipeline(sample=[BackgroundNoise(paths=NOISE, snr_db=[5, 15],
                                                  noise_transform=[GaussianNoise(std=[0.01, 0.1])])], seed=3)
    out, rec = p({"audio": x, "sample_rate": RATE}, index=4, record=True)
    out = out["audio"]
    assert set(rec["steps"]) == {"1", "1.1"} and rec["steps"]["1.1"]["name"] == "audio.GaussianNoise"
    assert np.array_equal(p.replay({"audio": x, "sample_rate": RATE}, rec)["audio"], out)
    again = p({"audio": x, "sample_rate": RATE}, index=5)["audio"]
    assert not np.array_equal(again, out)


def test_yaml_round_trip_and_located_errors(tmp_path):
    shutil.copytree(NOISE, tmp_path / "noise")
    text = textwrap.dedent("""\
        seed: 2
        sample:
          - audio.BackgroundNoise:
              paths: noise
              snr_db: 10
              noise_transform:
                - audio.GaussianNoise: {std: 0.02}
        """)
    path = tmp_path / "p.yaml"
    path.write_text(text)
    p = augnoise.load(path)
    assert augnoise.loads(augnoise.dumps(p), base_dir=tmp_path) == p
    x = tone()
    assert p({"audio": x, "sample_rate": RATE}, index=0)["audio"].shape == x.shape
    path.write_text(text.replace("std: 0.02", "std: 5"))
    with pytest.raises(augnoise.ConfigError, match=r"p.yaml:7: step 1.1 \(audio.GaussianNoise\): std: must be <= 1"):
        augnoise.load(path)
    path.write_text(text + "        - image.GaussianNoise: {std: 0.1}\n")
    with pytest.raises(augnoise.ConfigError, match="noise_transform: step 2 \\(image.GaussianNoise\\): only audio steps"):
        augnoise.load(path)


def test_python_mappings_and_bad_items():
    step = BackgroundNoise(paths=NOISE, noise_transform=[{"audio.GaussianNoise": {"std": 0.01}}])
    assert step.transforms[0] == GaussianNoise(std=0.01)
    with pytest.raises(augnoise.ParamError, match="noise_transform: step 1 \\(audio.GaussianNoise\\): std: must be"):
        BackgroundNoise(paths=NOISE, noise_transform=[{"audio.GaussianNoise": {"std": 9}}])
    with pytest.raises(augnoise.ParamError, match="noise_transform: must be a non-empty list"):
        BackgroundNoise(paths=NOISE, noise_transform=[])


def test_batch_stage_equals_vectorised_sample_stage_on_tensors():
    x = np.stack([tone(2), 0.5 * tone(2)])
    step = BackgroundNoise(paths=NOISE, snr_db=12, noise_transform=[GaussianNoise(std=0.03)])
    batch = augnoise.Pipeline(batch=[step], seed=8).apply_batch({"audio": torch.from_numpy(x), "sample_rate": RATE},
                                                                  [0, 1])["audio"].numpy()
    ones = [augnoise.Pipeline(batch=[step], seed=8).apply_batch(
        {"audio": torch.from_numpy(x[i:i + 1]), "sample_rate": RATE}, [i])["audio"].numpy()[0] for i in range(2)]
    assert np.allclose(batch, np.stack(ones), atol=1e-6)
    d = batch.astype(np.float64) - x
    snr = 10 * np.log10((x.astype(np.float64) ** 2).mean(axis=2) / (d ** 2).mean(axis=2))
    assert np.allclose(snr, 12, atol=1e-3)
