"""``augnoise gallery``: every image, audio and tabular transform with a level parameter gets
its three levels rendered, in increasing order of noise, and a page that shows them all."""
from __future__ import annotations

import subprocess
import sys

import cv2
import numpy as np
import pytest
import soundfile as sf

import augnoise
from augnoise.cli.gallery import LEVELS, _steps, level_param
from augnoise.core.registry import get_transform, transform_names
from tests.conftest import ROOT

IMAGE = augnoise.transform_names("image")
AUDIO = augnoise.transform_names("audio")


def test_every_noise_transform_has_a_level_parameter():
    for name in [*IMAGE, *AUDIO, *transform_names("tabular")]:
        assert level_param(get_transform(name)) in LEVELS, name


@pytest.mark.parametrize("name", IMAGE)
def test_image_levels_add_more_noise(name):
    img = np.full((48, 48, 3), 128, np.uint8)
    img[:, :24] = 60
    _, steps = _steps(name)
    change = [np.abs(augnoise.Pipeline(sample=[s], seed=0)(img, index=0).astype(float) - img).mean() for s in steps]
    assert change[0] < change[1] < change[2], change


@pytest.mark.parametrize("name", AUDIO)
def test_audio_levels_add_more_noise(name):
    t = np.arange(8000) / 8000
    x = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None]
    _, steps = _steps(name)
    power = [float(((augnoise.Pipeline(sample=[s], seed=0)({"audio": x, "sample_rate": 8000}, index=0)["audio"] - x)
                    ** 2).mean()) for s in steps]
    assert power[0] < power[1] < power[2], power


def test_the_command_writes_a_picture_per_transform_and_the_page(tmp_path):
    img = np.random.default_rng(0).integers(0, 256, (40, 40, 3), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / "i.png"), img)
    sf.write(str(tmp_path / "a.wav"), 0.3 * np.sin(2 * np.pi * 440 * np.arange(4000) / 8000), 8000)
    (tmp_path / "t.csv").write_text("a,b,c\n" + "\n".join(f"{i},{i * 0.5},{i % 3}" for i in range(20)) + "\n")
    out = subprocess.run([sys.executable, "-m", "augnoise.cli.main", "gallery", str(tmp_path / "g"), "--image",
                          str(tmp_path / "i.png"), "--audio", str(tmp_path / "a.wav"), "--table", str(tmp_path / "t.csv")],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    page = (tmp_path / "g" / "gallery.md").read_text()
    for name in [*IMAGE, *AUDIO]:
        png = tmp_path / "g" / f"{name.replace('.', '_')}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and f"## {name}" in page and f"]({png.name})" in page
    for name in transform_names("tabular"):
        assert (tmp_path / "g" / f"{name.replace('.', '_')}.txt").is_file() and f"## {name}" in page
