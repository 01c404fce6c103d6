"""Audio files: read/write keep format, rate and subtype; preview writes files and a spectrogram."""
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from augnoise.audio.io import read_audio, write_audio
from tests.conftest import ROOT


@pytest.mark.parametrize("fmt, subtype, dtype", [("WAV", "PCM_16", np.int16), ("WAV", "PCM_24", np.int32),
                                                 ("WAV", "FLOAT", np.float32), ("FLAC", "PCM_16", np.int16)])
def test_round_trip_keeps_format(tmp_path, fmt, subtype, dtype):
    x = (0.5 * np.sin(np.arange(2 * 800) / 5.0)).reshape(800, 2).astype(np.float32)
    src = tmp_path / f"a.{fmt.lower()}"
    sf.write(src, x, 22050, format=fmt, subtype=subtype)
    audio, info = read_audio(src)
    assert audio.shape == (2, 800) and audio.dtype == dtype and info.sample_rate == 22050
    dst = tmp_path / f"b.{fmt.lower()}"
    write_audio(dst, audio, info)
    again, info2 = read_audio(dst)
    assert np.array_equal(again, audio) and info2 == info
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([src.name, dst.name])  # no temp left


def run(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "augnoise.cli.main", *args], capture_output=True, text=True, cwd=cwd)


def test_cli_audio_preview(tmp_path):
    out = run("preview", "pipelines/audio_noise.yaml", "samples/chirp_tones.wav", "-n", "3", "-o", str(tmp_path))
    assert out.returncode == 0, out.stderr
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["chirp_tones_0.wav", "chirp_tones_1.wav", "chirp_tones_2.wav", "chirp_tones_spectrogram.png"]
    src = sf.info(f"{ROOT}/samples/chirp_tones.wav")
    for name in names[:3]:
        info = sf.info(tmp_path / name)
        assert (info.samplerate, info.channels, info.subtype, info.frames) == (src.samplerate, src.channels, src.subtype, src.frames)
    assert (tmp_path / names[3]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    first = (tmp_path / names[0]).read_bytes()
    run("preview", "pipelines/audio_noise.yaml", "samples/chirp_tones.wav", "-n", "1", "-o", str(tmp_path / "again"))
    assert (tmp_path / "again" / "chirp_tones_0.wav").read_bytes() == first  # deterministic


def test_cli_audio_preview_corrupt_file(tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF1234WAVEfmt garbage")
    out = run("preview", "pipelines/audio_noise.yaml", str(bad), "-n", "1", "-o", str(tmp_path / "o"))
    assert out.returncode == 1 and f"augnoise: {bad}: not a readable audio file" in out.stderr
    assert "Traceback" not in out.stderr and not (tmp_path / "o").exists()
