"""Hypothesis properties over every tabular transform."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import augnoise
from tests.conformance import strategies
from tests.conftest import run_step
from augnoise.tabular.schema import TabularSection, fit_stats

NAMES = augnoise.transform_names("tabular")


@st.composite
def tables(draw):
    rows, cols = draw(st.integers(1, 30)), draw(st.integers(1, 6))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.normal(0, 3, (rows, cols))
    for j in range(cols):
        kind = draw(st.sampled_from(["cont", "int", "bin", "const"]))
        x[:, j] = {"cont": x[:, j], "int": np.round(x[:, j]), "bin": x[:, j] > 0, "const": 2.0}[kind]
    x[rng.random((rows, cols)) < draw(st.floats(0, 0.5))] = np.nan
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    return x.astype(dtype)


@pytest.mark.parametrize("name", NAMES)
@given(data=st.data())
def test_tabular_properties(name, data):
    x = data.draw(tables())
    batch = data.draw(st.booleans()) and x.shape[0] >= 2
    params = data.draw(strategies.params(name, keep=("stats", "columns", "mask_field")))
    params = {k: v for k, v in params.items() if k not in ("stats", "columns", "mask_field")}
    t = augnoise.get_transform(name)(**params, stats="batch" if batch else "fitted", mask_field="m")
    spec = TabularSection()
    if not batch:
        spec.fitted = fit_stats(x.astype(np.float64), spec, None)
    row = not batch and data.draw(st.booleans())  # stats: batch needs a table (a row alone is an error)
    features = x[0] if row else x
    before = features.copy()
    features.setflags(write=False)
    key = data.draw(st.integers(0, 2**32))
    out = run_step(t, {"features": features}, key, seed=0, sections={"tabular": spec})
    y = out["features"]
    assert y.dtype == features.dtype and y.shape == features.shape and out["m"].shape == features.shape
    assert np.array_equal(np.isnan(y), np.isnan(features))  # NaN kept, never created
    assert not np.isinf(y).any()
    assert np.array_equal(features, before, equal_nan=True) and not np.shares_memory(y, features)
    assert np.array_equal(y[~out["m"]], features[~out["m"]], equal_nan=True)
    again = run_step(t, {"features": features}, key, seed=0, sections={"tabular": spec})["features"]
    assert np.array_equal(y, again, equal_nan=True)
