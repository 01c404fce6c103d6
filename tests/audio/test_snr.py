"""SNR and level accuracy of the audio transforms, with fixed keys."""
import numpy as np
import pytest

import augnoise
from tests.conftest import run_step
from augnoise.audio import BackgroundNoise, ColorNoise, GaussianNoise, GaussianSNR
from tests.conftest import ROOT

NOISE_DIR = f"{ROOT}/pipelines/noise"
RATE = 16000
Z = 5.0


def tone(n=RATE, f=440.0, level=0.3):
    t = np.arange(n) / RATE
    return (level * np.sin(2 * np.pi * f * t)).astype(np.float32)


def measured_snr(x, y):
    x2 = x.reshape(-1, x.shape[-1]).astype(np.float64)
    n = y.reshape(x2.shape).astype(np.float64) - x2
    return 10 * np.log10((x2**2).sum(1) / (n**2).sum(1))


def run(t, audio, key=1, rate=RATE):
    return run_step(t, {"audio": audio, "sample_rate": rate}, key, seed=0)["audio"]


SNR_TRANSFORMS = [
    lambda snr, **kw: GaussianSNR(snr_db=snr, **kw),
    lambda snr, **kw: ColorNoise(snr_db=snr, color="pink", **kw),
    lambda snr, **kw: BackgroundNoise(paths=NOISE_DIR, snr_db=snr, **kw),
]


@pytest.mark.parametrize("make", SNR_TRANSFORMS, ids=["GaussianSNR", "ColorNoise", "BackgroundNoise"])
def test_snr_exact_mono_stereo_quiet_channel_and_eight_channels(make):
    mono = tone()
    stereo = np.stack([tone(), tone(f=300, level=0.003)])  # second channel 40 dB quieter
    eight = np.stack([tone(f=100 * (c + 1), level=0.5 * 10 ** (-c / 4)) for c in range(8)])
    for audio in (mono, stereo, eight):
        y = run(make(17.5), audio)
        assert y.shape == audio.shape and y.dtype == np.float32
        assert np.allclose(measured_snr(audio, y), 17.5, atol=1e-3)


def test_per_channel_false_gives_one_level_and_wrong_snr_on_the_quiet_channel():
    stereo = np.stack([tone(), tone(level=0.003)])
    y = run(GaussianSNR(snr_db=20, per_channel=False), stereo)
    snr = measured_snr(stereo, y)
    total = 10 * np.log10((stereo.astype(float) ** 2).sum() / ((y - stereo).astype(float) ** 2).sum())
    assert abs(total - 20) < 1e-3  # exact over all channels
    assert snr[1] < -15  # the quiet channel drowns: why per_channel is the default


def test_int16_round_trip_and_saturation():
    x = np.round(tone(level=0.2) * 32767).astype(np.int16)
    y = run(GaussianSNR(snr_db=20), x)
    assert y.dtype == np.int16
    # rounding adds 1/12 LSB^2 of noise: negligible next to 20 dB below a 6,500 LSB signal
    assert abs(measured_snr(x.astype(np.float64), y)[0] - 20) < 0.01
    loud = np.round(tone(level=0.99) * 32767).astype(np.int16)
    out = run(GaussianSNR(snr_db=0), loud)
    assert out.max() == 32767 and out.min() == -32768
    # the same noise on the float scale, then saturated by hand: equal within one LSB everywhere
    # (an integer wrap-around would differ by ~65536 where the peaks overflow)
    as_float = run(GaussianSNR(snr_db=0, clip=False), loud.astype(np.float32) / 32768)
    expected = np.clip(np.rint(as_float.astype(np.float64) * 32768), -32768, 32767)
    assert np.abs(out - expected).max() <= 1


def test_int32_keeps_precision():
    x = np.round(tone(level=0.5) * 2**31).astype(np.int32)
    y = run(GaussianNoise(std=0.0), x)
    assert y.dtype == np.int32 and np.array_equal(x, y)  # float32 would lose the low 7 bits
    y = run(GaussianSNR(snr_db=100), x)
    assert abs(measured_snr(x.astype(np.float64), y)[0] - 100) < 0.01


def test_gaussian_noise_absolute_level_and_normality():
    from scipy import stats

    x = np.zeros((2, 4 * RATE), np.float32)
    n = run(GaussianNoise(std=0.05, clip=False), x).astype(np.float64)
    assert abs(n.std() - 0.05) < Z * 0.05 / np.sqrt(2 * n.size)
    assert abs(np.corrcoef(n[0], n[1])[0, 1]) < Z / np.sqrt(n.shape[1])
    assert abs(stats.kurtosis(n.ravel())) < Z * np.sqrt(24 / n.size)


def test_silent_input_and_silent_channel():
    silent = np.zeros((2, 1000), np.float32)
    for t in (GaussianSNR(snr_db=10), ColorNoise(snr_db=10), BackgroundNoise(paths=NOISE_DIR, snr_db=10)):
        y = run(t, silent)
        assert np.array_equal(y, silent)
    half = np.stack([tone(1000), np.zeros(1000, np.float32)])
    y = run(GaussianSNR(snr_db=10), half)
    assert np.isfinite(y).all() and np.array_equal(y[1], half[1])
    assert abs(measured_snr(half[:1], y[:1])[0] - 10) < 1e-3


@pytest.mark.parametrize("make", [lambda: GaussianNoise(std=0.1), lambda: GaussianSNR(snr_db=5),
                                  lambda: ColorNoise(snr_db=5, color="brown"),
                                  lambda: BackgroundNoise(paths=NOISE_DIR, snr_db=5)])
def test_very_short_clips(make):
    t = make()
    for audio in (np.array([0.5], np.float32), np.array([[0.5]], np.float32), np.full((2, 3), 0.25, np.float32),
                  np.array([1000], np.int16)):
        y = run(t, audio)
        assert y.shape == audio.shape and y.dtype == audio.dtype and np.all(np.isfinite(y))
        assert not np.array_equal(y, audio)


def test_clip_modes():
    loud = np.stack([tone(level=0.95), tone(level=0.5)])
    clipped = run(GaussianSNR(snr_db=0), loud)
    assert np.abs(clipped).max() == 1.0
    rescaled = run(GaussianSNR(snr_db=0, clip="rescale"), loud)
    assert abs(np.abs(rescaled).max() - 1.0) < 1e-6
    # rescaling scales signal and noise alike: each channel's SNR holds
    peak = np.abs(run(GaussianSNR(snr_db=0, clip=False), loud)).max()
    assert peak > 1.0
    assert np.allclose(measured_snr(loud / peak, rescaled), 0.0, atol=1e-3)


def test_samples_get_independent_noise():
    p = augnoise.Pipeline(sample=[GaussianSNR(snr_db=10)], seed=3)
    x = tone()
    noises = np.array([p({"audio": x}, index=i)["audio"] - x for i in range(10)])
    r = np.corrcoef(noises)
    assert np.abs(r[np.triu_indices(10, 1)]).max() < Z / np.sqrt(x.size)
