"""augnoise apply: deterministic names and bytes, resume, corrupt inputs, SRC never written."""
import hashlib
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import augnoise
from augnoise.cli.apply import file_index
from augnoise.image.io import read_image
from tests.conftest import ROOT


def run(*args):
    return subprocess.run([sys.executable, "-m", "augnoise.cli.main", "apply", *args], capture_output=True, text=True, cwd=ROOT)


def tree_digest(folder: Path) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def src(tmp_path):
    s = tmp_path / "src"
    (s / "a" / "b").mkdir(parents=True)
    shutil.copy(f"{ROOT}/samples/scene.png", s / "scene.png")
    shutil.copy(f"{ROOT}/samples/chart_gray.png", s / "a" / "chart.png")
    shutil.copy(f"{ROOT}/samples/scene.png", s / "a" / "b" / "scene.png")
    shutil.copy(f"{ROOT}/samples/chirp_tones.wav", s / "a" / "tones.wav")
    (s / "a" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    return s


def test_apply_outputs_names_bytes_and_failure_report(src, tmp_path):
    before = tree_digest(src)
    out = run("pipelines/image_noise.yaml", str(src), str(tmp_path / "d1"), "--copies", "2", "--workers", "2")
    assert out.returncode == 1
    assert "4 input file(s) x 2 copies: 6 written, 0 already done (skipped), 2 failed" in out.stdout
    assert "1 file(s) of other kinds ignored (pipeline handles image)" in out.stdout
    assert f"failed: {src / 'a' / 'broken.png'}: not a readable image" in out.stderr and "Traceback" not in out.stderr
    names = sorted(tree_digest(tmp_path / "d1"))
    assert names == ["a/b/scene_0.png", "a/b/scene_1.png", "a/chart_0.png", "a/chart_1.png", "scene_0.png", "scene_1.png"]
    assert tree_digest(src) == before  # SRC untouched
    again = run("pipelines/image_noise.yaml", str(src), str(tmp_path / "d2"), "--copies", "2", "--workers", "1")
    assert again.returncode == 1  # broken.png fails again, one worker or two
    assert tree_digest(tmp_path / "d1") == tree_digest(tmp_path / "d2")  # same command, same bytes
    # the bytes are the pipeline's output for (seed, epoch = copy, index = hash of the path)
    p = augnoise.load(f"{ROOT}/pipelines/image_noise.yaml")
    img = read_image(src / "a" / "chart.png")
    expected = p(img, index=file_index(Path("a/chart.png")), epoch=1)
    assert np.array_equal(read_image(tmp_path / "d1" / "a" / "chart_1.png"), expected)
    # the same file in two places gets different noise (different relative paths)
    assert tree_digest(tmp_path / "d1")["scene_0.png"] != tree_digest(tmp_path / "d1")["a/b/scene_0.png"]


def test_rerun_resumes_and_cleans_stale_temp_files(src, tmp_path):
    (src / "a" / "broken.png").unlink()
    dst = tmp_path / "d"
    assert run("pipelines/image_noise.yaml", str(src), str(dst), "-k", "2").returncode == 0
    full = tree_digest(dst)
    (dst / "scene_1.png").unlink()
    (dst / "a" / "chart_0.png").unlink()
    (dst / "a" / ".chart_0.png.x1y2.tmp").write_bytes(b"partial")  # what a killed write leaves
    out = run("pipelines/image_noise.yaml", str(src), str(dst), "-k", "2")
    assert out.returncode == 0 and "2 written, 4 already done (skipped), 0 failed, 1 stale temp file(s) removed" in out.stdout
    assert tree_digest(dst) == full


def test_killed_run_resumes_to_the_same_bytes(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for i in range(30):
        shutil.copy(f"{ROOT}/samples/scene.png", src / f"img{i:02d}.png")
    clean = tmp_path / "clean"
    assert run("pipelines/image_heavy.yaml", str(src), str(clean)).returncode == 0
    dst = tmp_path / "dst"
    proc = subprocess.Popen([sys.executable, "-m", "augnoise.cli.main", "apply", "pipelines/image_heavy.yaml", str(src), str(dst)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None and len(list(dst.glob("*.png"))) < 3:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    out = run("pipelines/image_heavy.yaml", str(src), str(dst))
    assert out.returncode == 0
    assert tree_digest(dst) == tree_digest(clean)  # whatever the kill left, the result is complete and identical


def test_dst_inside_src_and_bad_arguments(src, tmp_path):
    out = run("pipelines/image_noise.yaml", str(src), str(src / "out"))
    assert out.returncode == 1 and "DST may not be SRC or inside it" in out.stderr and not (src / "out").exists()
    out = run("pipelines/image_noise.yaml", str(tmp_path / "nope"), str(tmp_path / "d"))
    assert out.returncode == 1 and "nope: SRC does not exist" in out.stderr
    (tmp_path / "file.txt").write_text("x")
    out = run("pipelines/image_noise.yaml", str(tmp_path / "file.txt"), str(tmp_path / "d"))
    assert out.returncode == 1 and "SRC must be a folder" in out.stderr
    out = run("tests/data/bad_yaml/06_range_order.yaml", str(src), str(tmp_path / "d"))
    assert out.returncode == 2 and not (tmp_path / "d").exists()


def test_apply_audio_and_csv(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(f"{ROOT}/samples/chirp_tones.wav", src / "t.wav")
    shutil.copy(f"{ROOT}/samples/patients.csv", src / "p.csv")
    assert run("pipelines/audio_noise.yaml", str(src), str(tmp_path / "a")).returncode == 0
    assert run("pipelines/tabular_noise.yaml", str(src), str(tmp_path / "t")).returncode == 0
    assert sorted(tree_digest(tmp_path / "a")) == ["t_0.wav"] and sorted(tree_digest(tmp_path / "t")) == ["p_0.csv"]
