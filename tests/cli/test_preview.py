"""``augnoise preview`` that scales (issue 17, item 2): tiles bounded in size (full size on
request), titled with what each variant drew, spectrograms per channel, silence shown and
reported, CSV views written, several CSVs each fitted on its own."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import soundfile as sf

from tests.conftest import ROOT


def run(*args):
    return subprocess.run([sys.executable, "-m", "augnoise.cli.main", *args], capture_output=True, text=True, cwd=ROOT)


def test_large_images_give_bounded_grids_and_full_size_on_request(tmp_path):
    big = np.random.default_rng(0).integers(0, 256, (2000, 3000, 3), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / "big.png"), big)
    out = run("preview", "pipelines/image_noise.yaml", str(tmp_path / "big.png"), "-n", "2", "-o", str(tmp_path / "a"))
    assert out.returncode == 0, out.stderr
    grid = cv2.imread(str(tmp_path / "a" / "big_preview.png"))
    assert grid.shape[1] <= 3 * (512 + 4) + 4 and grid.shape[0] <= 512 + 200  # three tiles of at most 512 px
    out = run("preview", "pipelines/image_noise.yaml", str(tmp_path / "big.png"), "-n", "1", "--max-size", "0",
              "-o", str(tmp_path / "b"))
    assert out.returncode == 0 and cv2.imread(str(tmp_path / "b" / "big_preview.png")).shape[1] >= 2 * 3000


def test_tiles_are_titled_with_the_drawn_steps_and_values(monkeypatch, tmp_path):
    import augnoise
    from augnoise.cli import preview
    from augnoise.image import io

    seen = {}

    def grid(images, labels, **kw):
        seen["labels"] = list(labels)
        return io.to_display(images[0])

    monkeypatch.setattr(io, "make_grid", grid)
    pipe = augnoise.load(Path(ROOT, "pipelines", "image_noise.yaml"))
    path = str(Path(ROOT, "samples", "chart_gray.png"))
    preview.preview_image(pipe, path, 3, preview.Outputs([path], tmp_path))
    labels = seen["labels"]
    assert labels[0].startswith("original ") and len(labels) == 4
    for i, label in enumerate(labels[1:]):
        assert label.startswith(f"#{i}: ") and ("GaussianNoise std=" in label or label.endswith("(no step applied)"))
    assert any("GaussianNoise std=" in label for label in labels[1:])


def test_spectrograms_draw_every_channel_and_silence_is_reported(tmp_path):
    t = np.arange(8000) / 8000
    sf.write(str(tmp_path / "stereo.wav"), np.stack([np.sin(2 * np.pi * 440 * t), 0.1 * np.sin(2 * np.pi * 880 * t)], 1) * 0.3, 8000)
    sf.write(str(tmp_path / "mono.wav"), 0.3 * np.sin(2 * np.pi * 440 * t), 8000)
    sf.write(str(tmp_path / "silent.wav"), np.zeros(8000), 8000, subtype="PCM_16")
    out = run("preview", "pipelines/audio_noise.yaml", str(tmp_path / "stereo.wav"), str(tmp_path / "mono.wav"),
              str(tmp_path / "silent.wav"), "-n", "1", "-o", str(tmp_path / "o"))
    assert out.returncode == 0, out.stderr
    heights = {name: cv2.imread(str(tmp_path / "o" / f"{name}_spectrogram.png")).shape[0] for name in ("stereo", "mono")}
    assert heights["stereo"] == round(90 * (2.0 * 4 + 0.6)) and heights["mono"] == round(90 * (2.0 * 2 + 0.6))
    assert "silent.wav: the input is silent" in out.stderr
    assert "stereo" not in out.stderr and "mono" not in out.stderr


def test_several_csvs_are_each_fitted_and_their_views_written(tmp_path):
    # the columns the shipped pipeline names, and b has one more: a's statistics cannot serve b
    (tmp_path / "a.csv").write_text("age,visits,income,bmi\n" + "\n".join(
        f"{20 + i},{i % 4},{1000.0 + 50 * i},{20 + i * 0.3:.1f}" for i in range(30)) + "\n")
    (tmp_path / "b.csv").write_text("age,visits,income,bmi,height\n" + "\n".join(
        f"{30 + i},{i % 5},{2000.0 + 70 * i},{22 + i * 0.2:.1f},{150 + i}" for i in range(30)) + "\n")
    out = run("preview", "pipelines/tabular_noise.yaml", str(tmp_path / "a.csv"), str(tmp_path / "b.csv"), "-n", "1",
              "-o", str(tmp_path / "o"))
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("(no fitted statistics in the pipeline: fitted on") == 2
    for name in ("a", "b"):
        view = (tmp_path / "o" / f"{name}_before_after.txt").read_text()
        assert view.startswith(str(tmp_path / f"{name}.csv")) and view in out.stdout
