"""audio.BackgroundNoise at an absolute level (issue 16): the noise's own RMS in dBFS, whatever
the signal, so silent input gets noise; relative levels unchanged."""
import hashlib
import shutil

import numpy as np
import pytest
import soundfile as sf
import torch

import augnoise
from augnoise.audio import BackgroundNoise
from augnoise.core.philox import standard_normal


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("noise")
    sf.write(str(d / "hiss.wav"), 0.1 * standard_normal(16000, 3), 16000, subtype="FLOAT")
    sf.write(str(d / "stereo.wav"), 0.05 * standard_normal((8000, 2), 4), 16000, subtype="FLOAT")
    return d


def _sample(x):
    return {"audio": x, "sample_rate": 16000}


def _rms_db(v):
    return 10 * np.log10(np.mean(np.asarray(v, np.float64) ** 2, axis=-1))


@pytest.mark.parametrize("per_channel", [True, False])
def test_absolute_level_is_the_noise_rms_on_silence_and_on_signal(folder, per_channel):
    t = np.arange(12000) / 16000
    loud = np.stack([0.5 * np.sin(2 * np.pi * 440 * t), 0.05 * np.sin(2 * np.pi * 300 * t)]).astype(np.float32)
    step = BackgroundNoise(paths=str(folder), level={"mode": "absolute", "rms_db": -30}, per_channel=per_channel,
                           clip=False)
    p = augnoise.Pipeline(sample=[step], seed=2)
    for x in (np.zeros_like(loud), loud):  # silence gets noise too; the signal does not set the level
        for i in range(4):
            noise = p(_sample(x), index=i)["audio"].astype(np.float64) - x
            if per_channel:
                assert np.allclose(_rms_db(noise), -30, atol=1e-3)
            else:  # one gain over all channels: the mean power over channels is the level
                assert abs(10 * np.log10(np.mean(noise**2)) + 30) < 1e-3


def test_absolute_range_is_drawn_per_call_and_int16_within_quantisation(folder):
    step = BackgroundNoise(paths=str(folder), level={"mode": "absolute", "rms_db": [-40, -20]})
    p = augnoise.Pipeline(sample=[step], seed=5)
    silence = np.zeros(8000, np.int16)
    levels = []
    for i in range(40):
        out, record = p(_sample(silence), index=i, record=True)
        drawn = record["steps"]["1"]["params"]["rms_db"]
        assert -40 <= drawn <= -20
        measured = _rms_db(out["audio"].astype(np.float64) / 32768)
        assert abs(measured - drawn) < 0.05  # rounding to int16 adds 1/12 level^2: far below -40 dBFS
        levels.append(drawn)
    assert np.ptp(levels) > 10  # spread over the range, not one value


def test_relative_level_equals_the_snr_db_shorthand_byte_for_byte(folder):
    x = (0.3 * np.sin(np.arange(8000) / 10)).astype(np.float32)
    a = augnoise.Pipeline(sample=[BackgroundNoise(paths=str(folder), snr_db=[5, 15])], seed=1)
    b = augnoise.Pipeline(sample=[BackgroundNoise(paths=str(folder), level={"mode": "relative", "snr_db": [5, 15]})],
                          seed=1)
    for i in range(5):
        assert np.array_equal(a(_sample(x), index=i)["audio"], b(_sample(x), index=i)["audio"])


def test_existing_relative_outputs_are_unchanged(folder):
    """Bytes of the snr_db form before this change (computed on the previous main, 0.5.0)."""
    x = (0.3 * np.sin(np.arange(4000) / 7)).astype(np.float32)
    p = augnoise.Pipeline(sample=[BackgroundNoise(paths=str(folder), snr_db=10)], seed=3)
    digest = hashlib.sha256(b"".join(p(_sample(x), index=i)["audio"].tobytes() for i in range(3))).hexdigest()
    assert digest == EXPECTED, digest


def test_batch_stage_and_torch_kernel_agree_with_the_sample_stage(folder):
    step = BackgroundNoise(paths=str(folder), level={"mode": "absolute", "rms_db": [-35, -25]})
    p = augnoise.Pipeline(batch=[step], seed=7)
    x = np.zeros((3, 2, 6000), np.float32)
    a = p.apply_batch({"audio": x, "sample_rate": 16000}, [4, 9, 11])["audio"]
    b = p.apply_batch({"audio": torch.from_numpy(x), "sample_rate": 16000}, [4, 9, 11])["audio"]
    assert np.array_equal(np.asarray(b), a)
    from augnoise.core import keys
    from augnoise.core.kernels import kernel_for

    r = keys.batch_rand(p._trees[keys.BATCH_STAGE], p.seed, keys.BATCH_STAGE, np.array([4, 9, 11], np.uint64),
                        np.zeros(3, np.uint64), np.zeros(3, np.uint64))[0]
    r.below(1.0)
    params = {**step.draw(r), "sample_rate": np.full(3, 16000)}
    ctx = p._context(keys.BATCH_STAGE)
    yn = kernel_for(BackgroundNoise, "numpy")(step, x, params, ctx)
    yt = kernel_for(BackgroundNoise, "torch")(step, torch.from_numpy(x), params, ctx).numpy()
    assert np.allclose(yn, yt, rtol=0, atol=1e-6) and np.any(yn != 0)


def test_yaml_round_trip_and_located_errors(folder, tmp_path):
    shutil.copytree(folder, tmp_path / "noise")
    text = "sample:\n  - audio.BackgroundNoise: {paths: noise, level: {mode: absolute, rms_db: [-40, -30]}}\n"
    p = augnoise.loads(text, base_dir=tmp_path)
    assert augnoise.loads(p.dumps(), base_dir=tmp_path) == p
    assert "rms_db: [-40, -30]" in p.dumps() or "rms_db:\n" in p.dumps()
    bad = {
        "paths: noise, snr_db: 5, level: {mode: absolute, rms_db: -30}": "level: give snr_db or level, not both",
        "paths: noise, level: {mode: loud, rms_db: -30}": "level",
        "paths: noise, level: {mode: absolute, rms_db: 3}": "rms_db",
        "paths: noise, level: {mode: absolute, snr_db: 3}": "level.absolute.snr_db: unknown parameter",
    }
    for params, want in bad.items():
        with pytest.raises(augnoise.ConfigError) as err:
            augnoise.loads(f"sample:\n  - audio.BackgroundNoise: {{{params}}}\n", "p.yaml", base_dir=tmp_path)
        for line in str(err.value).splitlines():  # one line per problem, each located
            assert line.startswith("p.yaml:2: step 1 (audio.BackgroundNoise): "), line
        assert want in str(err.value)
EXPECTED = "9e031f1f7dac6eba3103620ef5f171f03d676ae1bdb013ca454a5431094bf113"  # 0.5.0, before levels
