"""image.AdditiveNoise, image.MultiplicativeNoise and grain (issue 16): distribution shapes (KS
against the standardised distribution), std and mean, the four modes, autocorrelation of
grain, equality with GaussianNoise / SpeckleNoise where they coincide, and the refusals.

Tolerances come from the statistics: the KS bound is the 0.1% critical value 1.95 / sqrt(n)
plus the tables' CDF step (1 / 65536); a sample std's standard error is
std * sqrt((kurtosis - 1) / (4 n)), and an autocorrelation estimate's (for a field correlated
over g pixels) sqrt(pi g**2 / n); bounds are 5 standard errors."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

import augnoise
from augnoise.image import AdditiveNoise, GaussianNoise, MultiplicativeNoise, SpeckleNoise

N_SIDE = 256
N = N_SIDE * N_SIDE
KS_BOUND = 1.95 / math.sqrt(N) + 2 / 65536


def noise_of(step, image, index=0, seed=0):
    out = augnoise.Pipeline(sample=[step], seed=seed)(image, index=index)
    return out.astype(np.float64) - image.astype(np.float64)


def grey(shape=(N_SIDE, N_SIDE), value=0.5):
    return np.full(shape, value, np.float32)


def reference(name, alpha=0.5, beta=2.0):
    """The standardised distribution (mean 0, std 1)."""
    if name == "gaussian":
        return stats.norm()
    if name == "uniform":
        return stats.uniform(loc=-math.sqrt(3), scale=2 * math.sqrt(3))
    if name == "laplace":
        return stats.laplace(scale=1 / math.sqrt(2))
    mu, var = stats.beta.stats(alpha, beta, moments="mv")
    sd = math.sqrt(var)
    return stats.beta(alpha, beta, loc=-mu / sd, scale=1 / sd)


KURTOSIS = {"gaussian": 3.0, "uniform": 1.8, "laplace": 6.0}


@pytest.mark.parametrize("dist", ["gaussian", "uniform", "laplace", "beta"])
def test_distribution_shape_std_and_mean(dist):
    extra = {"alpha": 0.5, "beta": 2.0} if dist == "beta" else {}
    z = noise_of(AdditiveNoise(distribution=dist, std=0.1, clip=False, **extra), grey()) / 0.1
    ref = reference(dist)
    assert stats.kstest(z.ravel(), ref.cdf).statistic < KS_BOUND
    kurt = KURTOSIS.get(dist, ref.stats(moments="k") + 3.0)
    assert abs(z.std() - 1) < 5 * math.sqrt((kurt - 1) / (4 * N))
    assert abs(z.mean()) < 5 / math.sqrt(N)
    # the test can fail: the same draws are far from another distribution
    other = reference("laplace" if dist != "laplace" else "uniform")
    assert stats.kstest(z.ravel(), other.cdf).statistic > 3 * KS_BOUND


def test_mean_shifts_and_integer_rounding_keeps_the_std():
    img = np.full((N_SIDE, N_SIDE), 128, np.uint8)
    d = noise_of(AdditiveNoise(distribution="uniform", std=0.02, mean=0.01), img)
    assert abs(d.mean() - 0.01 * 255) < 5 * 0.02 * 255 / math.sqrt(N) + 0.01
    assert abs(d.std() - 0.02 * 255) < 5 * 0.02 * 255 * math.sqrt(0.8 / (4 * N)) + 0.02  # + rounding's 1/12 level^2


def test_modes():
    img = grey((64, 64, 3))
    per_pixel = noise_of(AdditiveNoise(std=0.1, clip=False), img)
    assert abs(np.corrcoef(per_pixel[..., 0].ravel(), per_pixel[..., 1].ravel())[0, 1]) < 5 / 64
    shared = noise_of(AdditiveNoise(std=0.1, mode="shared", clip=False), img)
    assert np.array_equal(shared[..., 0], shared[..., 1]) and np.array_equal(shared[..., 0], shared[..., 2])
    assert shared[..., 0].std() > 0.09
    cast = noise_of(AdditiveNoise(std=0.1, mode="per_channel", clip=False), img)
    assert np.all(cast == cast[:1, :1, :]) and len(np.unique(cast[0, 0])) == 3
    const = noise_of(AdditiveNoise(std=0.1, mode="constant", clip=False), img)
    assert len(np.unique(const)) == 1


@pytest.mark.parametrize("mode, per_image", [("per_channel", 3), ("constant", 1)])
def test_per_channel_and_constant_draws_have_the_std_across_images(mode, per_image):
    img = grey((2, 2, 3))
    step = AdditiveNoise(distribution="laplace", std=0.1, mode=mode, clip=False)
    values = np.concatenate([noise_of(step, img, index=i)[0, 0, :per_image] for i in range(2000)]) / 0.1
    n = values.size
    assert abs(values.std() - 1) < 5 * math.sqrt(5 / (4 * n))
    assert stats.kstest(values, reference("laplace").cdf).statistic < 1.95 / math.sqrt(n) + 2 / 65536


def autocorrelation(z, d):
    z = z - z.mean()
    return float((z[:, d:] * z[:, :-d]).mean() / z.var()), float((z[d:] * z[:-d]).mean() / z.var())


@pytest.mark.parametrize("grain", [1.5, 3.0])
def test_grain_autocorrelation_and_std(grain):
    img = np.full((512, 512), 0.5, np.float64)
    z = noise_of(GaussianNoise(std=0.1, grain=grain, clip=False), img) / 0.1
    n = z.size
    se = math.sqrt(math.pi * grain * grain / n)
    for d in (1, round(grain), 2 * round(grain)):
        want = math.exp(-d * d / (2 * grain * grain))
        along_w, along_h = autocorrelation(z, d)
        assert abs(along_w - want) < 5 * se and abs(along_h - want) < 5 * se, (d, along_w, along_h, want)
    assert abs(z.std() - 1) < 5 * math.sqrt(math.pi * grain * grain / (2 * n))
    assert stats.kstest(z[::8, ::8].ravel(), stats.norm.cdf).statistic < 1.95 / math.sqrt(z[::8, ::8].size) * 2


def test_grain_zero_is_white_and_unchanged():
    img = (np.random.default_rng(1).random((40, 30, 3)) * 255).astype(np.uint8)
    plain = augnoise.Pipeline(sample=[GaussianNoise(std=0.1)], seed=7)
    zero = augnoise.Pipeline(sample=[GaussianNoise(std=0.1, grain=0)], seed=7)
    assert np.array_equal(plain(img, index=3), zero(img, index=3))
    _, rec = plain(img, index=3, record=True)
    assert "grain" not in str(rec)  # 0.5's records stay as they were
    z = noise_of(GaussianNoise(std=0.1, clip=False), np.full((256, 256), 0.5))
    assert max(abs(v) for v in autocorrelation(z, 1)) < 5 / 256


def test_grain_in_a_range_with_zero_equals_white_noise():
    """A range that draws grain 0 for an image gives the white draws exactly (one field path)."""
    img = (np.random.default_rng(2).random((24, 20, 3)) * 255).astype(np.uint8)
    step = GaussianNoise(std=0.1, grain=[0.0, 0.0])  # a range: the field path with 0 drawn
    a = augnoise.Pipeline(sample=[step], seed=9)(img, index=1)
    b = augnoise.Pipeline(sample=[GaussianNoise(std=0.1)], seed=9)(img, index=1)
    assert np.array_equal(a, b)


def test_grain_shared_is_one_field_for_all_channels():
    d = noise_of(AdditiveNoise(std=0.1, grain=2.0, mode="shared", clip=False), grey((64, 64, 3)))
    assert np.array_equal(d[..., 0], d[..., 2]) and autocorrelation(d[..., 0], 2)[0] > 0.3


def test_additive_gaussian_is_gaussian_noise_and_multiplicative_gaussian_is_speckle():
    img = (np.random.default_rng(0).random((33, 17, 3)) * 65535).astype(np.uint16)
    for mode, per_channel in [("per_pixel", True), ("shared", False)]:
        a = augnoise.Pipeline(sample=[AdditiveNoise(std=0.1, mode=mode, grain=1.5)], seed=5)(img, index=2)
        b = augnoise.Pipeline(sample=[GaussianNoise(std=0.1, per_channel=per_channel, grain=1.5)], seed=5)(img, index=2)
        assert np.array_equal(a, b)
        m = augnoise.Pipeline(sample=[MultiplicativeNoise(distribution="gaussian", std=0.2, mode=mode)], seed=5)
        s = augnoise.Pipeline(sample=[SpeckleNoise(std=0.2, per_channel=per_channel)], seed=5)
        assert np.array_equal(m(img, index=2), s(img, index=2))


def test_multiplicative_uniform_multipliers():
    img = grey(value=0.5)
    ratio = augnoise.Pipeline(sample=[MultiplicativeNoise(multiplier=[0.6, 1.4])], seed=0)(img, index=0) / 0.5
    assert 0.6 - 1e-4 <= ratio.min() and ratio.max() <= 1.4 + 1e-4
    assert stats.kstest(ratio.ravel(), stats.uniform(0.6, 0.8).cdf).statistic < KS_BOUND
    gauss = augnoise.Pipeline(sample=[MultiplicativeNoise(distribution="gaussian", std=0.1)], seed=0)(img, index=0) / 0.5
    assert abs(gauss.std() - 0.1) < 5 * 0.1 * math.sqrt(2 / (4 * N)) and abs(gauss.mean() - 1) < 5 * 0.1 / math.sqrt(N)
    black = np.zeros((8, 8, 3), np.uint8)
    assert not augnoise.Pipeline(sample=[MultiplicativeNoise(multiplier=[0.5, 2.0])], seed=0)(black, index=0).any()


def test_multiplicative_per_channel_gain():
    img = grey((16, 16, 3), 0.4)
    out = augnoise.Pipeline(sample=[MultiplicativeNoise(multiplier=[0.5, 1.5], mode="per_channel")], seed=0)(img, index=0)
    gains = out / 0.4
    assert np.allclose(gains, gains[:1, :1, :], atol=1e-6) and np.ptp(gains[0, 0]) > 0


def test_batch_stage_draws_per_image_and_agrees_across_layouts():
    """Each image's noise depends on its own key only (a batch of 4 = four batches of 1), and
    NCHW tensors get the noise of the NHWC numpy batch (grain and per-channel draws included)."""
    nchw = (np.random.default_rng(3).random((4, 3, 20, 18)) * 255).astype(np.uint8)
    for step in (AdditiveNoise(std=0.08, grain=2.0), AdditiveNoise(distribution="beta", std=0.1, mode="per_channel"),
                 MultiplicativeNoise(multiplier=[0.7, 1.3], mode="shared")):
        batch = augnoise.Pipeline(batch=[step], seed=11).apply_batch(torch.from_numpy(nchw), [0, 1, 2, 3]).numpy()
        ones = [augnoise.Pipeline(batch=[step], seed=11).apply_batch(torch.from_numpy(nchw[i:i + 1]), [i]).numpy()[0]
                for i in range(4)]
        assert np.array_equal(batch, np.stack(ones))
        nhwc = augnoise.Pipeline(batch=[step], seed=11).apply_batch(np.ascontiguousarray(nchw.transpose(0, 2, 3, 1)),
                                                                  [0, 1, 2, 3])
        assert np.array_equal(batch, nhwc.transpose(0, 3, 1, 2))
        assert not np.array_equal(batch[0], nchw[0])


@pytest.mark.parametrize("cls, params, field, words", [
    (AdditiveNoise, {"alpha": 2.0}, "alpha", "beta only"),
    (AdditiveNoise, {"distribution": "uniform", "grain": 2.0}, "grain", "needs distribution: gaussian"),
    (AdditiveNoise, {"mode": "constant", "grain": [0.0, 1.0]}, "grain", "mode per_pixel or shared"),
    (MultiplicativeNoise, {"std": 0.2}, "std", "does not apply to distribution: uniform"),
    (MultiplicativeNoise, {"distribution": "gaussian", "multiplier": [0.9, 1.1]}, "multiplier", "does not apply"),
    (MultiplicativeNoise, {"multiplier": [1.2, 1.0]}, "multiplier", "0 <= lo <= hi <= 10"),
    (AdditiveNoise, {"distribution": "cauchy"}, "distribution", ""),
])
def test_refusals_name_the_parameter(cls, params, field, words):
    with pytest.raises(augnoise.ParamError, match=f"{cls.name}: {field}: .*{words}"):
        cls(**params)


def test_yaml():
    p = augnoise.loads("""
seed: 3
sample:
  - image.AdditiveNoise: {distribution: laplace, std: [0.02, 0.08], mode: shared}
  - image.MultiplicativeNoise: {multiplier: [0.9, 1.1], mode: per_channel}
  - image.GaussianNoise: {std: 0.05, grain: 2}
""")
    assert augnoise.loads(augnoise.dumps(p)) == p
    out = p(np.full((16, 16, 3), 128, np.uint8), index=0)
    assert out.shape == (16, 16, 3) and out.dtype == np.uint8
