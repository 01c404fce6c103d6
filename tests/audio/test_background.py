"""audio.BackgroundNoise: resampling, looping, long files, channel mapping, load-time errors."""
import numpy as np
import pytest
import soundfile as sf
from scipy.signal import welch

import augnoise
from augnoise.audio import BackgroundNoise, background
from tests.audio.test_snr import NOISE_DIR, measured_snr, run, tone


@pytest.mark.parametrize("seconds", [2, 7], ids=["crop", "looped"])
def test_resampled_from_8k_has_no_energy_above_4k(seconds):
    # the 8 kHz file has nothing above 4 kHz; neither soxr nor the loop seam may add any
    x = np.zeros(seconds * 16000, np.float32)
    x[::1000] = 0.5  # a sparse click train: white-ish, so the added noise dominates the spectrum
    y = run(BackgroundNoise(paths=NOISE_DIR, snr_db=-20), x)
    f, p = welch((y - x).astype(np.float64), fs=16000, nperseg=1024)
    below, above = p[(f > 200) & (f < 3500)].mean(), p[f > 4300].mean()
    assert 10 * np.log10(below / above) > 50  # soxr's anti-imaging filter, not zero-order hold


def test_longer_clip_than_file_loops_and_snr_holds():
    x = tone(5 * 16000)  # the noise file is 3 s
    y = run(BackgroundNoise(paths=NOISE_DIR, snr_db=3), x)
    assert y.shape == x.shape and abs(measured_snr(x, y)[0] - 3) < 1e-3


def test_random_crops_differ_between_keys():
    x = tone(8000)
    outs = {run(BackgroundNoise(paths=NOISE_DIR, snr_db=0), x, key=k).tobytes() for k in range(5)}
    assert len(outs) == 5


def test_long_file_is_read_by_segment(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    sf.write(tmp_path / "long.wav", (0.1 * rng.standard_normal((40 * 8000, 2))).astype(np.float32), 8000)
    t = BackgroundNoise(paths=str(tmp_path / "long.wav"), snr_db=10)

    def no_full_decode(*a, **k):
        raise AssertionError("a long file must not be decoded whole")

    monkeypatch.setattr(background, "_decoded", no_full_decode)
    stereo = np.stack([tone(16000), tone(16000, level=0.01)])
    y = run(t, stereo)
    assert np.allclose(measured_snr(stereo, y), 10, atol=1e-3)


def test_channel_mapping(tmp_path):
    rng = np.random.default_rng(1)
    sf.write(tmp_path / "three.wav", (0.1 * rng.standard_normal((8000, 3))).astype(np.float32), 16000)
    sf.write(tmp_path / "two.wav", (0.1 * rng.standard_normal((8000, 2))).astype(np.float32), 16000)
    stereo = np.stack([tone(4000), tone(4000, f=220)])
    y3 = run(BackgroundNoise(paths=str(tmp_path / "three.wav"), snr_db=0), stereo)
    n3 = y3 - stereo
    assert np.corrcoef(n3[0], n3[1])[0, 1] > 0.99  # mixed down to mono, same noise on both
    y2 = run(BackgroundNoise(paths=str(tmp_path / "two.wav"), snr_db=0), stereo)
    n2 = y2 - stereo
    assert abs(np.corrcoef(n2[0], n2[1])[0, 1]) < 0.2  # channel to channel


def test_decoded_files_are_cached_per_process():
    background._decoded.cache_clear()
    t = BackgroundNoise(paths=NOISE_DIR, snr_db=10)
    for k in range(5):
        run(t, tone(4000), key=k)
    info = background._decoded.cache_info()
    assert info.misses == 1 and info.hits == 4


def test_load_time_errors(tmp_path):
    (tmp_path / "bad.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    sf.write(tmp_path / "silent.wav", np.zeros(800, np.float32), 8000)
    (tmp_path / "empty").mkdir()
    cases = [
        # an unrecognised file and a missing one give the same message (issue 14)
        (str(tmp_path / "bad.wav"), f"paths: '{tmp_path / 'bad.wav'}': missing or unreadable (or not a regular file)"),
        (str(tmp_path / "silent.wav"), f"paths: noise file '{tmp_path / 'silent.wav'}' is silent (no non-zero sample)"),
        (str(tmp_path / "nope.wav"), f"paths: '{tmp_path / 'nope.wav'}': missing or unreadable (or not a regular file)"),
        (str(tmp_path / "empty"), f"paths: folder '{tmp_path / 'empty'}' holds no .flac/.ogg/.wav files"),
        ([], "paths: must be a file or folder path, or a non-empty list of them, got []"),
    ]
    for paths, msg in cases:
        with pytest.raises(augnoise.ParamError) as info:
            BackgroundNoise(paths=paths)
        assert msg in str(info.value)


def test_yaml_paths_are_relative_to_the_pipeline_file(tmp_path):
    (tmp_path / "cfg" / "noise").mkdir(parents=True)
    sf.write(tmp_path / "cfg" / "noise" / "n.flac", (0.1 * np.sin(np.arange(4000))).astype(np.float32), 8000)
    f = tmp_path / "cfg" / "p.yaml"
    f.write_text("seed: 1\nsample:\n  - audio.BackgroundNoise: {paths: noise, snr_db: 10}\n")
    p = augnoise.load(f)
    assert p.sample[0].files[0].path == str(tmp_path / "cfg" / "noise" / "n.flac")
    assert "paths: noise" in p.dumps()  # written as given
    bad = tmp_path / "cfg" / "q.yaml"
    bad.write_text("seed: 1\nsample:\n  - audio.BackgroundNoise:\n      paths: missing\n")
    with pytest.raises(augnoise.ConfigError, match=rf"^{bad}:4: step 1 \(audio.BackgroundNoise\): paths: 'missing': missing or unreadable"):
        augnoise.load(bad)


def test_missing_sample_rate_names_the_step():
    p = augnoise.Pipeline(sample=[BackgroundNoise(paths=NOISE_DIR)], seed=1)
    with pytest.raises(augnoise.InputError, match=r"^step 1 \(audio.BackgroundNoise\): needs a positive integer 'sample_rate'"):
        p({"audio": tone(100)}, index=0)
