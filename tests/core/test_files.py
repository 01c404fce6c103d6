"""Files augnoise writes get the mode the umask gives (as ``open(path, "w")`` would), still
written atomically (issue 17): previews, dumped YAML and its fitted sidecar, any atomic write."""
from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import augnoise
from augnoise.core.files import atomic_write, current_umask
from tests.conftest import ROOT


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask():
    old = os.umask(0o022)
    os.umask(old)
    yield lambda m: os.umask(m)
    os.umask(old)


@pytest.mark.parametrize("mask, want", [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600), (0o002, 0o664)])
def test_atomic_write_gives_the_umask_mode(tmp_path, umask, mask, want):
    umask(mask)
    assert current_umask() == mask
    target = atomic_write(tmp_path / "sub" / "out.txt", "hello\n")
    assert mode(target) == want and target.read_text() == "hello\n"
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    assert mode(plain) == want  # the same as an ordinary write
    assert [p.name for p in target.parent.iterdir()] == ["out.txt"]  # no temp file left


def test_overwrite_takes_the_umask_mode_too(tmp_path, umask):
    umask(0o022)
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    target.chmod(0o600)
    atomic_write(target, b"new")
    assert mode(target) == 0o644 and target.read_bytes() == b"new"


def test_cli_preview_and_dumped_pipeline_with_sidecar(tmp_path, umask):
    out = tmp_path / "prev"
    proc = subprocess.run([sys.executable, "-m", "augnoise.cli.main", "preview", "pipelines/image_noise.yaml",
                           "samples/chart_gray.png", "-n", "1", "-o", str(out)], capture_output=True, text=True,
                          cwd=ROOT, preexec_fn=lambda: os.umask(0o022))
    assert proc.returncode == 0, proc.stderr
    written = [p for p in out.rglob("*") if p.is_file()]
    assert written and all(mode(p) == 0o644 for p in written), [(p.name, oct(mode(p))) for p in written]
    umask(0o022)
    p = augnoise.loads("seed: 1\ntabular: {}\nsample:\n  - tabular.GaussianNoise: {scale: 0.1}\nbatch: []\n")
    p = p.fit(features=np.random.default_rng(0).normal(size=(200, 3)))
    augnoise.dump(p, tmp_path / "dumped.yaml")
    files = sorted(f.name for f in tmp_path.iterdir() if f.is_file())
    assert files == ["dumped.fitted.npz", "dumped.yaml"]
    assert all(mode(tmp_path / f) == 0o644 for f in files)
