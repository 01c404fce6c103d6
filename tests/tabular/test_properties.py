"""Hypothesis properties over every tabular transform."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import augnoise
from tests.conftest import run_step
from augnoise.tabular.schema import TabularSection, fit_stats

PARAMS = {
    "tabular.GaussianNoise": st.fixed_dictionaries({"scale": st.floats(0, 5)}),
    "tabular.SwapNoise": st.fixed_dictionaries({"p_swap": st.floats(0, 1)}),
    "tabular.MaskNoise": st.fixed_dictionaries({"p_mask": st.floats(0, 1), "fill": st.sampled_from(["zero", "mean", "marginal"])}),
}


def test_every_tabular_transform_is_covered():
    assert sorted(PARAMS) == augnoise.transform_names("tabular")


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


@pytest.mark.parametrize("name", sorted(PARAMS))
@given(data=st.data())
def test_tabular_properties(name, data):
    x = data.draw(tables())
    batch = data.draw(st.booleans()) and x.shape[0] >= 2
    t = augnoise.get_transform(name)(**data.draw(PARAMS[name]), stats="batch" if batch else "fitted", mask_field="m")
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


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_different_keys_differ(name):
    x = np.random.default_rng(0).normal(size=(40, 5))
    strong = {"tabular.GaussianNoise": {"scale": 1.0}, "tabular.SwapNoise": {"p_swap": 0.5},
              "tabular.MaskNoise": {"p_mask": 0.5, "fill": "marginal"}}[name]
    t = augnoise.get_transform(name)(**strong, stats="batch")
    outs = {run_step(t, {"features": x}, k, seed=0)["features"].tobytes() for k in range(8)}
    assert len(outs) == 8
