"""Input errors and hypothesis properties over every audio transform."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import augnoise
from tests.conftest import run_step
from tests.audio.test_snr import NOISE_DIR
from tests.conformance import strategies

NAMES = augnoise.transform_names("audio")
#: a strong case of each transform (a clean first argument for the error tests)
STRONG = {"audio.GaussianNoise": {"std": 0.2}, "audio.GaussianSNR": {"snr_db": 0}, "audio.ColorNoise": {"snr_db": 0},
          "audio.BackgroundNoise": {"snr_db": 0, "paths": NOISE_DIR}, "audio.ShortNoises": {"synthetic": {}, "count": 2}}
DTYPES = [np.float32, np.int16, np.int32]


@st.composite
def clips(draw):
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    n = draw(st.integers(1, 3000))
    c = draw(st.integers(1, min(n, 4)))
    shape = draw(st.sampled_from([(n,), (c, n)]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(["random", "silent", "full"]))
    x = rng.uniform(-1, 1, shape) if kind == "random" else np.full(shape, 0.0 if kind == "silent" else 1.0)
    if dtype.kind == "f":
        return x.astype(dtype)
    info = np.iinfo(dtype)
    return np.clip(np.round(x * (info.max + 1.0)), info.min, info.max).astype(dtype)


@pytest.mark.parametrize("name", NAMES)
@given(data=st.data())
def test_audio_transform_properties(name, data):
    x = data.draw(clips())
    params = data.draw(strategies.params(name))
    if "clip" in params and params["clip"] is False:
        params["clip"] = True  # the checks below need the peak policy
    t = augnoise.get_transform(name)(**params)
    before = x.copy()
    x.setflags(write=False)
    key = data.draw(st.integers(0, 2**32))
    sample = {"audio": x, "sample_rate": 16000}
    out = run_step(t, sample, key, seed=0)["audio"]
    assert out.dtype == x.dtype and out.shape == x.shape
    if x.dtype.kind == "f":
        assert np.isfinite(out).all() and np.abs(out).max() <= 1.0
    assert np.array_equal(x, before) and not np.shares_memory(out, x)
    assert np.array_equal(out, run_step(t, sample, key, seed=0)["audio"])


@pytest.mark.parametrize("bad, msg", [
    (np.zeros((1000, 2), np.float32), "audio has more channels (1000) than samples (2): audio is channels-first (C, N)"),
    (np.zeros((2, 3, 4), np.float32), "audio must be (N,) mono or (C, N) channels-first, got shape (2, 3, 4)"),
    (np.zeros((2, 0), np.float32), "audio is empty (shape (2, 0))"),
    (np.array([0.1, np.nan], np.float32), "audio holds 1 NaN or inf value(s)"),
    (np.zeros(10, np.uint8), "audio dtype must be float16, bfloat16, float32, float64, int16 or int32, got uint8"),
    (np.full(10, 3.0, np.float32), "float audio must lie in [-1, 1], got a peak of 3"),
    ([0.1, 0.2], "audio must be a numpy array or a tensor, got list"),
])
@pytest.mark.parametrize("name", NAMES)
def test_input_errors_name_the_step(name, bad, msg):
    p = augnoise.Pipeline(sample=[augnoise.get_transform(name)(**STRONG[name])], seed=0)
    with pytest.raises(augnoise.InputError) as info:
        p({"audio": bad, "sample_rate": 16000}, index=0)
    assert str(info.value) == f"step 1 ({name}): {msg}" or str(info.value).startswith(f"step 1 ({name}): {msg}")


def test_param_errors():
    with pytest.raises(augnoise.ParamError, match=r"color: must be one of white, pink, brown, blue, violet or an exponent within \[-4, 4\], got 'purple'"):
        augnoise.get_transform("audio.ColorNoise")(color="purple")
    with pytest.raises(augnoise.ParamError, match=r"snr_db: lo must be <= hi, got \[30, 10\]"):
        augnoise.get_transform("audio.GaussianSNR")(snr_db=[30, 10])
    with pytest.raises(augnoise.ParamError, match=r"clip"):
        augnoise.get_transform("audio.GaussianSNR")(clip="soft")
