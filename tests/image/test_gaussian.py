"""Statistics of image.GaussianNoise, measured with fixed keys.

Tolerances are z standard errors of the estimated statistic (z = 5), derived from N.
"""
import numpy as np
import pytest
from scipy import stats

import augnoise
from augnoise.image import GaussianNoise
from augnoise.core.philox import gaussian_table
from augnoise.image.kernels import gaussian_noise
from tests.conftest import run_step

Z = 5.0


def noise_of(img, out):
    return out.astype(np.float64) - img.astype(np.float64)


def test_table_is_exactly_standardised():
    t = gaussian_table().astype(np.float64)
    assert abs(t.mean()) < 1e-7
    assert abs(np.mean(t * t) - 1.0) < 1e-6
    assert np.allclose(t, -t[::-1], atol=1e-6)  # symmetric
    # CDF of the table within 1/65536 of the normal CDF (tails truncated at ~4.3 sigma)
    grid = np.linspace(-4, 4, 801)
    emp = np.searchsorted(np.sort(t), grid, side="right") / t.size
    assert np.max(np.abs(emp - stats.norm.cdf(grid))) < 3e-4


@pytest.mark.parametrize("std", [0.02, 0.1])
def test_uint8_std_is_honest_with_unbiased_rounding(std):
    img = np.full((256, 256, 3), 128, np.uint8)
    n = noise_of(img, gaussian_noise(img, std, key=11))
    sigma = std * 255
    # round-to-nearest adds the quantisation variance 1/12 (Sheppard); truncation would lose ~7%
    expected = np.sqrt(sigma**2 + 1 / 12)
    se = expected / np.sqrt(2 * n.size)
    assert abs(n.std() - expected) < Z * se
    assert abs(n.mean()) < Z * expected / np.sqrt(n.size)
    # the share of unchanged pixels is P(|noise| < 0.5 level), not inflated by truncation
    p0 = 2 * stats.norm.cdf(0.5 / sigma) - 1
    assert abs(np.mean(n == 0) - p0) < Z * np.sqrt(p0 * (1 - p0) / n.size)


def test_uint16_and_float32_std_and_mean():
    img16 = np.full((256, 256), 32768, np.uint16)
    n16 = noise_of(img16, gaussian_noise(img16, 0.02, mean=0.01, key=3))
    sigma = 0.02 * 65535
    assert abs(n16.std() - sigma) < Z * sigma / np.sqrt(2 * n16.size)
    assert abs(n16.mean() - 0.01 * 65535) < Z * sigma / np.sqrt(n16.size)
    imgf = np.full((256, 256, 3), 0.5, np.float32)
    nf = noise_of(imgf, gaussian_noise(imgf, 0.05, key=4))
    assert abs(nf.std() - 0.05) < Z * 0.05 / np.sqrt(2 * nf.size)
    assert abs(nf.mean()) < Z * 0.05 / np.sqrt(nf.size)


def test_noise_is_normal():
    img = np.full((512, 512), 0.5, np.float32)
    z = noise_of(img, gaussian_noise(img, 0.05, key=21)).ravel() / 0.05
    n = z.size
    assert stats.kstest(z, "norm").statistic < 1.95 / np.sqrt(n)  # KS critical value at alpha = 0.001
    assert abs(stats.skew(z)) < Z * np.sqrt(6 / n)
    assert abs(stats.kurtosis(z)) < Z * np.sqrt(24 / n)
    assert np.abs(z).max() < 4.5  # the table's tails end at ~4.3 sigma (documented)


def test_noise_is_white_and_fresh_per_key():
    img = np.full((256, 256, 3), 0.5, np.float32)
    a = noise_of(img, gaussian_noise(img, 0.05, key=1)).ravel()
    b = noise_of(img, gaussian_noise(img, 0.05, key=2)).ravel()
    bound = Z / np.sqrt(a.size)
    assert abs(np.corrcoef(a, b)[0, 1]) < bound  # different keys: independent fields
    for lag in range(1, 9):  # no correlation between neighbours (8 values share one Philox block)
        assert abs(np.corrcoef(a[:-lag], a[lag:])[0, 1]) < bound
    # consecutive keys (as a pipeline's consecutive calls would never even use) are independent too
    c = noise_of(img, gaussian_noise(img, 0.05, key=3)).ravel()
    assert abs(np.corrcoef(b, c)[0, 1]) < bound


def test_per_channel_flag():
    img = np.full((128, 128, 3), 0.5, np.float32)
    ind = noise_of(img, gaussian_noise(img, 0.05, per_channel=True, key=5))
    shared = noise_of(img, gaussian_noise(img, 0.05, per_channel=False, key=5))
    bound = Z / np.sqrt(128 * 128)
    assert abs(np.corrcoef(ind[..., 0].ravel(), ind[..., 1].ravel())[0, 1]) < bound
    assert np.array_equal(shared[..., 0], shared[..., 1]) and np.array_equal(shared[..., 1], shared[..., 2])
    assert abs(shared.std() - 0.05) < Z * 0.05 / np.sqrt(2 * 128 * 128)


def test_pipeline_samples_are_independent_and_std_range_is_sampled():
    p = augnoise.Pipeline(sample=[GaussianNoise(std=[0.02, 0.08])], seed=1)
    img = np.full((64, 64), 0.5, np.float32)
    stds, fields = [], []
    for i in range(200):
        n = p(img, index=i) - img
        stds.append(n.std())
        fields.append(n.ravel())
    stds = np.array(stds)
    assert stds.min() > 0.018 and stds.max() < 0.082
    # uniform on [0.02, 0.08]: mean 0.05, sd 0.0173; 200 draws
    assert abs(stds.mean() - 0.05) < Z * 0.0173 / np.sqrt(200)
    r = np.corrcoef(np.array(fields[:20]))
    assert np.abs(r[np.triu_indices(20, 1)]).max() < Z / np.sqrt(64 * 64)


def test_saturation_and_clipping():
    bright = np.full((64, 64, 3), 250, np.uint8)
    out = gaussian_noise(bright, 0.2, key=9)
    assert out.dtype == np.uint8 and out.max() == 255 and out.min() >= 0
    assert gaussian_noise(np.full((8, 8), 65530, np.uint16), 0.5, key=1).max() == 65535
    f = gaussian_noise(np.full((64, 64), 0.98, np.float32), 0.3, key=2)
    assert f.min() >= 0.0 and f.max() == 1.0
    unclipped = gaussian_noise(np.full((64, 64), 0.98, np.float32), 0.3, key=2, clip=False)
    assert unclipped.max() > 1.0


def test_transform_errors_and_purity():
    t = GaussianNoise(std=0.1)
    for bad, msg in [
        (np.full((4, 4), np.nan, np.float32), "float image holds 16 NaN or inf value(s)"),
        (np.full((4, 4), 2.0, np.float32), "float image values lie outside [0, 1]: [2, 2] on the [0, 1] scale"),
        (np.zeros((4, 4), np.int32), "image dtype must be uint8, uint16, float16, bfloat16, float32 or float64, got int32"),
        (np.zeros((4, 4, 5), np.uint8), "image must have 1 to 4 channels, got 5 in layout HWC"),
        (np.zeros((0, 4), np.uint8), "image is empty"),
        (np.zeros(4, np.uint8), "image must be HxW, HxWxC or CxHxW, got shape (4,)"),
    ]:
        with pytest.raises(augnoise.InputError) as info:
            run_step(t, {"image": bad}, 1)
        assert msg in str(info.value)
    # clip: false lets the output leave [0, 1]; the input must still be in its domain
    out = run_step(GaussianNoise(std=0.3, clip=False), {"image": np.full((32, 32), 0.99, np.float32)}, 1)["image"]
    assert out.max() > 1.0
    img = np.arange(48, dtype=np.uint8).reshape(4, 4, 3)[:, ::-1]  # non-contiguous view
    before = img.copy()
    out = run_step(t, {"image": img}, 1)["image"]
    assert np.array_equal(img, before) and not np.shares_memory(out, img)