"""Tabular transforms: std scaling, swap rate and donors, kinds, NaN, bounds, masks."""
import numpy as np
import pytest

import augnoise
from tests.conftest import run_step
from augnoise.tabular import GaussianNoise, MaskNoise, SwapNoise

Z = 5.0
N = 20000


def table(n=N, seed=0):
    """continuous (std 2), integer (std ~3), binary, categorical codes 0..4, constant, all-NaN."""
    rng = np.random.default_rng(seed)
    x = np.empty((n, 6))
    x[:, 0] = rng.normal(10, 2, n)
    x[:, 1] = np.round(rng.normal(0, 3, n))
    x[:, 2] = rng.random(n) < 0.3
    x[:, 3] = rng.integers(0, 5, n)
    x[:, 4] = 7.0
    x[:, 5] = np.nan
    x[rng.random(n) < 0.05, 0] = np.nan
    return x


def pipe(*steps, columns=None, fit=True, x=None):
    p = augnoise.Pipeline(sample=list(steps), seed=1)
    if columns:
        from augnoise.tabular.schema import TabularSection

        p = augnoise.Pipeline(sample=list(steps), seed=1, sections={"tabular": TabularSection.from_columns(columns)})
    if fit:
        p.fit(features=table() if x is None else x)
    return p


def test_gaussian_std_scaling_per_column_and_kinds():
    x = table()
    p = pipe(GaussianNoise(scale=0.5), columns={3: "categorical"})
    y = p({"features": x}, index=0)["features"]
    d = y - x
    ok = ~np.isnan(x[:, 0])
    target = 0.5 * np.nanstd(x[:, 0])
    assert abs(d[ok, 0].std() - target) < Z * target / np.sqrt(2 * ok.sum())
    # integer column: noise rounded half to even; std of rounded noise = sqrt(s^2 + 1/12) for s >> 1
    s1 = 0.5 * x[:, 1].std()
    assert np.array_equal(y[:, 1], np.round(y[:, 1]))
    assert abs(d[:, 1].std() - np.sqrt(s1**2 + 1 / 12)) < Z * s1 / np.sqrt(2 * N)
    assert np.array_equal(y[:, 2], x[:, 2]) and np.array_equal(y[:, 3], x[:, 3])  # binary, categorical untouched
    assert np.array_equal(y[:, 4], x[:, 4])  # constant column: std 0, no noise, no division by zero
    assert np.isnan(y[:, 5]).all() and np.array_equal(np.isnan(y[:, 0]), np.isnan(x[:, 0]))


def test_gaussian_bounds_respected():
    x = table()
    x[:, 1] = np.clip(x[:, 1], -5, 5)
    x[:, 0] = np.clip(x[:, 0], 5, None)
    p = pipe(GaussianNoise(scale=2.0), columns={1: {"kind": "integer", "bounds": [-5, 5]}, 0: {"bounds": [5, None]}}, x=x)
    y = p({"features": x}, index=0)["features"]
    assert y[:, 1].min() == -5 and y[:, 1].max() == 5
    assert np.nanmin(y[:, 0]) == 5.0


def test_swap_rate_donor_validity_and_nan():
    x = table()
    p = pipe(SwapNoise(p_swap=0.15, mask_field="m"), columns={3: "categorical"})
    out = p({"features": x}, index=0)
    y, m = out["features"], out["m"]
    eligible = ~np.isnan(x[:, :5])
    rate = m[:, :5][eligible].mean()
    n = eligible.sum()
    assert abs(rate - 0.15) < Z * np.sqrt(0.15 * 0.85 / n)
    assert not m[:, 5].any() and np.isnan(y[:, 5]).all()  # NaN cells never swapped
    assert np.array_equal(np.isnan(y), np.isnan(x))  # no NaN created, none removed
    for j in range(5):  # every value stays in the column's observed set
        assert set(np.unique(y[:, j][~np.isnan(y[:, j])])) <= set(np.unique(x[:, j][~np.isnan(x[:, j])])) or j == 0
    assert np.isin(y[:, 3], np.arange(5)).all() and np.isin(y[:, 2], [0, 1]).all()
    assert np.array_equal(y[~m], x[~m], equal_nan=True)  # unmasked cells untouched


def test_swap_fitted_donors_follow_the_marginal():
    x = table()
    p = pipe(SwapNoise(p_swap=1.0, mask_field="m"))
    y = p({"features": x}, index=0)["features"]
    # binary column: swapped values are ~Bernoulli(0.3) whatever the original
    share = y[:, 2].mean()
    assert abs(share - x[:, 2].mean()) < Z * np.sqrt(0.3 * 0.7 / N)
    # continuous column with > 256 distinct values: donors are observed order statistics
    assert np.isin(y[~np.isnan(y[:, 0]), 0], x[:, 0]).all()


def test_swap_batch_donors_come_from_other_rows():
    x = np.arange(12 * 3, dtype=np.float64).reshape(12, 3)  # every value unique: donors are traceable
    x[[1, 4], 2] = np.nan
    t = SwapNoise(p_swap=1.0, stats="batch", mask_field="m")
    out = run_step(t, {"features": x}, 5, seed=0)
    y, m = out["features"], out["m"]
    for r in range(12):
        for j in range(3):
            if np.isnan(x[r, j]):
                assert np.isnan(y[r, j]) and not m[r, j]
                continue
            donors = np.nonzero(x[:, j] == y[r, j])[0]
            assert donors.size == 1 and donors[0] != r  # from another row
    counts = []
    for k in range(4000):  # uniform over the other rows
        yy = run_step(t, {"features": x[:, :1]}, k, seed=0)["features"]
        counts.append(int(yy[0, 0]))
    c = np.bincount(np.array(counts) // 3, minlength=12)
    assert c[0] == 0 and all(abs(ci - 4000 / 11) < Z * np.sqrt(4000 / 11) for ci in c[1:])


@pytest.mark.parametrize("fill", ["zero", "mean", "marginal"])
def test_mask_noise(fill):
    x = table()
    p = pipe(MaskNoise(p_mask=0.2, fill=fill, mask_field="m"), columns={3: "categorical"})
    out = p({"features": x}, index=0)
    y, m = out["features"], out["m"]
    eligible = ~np.isnan(x[:, :5])
    assert abs(m[:, :5][eligible].mean() - 0.2) < Z * np.sqrt(0.16 / eligible.sum())
    assert np.array_equal(np.isnan(y), np.isnan(x))
    if fill == "zero":
        assert (y[m] == 0).all()
    elif fill == "mean":
        f = p.section("tabular").fitted
        assert np.allclose(y[m[:, 0], 0], f.mean[0])
        assert (y[m[:, 1], 1] == np.rint(f.mean[1])).all()
        assert (y[m[:, 2], 2] == 0).all()  # mode of the binary column (70% zeros)
    else:
        assert np.isin(y[m[:, 3], 3], np.arange(5)).all()


def test_one_row_at_a_time_matches_keys_and_uses_fitted_stats():
    x = table(500)
    p = pipe(SwapNoise(p_swap=0.3), GaussianNoise(scale=0.2), x=x)
    rows = [p({"features": x[i]}, index=i)["features"] for i in range(50)]
    assert all(r.shape == (6,) for r in rows)
    again = [p({"features": x[i]}, index=i)["features"] for i in range(50)]
    assert all(np.array_equal(a, b, equal_nan=True) for a, b in zip(rows, again))
    assert not all(np.array_equal(a, x[i], equal_nan=True) for i, a in enumerate(rows))


def test_integer_numpy_input_stays_integral():
    x = np.random.default_rng(0).integers(0, 100, (1000, 3)).astype(np.int32)
    p = augnoise.Pipeline(sample=[GaussianNoise(scale=0.3)], seed=0).fit(features=x)
    y = p({"features": x}, index=0)["features"]
    assert y.dtype == np.int32 and not np.array_equal(x, y)


def test_float32_tables_keep_dtype():
    x = table(300).astype(np.float32)
    y = pipe(GaussianNoise(), SwapNoise(), x=x)({"features": x}, index=0)["features"]
    assert y.dtype == np.float32 and y.shape == x.shape


def test_p_zero_gives_an_empty_mask():
    x = table(10)
    out = pipe(SwapNoise(p=0.0, mask_field="m"), x=x)({"features": x}, index=0)
    assert not out["m"].any() and np.array_equal(out["features"], x, equal_nan=True)
