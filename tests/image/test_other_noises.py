"""Statistics of salt-and-pepper, shot and speckle noise with fixed keys (z = 5 standard errors)."""
import numpy as np
import pytest

import augnoise
from augnoise.image import SaltAndPepper, ShotNoise, SpeckleNoise
from augnoise.image.kernels import srgb_to_linear, linear_to_srgb
from tests.conftest import run_step

Z = 5.0


def binomial_ok(count, n, p):
    return abs(count - n * p) <= Z * np.sqrt(n * p * (1 - p))


def test_salt_and_pepper_rates_whole_pixels():
    img = np.full((256, 256, 3), 128, np.uint8)
    out = run_step(SaltAndPepper(amount=0.1, salt_ratio=0.3), {"image": img}, 1)["image"]
    npix = 256 * 256
    salt = (out == 255).all(-1)
    pepper = (out == 0).all(-1)
    same = (out == 128).all(-1)
    assert (salt | pepper | same).all()  # every pixel hit as a whole, or untouched
    assert binomial_ok(salt.sum(), npix, 0.03) and binomial_ok(pepper.sum(), npix, 0.07)


def test_salt_and_pepper_per_channel_and_float():
    img = np.full((128, 128, 3), 0.5, np.float32)
    out = run_step(SaltAndPepper(amount=0.2, per_channel=True), {"image": img}, 2)["image"]
    n = img.size
    assert binomial_ok((out == 1.0).sum(), n, 0.1) and binomial_ok((out == 0.0).sum(), n, 0.1)
    mixed = ((out == 1.0).any(-1) & (out == 0.5).any(-1)).sum()
    assert mixed > 0  # channels are hit independently


def test_shot_noise_poisson_mean_and_variance():
    img = np.full((256, 256), 0.5, np.float32)
    photons = 50.0
    y = run_step(ShotNoise(photons=photons), {"image": img}, 3)["image"].astype(np.float64)
    lam = 0.5 * photons
    counts = y * photons
    assert np.allclose(counts, np.round(counts), atol=1e-3)  # whole photons
    n = y.size
    var = 0.5 / photons
    assert abs(y.mean() - 0.5) < Z * np.sqrt(var / n)
    # sample variance SE for Poisson: var * sqrt(2/n + 1/(lam n))
    assert abs(y.var() - var) < Z * var * np.sqrt(2 / n + 1 / (lam * n))


def test_shot_noise_more_photons_less_noise_and_uint8():
    img = np.full((128, 128, 3), 100, np.uint8)
    lo = run_step(ShotNoise(photons=10), {"image": img}, 4)["image"].astype(float)
    hi = run_step(ShotNoise(photons=1000), {"image": img}, 4)["image"].astype(float)
    x = 100 / 255
    for y, ph in ((lo, 10), (hi, 1000)):
        expected = np.sqrt(255**2 * x / ph + 1 / 12)  # Poisson variance plus rounding (1/12 level^2)
        kurt = 1 / (x * ph)  # excess kurtosis of Poisson(lambda) is 1/lambda
        assert abs(y.std() - expected) < Z * expected * np.sqrt((2 + kurt) / (4 * y.size))
    assert lo.std() > 5 * hi.std()


def test_shot_noise_linear_light_preserves_linear_mean():
    img = np.full((256, 256), 0.5, np.float32)
    y = run_step(ShotNoise(photons=100, linear=True), {"image": img}, 5)["image"]
    lin = srgb_to_linear(y).astype(np.float64)
    mu = float(srgb_to_linear(np.float32(0.5)))
    assert abs(lin.mean() - mu) < Z * np.sqrt(mu / 100 / lin.size)
    assert np.allclose(linear_to_srgb(srgb_to_linear(np.linspace(0, 1, 11, dtype=np.float32))),
                       np.linspace(0, 1, 11), atol=1e-5)


def test_speckle_is_multiplicative():
    img = np.full((256, 256), 0.5, np.float32)
    y = run_step(SpeckleNoise(std=0.2), {"image": img}, 6)["image"].astype(np.float64)
    assert abs(y.std() - 0.1) < Z * 0.1 / np.sqrt(2 * y.size)
    assert abs(y.mean() - 0.5) < Z * 0.1 / np.sqrt(y.size)
    black = np.zeros((16, 16, 3), np.uint8)
    assert np.array_equal(run_step(SpeckleNoise(std=0.5), {"image": black}, 7)["image"], black)


@pytest.mark.parametrize("t", [SaltAndPepper(), ShotNoise(), SpeckleNoise()], ids=lambda t: t.name)
def test_input_errors(t):
    for bad, msg in [
        (np.full((4, 4), np.inf, np.float32), "NaN or inf"),
        (np.full((4, 4), -0.5, np.float32), "float image values lie outside [0, 1]: [-0.5, -0.5] on the [0, 1] scale"),
        (np.zeros((4, 4), np.int16), "image dtype must be uint8, uint16, float16, bfloat16, float32 or float64, got int16"),
        ([[1, 2]], "image must be a numpy array or a tensor, got list"),
    ]:
        with pytest.raises(augnoise.InputError) as info:
            run_step(t, {"image": bad}, 0)
        assert msg in str(info.value)


def test_missing_field_is_clear():
    with pytest.raises(augnoise.InputError, match=r"sample has no field 'image' \(fields: audio\)"):
        run_step(ShotNoise(), {"audio": np.zeros(3)}, 0)
