"""image.SensorNoise (Poisson-Gaussian camera noise, issue 16) and calibrate_sensor: the variance
line a*x + b recovered from the output, mean preserved, Poisson counts, linear light, chroma."""
import numpy as np
import pytest

import augnoise
from augnoise.image import SensorNoise, calibrate_sensor
from augnoise.image.torch_kernels import _decode

RAMP = np.tile(np.linspace(0.05, 0.95, 512), (512, 1))  # 512 levels, 512 pixels each


def _pair(step, x, seed=0):
    p = augnoise.Pipeline(sample=[step], seed=seed)
    return p(x, index=0), p(x, index=1)


@pytest.mark.parametrize("model", ["poisson", "gaussian"])
@pytest.mark.parametrize("a, b", [(0.01, 1e-4), (0.004, 0.0), (0.0, 4e-4), (0.02, 1e-3)])
def test_the_variance_line_fitted_on_a_ramp_recovers_a_and_b(a, b, model):
    fit = calibrate_sensor(*_pair(SensorNoise(a=a, b=b, model=model), RAMP.astype(np.float32)))
    # the WLS standard errors come from the pixel counts (2 var^2 / (n - 1) per bin); 5 of them
    assert abs(fit.a - a) < 5 * fit.a_se and abs(fit.b - b) < 5 * fit.b_se, fit[:4]
    # precise enough to mean something: a to 10% (or 4e-4 absolute when a = 0), b's std to 0.03
    assert fit.a_se < 0.1 * max(a, 0.004) and fit.b_se < 1e-3


def test_uint16_frames_give_the_same_line():
    x = np.round(RAMP * 65535).astype(np.uint16)
    fit = calibrate_sensor(*_pair(SensorNoise(a=0.01, b=1e-4), x))
    b = 1e-4 + 1 / (12 * 65535**2)  # rounding to 16-bit levels adds 1/12 level^2: negligible
    assert abs(fit.a - 0.01) < 5 * fit.a_se and abs(fit.b - b) < 5 * fit.b_se


def test_the_mean_is_preserved_away_from_the_ends():
    x = np.full((400, 400), 0.4)
    y = augnoise.Pipeline(sample=[SensorNoise(a=0.01, b=1e-4)], seed=3)(x, index=0)
    var = 0.01 * 0.4 + 1e-4
    assert abs(y.mean() - 0.4) < 5 * np.sqrt(var / y.size)
    # the sample variance of n values: standard error var * sqrt(2 / (n - 1)) (near-normal noise)
    assert abs(y.var() - var) < 5 * var * np.sqrt(2 / (y.size - 1))


def test_without_read_noise_the_output_is_photon_counts():
    a = 1 / 40  # 40 photons at full white
    x = np.full((300, 300), 0.5)
    y = augnoise.Pipeline(sample=[SensorNoise(a=a, b=0.0)], seed=1)(x, index=0)
    k = y / a
    assert np.allclose(k, np.round(k), atol=1e-9)  # whole photons
    lam = 0.5 / a  # Poisson(20): mean and variance 20
    n = k.size
    assert abs(k.mean() - lam) < 5 * np.sqrt(lam / n)
    assert abs(k.var() - lam) < 5 * np.sqrt((lam + 2 * lam**2) / n)


def test_linear_applies_the_line_in_linear_light():
    enc = RAMP.astype(np.float64)
    step = SensorNoise(a=0.005, b=1e-4, linear=True)
    y0, y1 = _pair(step, enc)
    import torch

    lin = [_decode(torch.from_numpy(y)).numpy() for y in (y0, y1)]
    fit = calibrate_sensor(*lin)
    assert abs(fit.a - 0.005) < 5 * fit.a_se and abs(fit.b - 1e-4) < 5 * fit.b_se
    raw = calibrate_sensor(y0, y1)  # in the encoded values the variance is not this line
    assert abs(raw.a - 0.005) > 10 * raw.a_se


def test_chroma_noise_moves_colour_not_luminance():
    x = np.full((256, 256, 3), 0.5)
    c = 0.04
    y = augnoise.Pipeline(sample=[SensorNoise(a=0.0, b=0.0, chroma=c)], seed=2)(x, index=0) - 0.5
    lum = 0.299 * y[..., 0] + 0.587 * y[..., 1] + 0.114 * y[..., 2]
    cb = (y[..., 2] - lum) / 1.772
    cr = (y[..., 0] - lum) / 1.402
    n = lum.size
    assert np.abs(lum).max() < 1e-6  # luminance untouched pixel by pixel (BT.601 inverse to 6 digits)
    for v in (cb, cr):  # std of the Cb and Cr noise: standard error c / sqrt(2 (n - 1))
        assert abs(v.std() - c) < 5 * c / np.sqrt(2 * (n - 1))
    assert abs(np.corrcoef(cb.ravel(), cr.ravel())[0, 1]) < 5 / np.sqrt(n)


def test_chroma_needs_three_channels_and_the_rest_takes_any():
    p = augnoise.Pipeline(sample=[SensorNoise(chroma=0.02)], seed=0, fields={"image": {"layout": "HWC"}})
    with pytest.raises(augnoise.InputError, match=r"^step 1 \(image.SensorNoise\): chroma noise needs 3 \(RGB\) "
                                                  r"channels, got 5 in layout HWC; set chroma: 0"):
        p(np.full((4, 4, 5), 0.5, np.float32), index=0)
    q = augnoise.Pipeline(sample=[SensorNoise(a=0.01)], seed=0, fields={"image": {"layout": "HWC"}})
    assert q(np.full((4, 4, 5), 0.5, np.float32), index=0).shape == (4, 4, 5)


def test_calibration_refuses_bad_input():
    with pytest.raises(augnoise.InputError, match="frames differ in shape"):
        calibrate_sensor(np.zeros((4, 4)), np.zeros((4, 5)))
    with pytest.raises(augnoise.InputError, match="needs at least 3 intensity levels"):
        calibrate_sensor(np.full((64, 64), 0.5), np.full((64, 64), 0.5))
    with pytest.raises(augnoise.InputError, match="NaN or inf"):
        calibrate_sensor(np.full((4, 4), np.nan), np.zeros((4, 4)))


def test_flat_field_pairs_at_several_exposures():
    pairs = []
    p = augnoise.Pipeline(sample=[SensorNoise(a=0.008, b=2e-4)], seed=9)
    for i, level in enumerate((0.1, 0.25, 0.4, 0.55, 0.7)):
        flat = np.full((128, 128), level)
        pairs.append((p(flat, index=2 * i), p(flat, index=2 * i + 1)))
    fit = calibrate_sensor(pairs)
    assert len(fit.means) == 5
    assert abs(fit.a - 0.008) < 5 * fit.a_se and abs(fit.b - 2e-4) < 5 * fit.b_se


def test_the_gaussian_model_has_no_poisson_skew():
    """Poisson(20) / 20 has skewness 1 / sqrt(20); the Gaussian model has the same mean and
    variance and skewness 0 (standard error of a sample skewness: sqrt(6 / n))."""
    x = np.full((300, 300), 0.5)
    skews = {}
    for model in ("poisson", "gaussian"):
        y = augnoise.Pipeline(sample=[SensorNoise(a=1 / 40, b=0.0, model=model)], seed=4)(x, index=0)
        z = (y - y.mean()) / y.std()
        skews[model] = float(np.mean(z**3))
        assert abs(y.var() - 0.5 / 40) < 5 * (0.5 / 40) * np.sqrt(2 / (y.size - 1))
    se = np.sqrt(6 / x.size)
    assert abs(skews["poisson"] - 1 / np.sqrt(20)) < 5 * se and abs(skews["gaussian"]) < 5 * se
