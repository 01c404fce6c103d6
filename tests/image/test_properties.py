"""Hypothesis properties over every registered image transform: dtype, shape, range, purity,
keyed determinism, fresh noise per key."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import augnoise
from tests.conftest import run_step
from augnoise.image.albu import AlbumentationsStep
from tests.conformance import strategies

NAMES = augnoise.transform_names("image")
DTYPES = [np.uint8, np.uint16, np.float32]


@st.composite
def images(draw):
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    h, w = draw(st.integers(1, 24)), draw(st.integers(1, 24))
    shape = draw(st.sampled_from([(h, w), (h, w, 1), (h, w, 2), (h, w, 3), (h, w, 4)]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(["random", "black", "white"]))
    hi = 1.0 if dtype.kind == "f" else np.iinfo(dtype).max
    if kind == "random":
        img = rng.random(shape) * hi
    else:
        img = np.full(shape, 0.0 if kind == "black" else hi)
    img = img.astype(dtype) if dtype.kind == "f" else np.round(img).astype(dtype)
    return img


def valid_range(out, dtype):
    if np.dtype(dtype).kind == "f":
        return np.isfinite(out).all() and out.min() >= 0.0 and out.max() <= 1.0
    return True  # integer dtypes cannot leave their range once the dtype is kept


def consistent(name, params):
    """The generated parameters with the combinations these steps refuse (each refusal is tested
    in test_additive.py) taken out: alpha/beta only for the beta distribution, grain only for
    Gaussian noise in a spatial mode, std or multiplier as the distribution says."""
    if name == "image.AdditiveNoise" and params["distribution"] != "beta":
        params.pop("alpha"), params.pop("beta")
    if name == "image.MultiplicativeNoise":
        params.pop("std" if params["distribution"] == "uniform" else "multiplier", None)
    if name in ("image.AdditiveNoise", "image.MultiplicativeNoise") and not (
            params["distribution"] == "gaussian" and params["mode"] in ("per_pixel", "shared")):
        params["grain"] = 0.0
    return params


@pytest.mark.parametrize("name", NAMES)
@given(data=st.data())
def test_transform_properties(name, data):
    img = data.draw(images())
    params = data.draw(strategies.params(name))
    params.pop("clip", None)  # the range checks below need clipping
    if name == "image.SensorNoise" and not (img.ndim == 3 and img.shape[2] == 3):
        params["chroma"] = 0  # chroma needs RGB: its error on other channel counts is tested in test_sensor.py
    t = augnoise.get_transform(name)(**consistent(name, params))
    before = img.copy()
    img.setflags(write=False)  # any in-place write would raise
    key = data.draw(st.integers(0, 2**32))
    out = run_step(t, {"image": img}, key, seed=0)["image"]
    assert out.dtype == img.dtype and out.shape == img.shape
    assert valid_range(out, img.dtype)
    assert np.array_equal(img, before)
    assert not np.shares_memory(out, img)
    again = run_step(t, {"image": img}, key, seed=0)["image"]
    assert np.array_equal(out, again)


@given(data=st.data())
def test_albumentations_step_properties(data):
    img = data.draw(images())
    if img.dtype == np.uint16:  # albumentations 2 supports uint8 and float32
        img = (img >> 8).astype(np.uint8)
    name = data.draw(st.sampled_from(["HorizontalFlip", "VerticalFlip", "RandomBrightnessContrast", "SaltAndPepper"]))
    t = AlbumentationsStep(name, p=1.0)
    before = img.copy()
    key = data.draw(st.integers(0, 2**32))
    out = run_step(t, {"image": img}, key, seed=0)["image"]
    again = run_step(t, {"image": img}, key, seed=0)["image"]
    assert out.dtype == img.dtype and out.shape == img.shape
    assert np.array_equal(img, before) and np.array_equal(out, again)
    assert not np.shares_memory(out, img)
