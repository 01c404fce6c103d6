"""The batch stage runs the same input checks as the sample stage (issue 14, item 10).

The rule: for every registered image and audio transform with a torch kernel, an input the
sample stage refuses is refused by the batch stage too, as an ``InputError`` from the same
check (prefixed ``batch step N (Name):`` instead of ``step N (Name):``; dtype and value-domain
sentences are word for word the same, shape, emptiness and NaN/inf counts describe the batch
as given), on every route a batch takes: a numpy batch, a CPU tensor (numba kernels on its memory) and the torch kernels
(the route of CUDA tensors; emulated here on CPU tensors by refusing the zero-copy numpy view).
Never a torch or numpy error. A valid input passes on every route (the control case)."""
from __future__ import annotations

import itertools
import re
from types import MappingProxyType

import numpy as np
import pytest
import torch

import augnoise
from augnoise.core.context import Context
from augnoise.core.registry import transform_names
from augnoise.core.transform import REGISTRY
from augnoise.image.layout import image_batch
from augnoise.torch.backend import TorchAdapter

IMAGE = [n for n in transform_names("image") if REGISTRY[n].batch_capable()]
AUDIO = [n for n in transform_names("audio") if REGISTRY[n].batch_capable()]
RATE = 16000
_CALLS = itertools.count(0, 1000)  # each batch call its own keys


def make(name: str, **extra) -> augnoise.Pipeline:
    """A pipeline with the transform's first declared example in both stages, always applied."""
    ex = REGISTRY[name].examples[0]
    params = {**(ex.params() if callable(ex.params) else ex.params), "p": 1.0}
    step = REGISTRY[name](**params)
    return augnoise.Pipeline(sample=[step], batch=[step], seed=3, **extra)


@pytest.fixture
def torch_route(monkeypatch):
    """Run the batch stage through the torch kernels, as for tensors on a GPU: no tensor is
    viewed as numpy, so ``run_kernel`` dispatches to the ``torch`` backend."""
    def use():
        monkeypatch.setattr(TorchAdapter, "numpy_view", lambda self, x: None)
    return use


def field_of(name: str) -> str:
    return REGISTRY[name].default_field


def sample_stage(p: augnoise.Pipeline, name: str, x) -> str:
    with pytest.raises(augnoise.InputError) as info:
        p({field_of(name): x, "sample_rate": RATE}, index=0)
    return str(info.value)


def batch_stage(p: augnoise.Pipeline, name: str, xb, **kw) -> str:
    with pytest.raises(augnoise.InputError) as info:
        p.apply_batch({field_of(name): xb, "sample_rate": np.full(len(xb), RATE)}, np.arange(len(xb)) + next(_CALLS), **kw)
    return str(info.value)


# -- regression tests, one per failure ----------------------------------------------------


@pytest.mark.parametrize("route", ["numpy", "tensor", "torch"])
def test_issue14_batch_domain_checked(route, torch_route):
    """Float images outside [0, 1] (or their declared range) are refused in the batch stage on
    every route, with the sample stage's sentence, and nothing is clamped or written."""
    if route == "torch":
        torch_route()
    p = make("image.GaussianNoise")
    x = np.full((2, 3, 4, 4), 0.5, np.float32)
    x[1, 0, 0, 0] = 1.5
    xb = torch.from_numpy(x.copy()) if route != "numpy" else x.copy()
    before = (xb.numpy() if route != "numpy" else xb).copy()
    msg = batch_stage(p, "image.GaussianNoise", xb, item_types={"image": "torch"})
    assert msg == ("batch step 1 (image.GaussianNoise): float image values lie outside [0, 1]: [0.5, 1.5] on the "
                   "[0, 1] scale (declare its range or normalize: under fields:)")
    assert np.array_equal(xb.numpy() if route != "numpy" else xb, before)
    q = make("image.GaussianNoise", fields={"image": {"range": [0, 255]}})
    xr = xb * 255
    xr[0, 0, 0, 0] = -10.0
    assert batch_stage(q, "image.GaussianNoise", xr, item_types={"image": "torch"}).startswith(
        "batch step 1 (image.GaussianNoise): float image values lie outside its declared domain: [-0.0392157, ")
    for bad, word in ((float("nan"), "1 NaN or inf value(s)"), (float("-inf"), "1 NaN or inf value(s)")):
        xn = xb.clone() if route != "numpy" else xb.copy()
        xn[0, 1, 2, 3] = bad
        assert batch_stage(p, "image.GaussianNoise", xn, item_types={"image": "torch"}) == \
            f"batch step 1 (image.GaussianNoise): float image holds {word}"


@pytest.mark.parametrize("route", ["numpy", "tensor", "torch"])
def test_issue14_batch_empty_image(route, torch_route):
    if route == "torch":
        torch_route()
    p = make("image.GaussianNoise")
    x = np.zeros((2, 2, 0, 0), np.float32)
    xb = torch.from_numpy(x) if route != "numpy" else x
    assert batch_stage(p, "image.GaussianNoise", xb) == "batch step 1 (image.GaussianNoise): image is empty (shape (2, 2, 0, 0))"
    assert sample_stage(p, "image.GaussianNoise", x[0]) == "step 1 (image.GaussianNoise): image is empty (shape (2, 0, 0))"


@pytest.mark.parametrize("name", AUDIO)
@pytest.mark.parametrize("route", ["numpy", "tensor", "torch"])
def test_issue14_batch_audio_layout(name, route, torch_route):
    """(N, C) audio, where audio is (C, N), is refused per sample in the batch (B, N, C)."""
    if route == "torch":
        torch_route()
    p = make(name)
    x = np.zeros((2, 400, 2), np.float32)
    xb = torch.from_numpy(x) if route != "numpy" else x
    want = "audio has more channels (400) than samples (2): audio is channels-first (C, N); transpose an (N, C) array with .T"
    assert batch_stage(p, name, xb) == f"batch step 1 ({name}): {want}"
    assert sample_stage(p, name, x[0]) == f"step 1 ({name}): {want}"


@pytest.mark.parametrize("name", AUDIO)
@pytest.mark.parametrize("route", ["numpy", "tensor", "torch"])
def test_issue14_batch_audio_full_scale(name, route, torch_route):
    if route == "torch":
        torch_route()
    p = make(name)
    x = np.zeros((2, 2, 400), np.float32)
    x[1, 1, 7] = -1.25  # one value of one clip above full scale
    xb = torch.from_numpy(x) if route != "numpy" else x
    want = "float audio must lie in [-1, 1], got a peak of 1.25 (is it PCM stored as float?)"
    assert batch_stage(p, name, xb) == f"batch step 1 ({name}): {want}"
    assert sample_stage(p, name, x[1]) == f"step 1 ({name}): {want}"
    x[1, 1, 7] = 1.0  # full scale itself is fine
    p.apply_batch({"audio": xb, "sample_rate": np.full(2, RATE)}, [7, 8])


@pytest.mark.parametrize("name", AUDIO)
@pytest.mark.parametrize("route", ["numpy", "tensor", "torch"])
@pytest.mark.parametrize("shape", [(2, 0), (2, 3, 0), (2, 0, 5)])
def test_issue14_batch_empty_audio(name, route, shape, torch_route):
    """0-length audio is an InputError, never a torch RuntimeError from a kernel."""
    if route == "torch":
        torch_route()
    p = make(name)
    x = np.zeros(shape, np.float32)
    xb = torch.from_numpy(x) if route != "numpy" else x
    assert batch_stage(p, name, xb) == f"batch step 1 ({name}): audio is empty (shape {shape})"
    assert sample_stage(p, name, x[0]) == f"step 1 ({name}): audio is empty (shape {shape[1:]})"


@pytest.mark.parametrize("name", IMAGE + AUDIO)
@pytest.mark.parametrize("kind", ["meta", "sparse"])
def test_issue14_tensors_without_values(name, kind):
    """Meta and sparse tensors: an InputError in both stages, not a torch RuntimeError."""
    p = make(name)
    shape = (2, 3, 4, 4) if name in IMAGE else (2, 2, 50)
    xb = torch.zeros(shape, device="meta") if kind == "meta" else torch.zeros(shape).to_sparse()
    want = ("is a tensor on the meta device, which holds no values" if kind == "meta"
            else "must be a dense (strided) tensor, got layout sparse_coo")
    what = field_of(name)
    assert batch_stage(p, name, xb) == f"batch step 1 ({name}): {what} {want}"
    assert sample_stage(p, name, xb[0] if kind == "meta" else torch.zeros(shape[1:]).to_sparse()) == \
        f"step 1 ({name}): {what} {want}"


@pytest.mark.parametrize("name", IMAGE + AUDIO)
def test_issue14_non_native_byte_order(name):
    """Big-endian numpy data: an InputError naming the dtype (was a KeyError / numba typing
    error for images), in both stages."""
    p = make(name)
    x = np.full((4, 4, 3) if name in IMAGE else (2, 50), 0.5, ">f4")
    what = field_of(name)
    head = f"{what} dtype must be "
    tail = "got >f4 (non-native byte order: convert with .astype(np.float32))"
    for msg, prefix in ((sample_stage(p, name, x), "step 1"), (batch_stage(p, name, np.stack([x, x]).astype(x.dtype)), "batch step 1")):
        assert msg.startswith(f"{prefix} ({name}): {head}") and msg.endswith(tail), msg


def test_issue14_finite_range_one_fused_reduction():
    """The tensor domain check: one aminmax (NaN propagates, inf kept) gives the range; the
    NaN/inf count only on the error path, and it counts every kind."""
    from augnoise.image.checks import finite_range

    x = torch.linspace(-0.25, 2.0, 1000)
    assert finite_range(x) == (0, -0.25, 2.0)
    assert finite_range(x.to(torch.bfloat16))[0] == 0
    x[3], x[500], x[999] = float("nan"), float("inf"), float("-inf")
    assert finite_range(x)[0] == 3
    assert finite_range(torch.zeros(0)) == (0, 0.0, 0.0)
    calls = []
    real = torch.aminmax
    try:
        torch.aminmax = lambda t: calls.append(1) or real(t)
        finite_range(torch.rand(2, 3, 4, 4))
    finally:
        torch.aminmax = real
    assert calls == [1]


# -- the rule, parametrised ---------------------------------------------------------------

#: kinds of check, by the words of the sentence
KINDS = {
    "dtype": r"dtype must be",
    "shape": r"must be \(|must be HxW|batch-stage audio must be|more channels \(",
    "empty": r"is empty \(shape",
    "nonfinite": r"holds \d+ NaN or inf value",
    "domain": r"lie outside|must lie in \[-1, 1\]",
}


def kind_of(msg: str) -> str:
    found = [k for k, pat in KINDS.items() if re.search(pat, msg)]
    assert len(found) == 1, msg
    return found[0]


def _full(shape, v, dtype=np.float32):
    return np.full(shape, v, dtype)


def _one_bad(shape, v):
    x = np.full(shape, 0.25, np.float32)
    x.reshape(-1)[len(x.reshape(-1)) // 2] = v
    return x


# (case name, sample (numpy), expected kind; None: valid, must pass), per modality
IMAGE_CASES = [
    ("valid", _full((4, 4, 3), 0.5), None),
    ("above_one", _one_bad((4, 4, 3), 1.0001), "domain"),
    ("below_zero", _one_bad((4, 4, 3), -0.01), "domain"),
    ("nan", _one_bad((4, 4, 3), np.nan), "nonfinite"),
    ("inf", _one_bad((4, 4, 3), np.inf), "nonfinite"),
    ("float16_above_one", _full((4, 4, 3), 3.0, np.float16), "domain"),
    ("empty", np.zeros((2, 0, 0), np.float32), "empty"),
    ("empty_rows", np.zeros((0, 4, 3), np.uint8), "empty"),
    ("one_d", _full((6,), 0.5), "shape"),
    ("four_d", _full((2, 4, 4, 3), 0.5), "shape"),
    ("int16", np.zeros((4, 4, 3), np.int16), "dtype"),
    ("int64", np.zeros((4, 4, 3), np.int64), "dtype"),
    ("bool", np.zeros((4, 4, 3), bool), "dtype"),
    ("complex", np.zeros((4, 4, 3), np.complex64), "dtype"),
    ("big_endian", _full((4, 4, 3), 0.5, ">f4"), "dtype"),
]
AUDIO_CASES = [
    ("valid", 0.5 * np.sin(np.arange(800, dtype=np.float32) / 7).reshape(2, 400), None),
    ("above_full_scale", _one_bad((2, 400), 1.001), "domain"),
    ("below_full_scale", _one_bad((400,), -3.0), "domain"),
    ("float16_above", _full((2, 400), 2.0, np.float16), "domain"),
    ("nan", _one_bad((2, 400), np.nan), "nonfinite"),
    ("inf", _one_bad((400,), -np.inf), "nonfinite"),
    ("empty", np.zeros((0,), np.float32), "empty"),
    ("empty_channels", np.zeros((2, 0), np.float32), "empty"),
    ("n_by_c", _full((400, 2), 0.1), "shape"),
    ("three_d", _full((2, 3, 40), 0.1), "shape"),
    ("int8", np.zeros((400,), np.int8), "dtype"),
    ("uint8", np.zeros((400,), np.uint8), "dtype"),
    ("bool", np.zeros((400,), bool), "dtype"),
    ("complex", np.zeros((400,), np.complex64), "dtype"),
    ("big_endian", _full((400,), 0.1, ">f4"), "dtype"),
]
#: kinds whose sentence holds nothing batch-specific: the batch says exactly what the sample stage says
SAME_TEXT = {"dtype", "domain"}


def _params(modality: str, names: list[str], cases: list) -> list:
    return [pytest.param(name, case, x, kind, id=f"{name}-{case}") for name in names for case, x, kind in cases]


@pytest.mark.parametrize("name, case, x, kind", _params("image", IMAGE, IMAGE_CASES) + _params("audio", AUDIO, AUDIO_CASES))
def test_issue14_sample_and_batch_refuse_alike(name, case, x, kind, monkeypatch):
    p = make(name)
    field = field_of(name)
    item_types = {field: "numpy"}  # how the loader collates numpy samples (HWC images -> NHWC batches)
    batches = {"numpy": np.stack([x, x]).astype(x.dtype)}  # np.stack alone makes big-endian data native
    if x.dtype.isnative:
        batches["tensor"] = batches["torch"] = torch.from_numpy(np.stack([x, x]))
    samples = {"numpy": x}

    def run_batch(route, xb):
        if route == "torch":
            monkeypatch.setattr(TorchAdapter, "numpy_view", lambda self, t: None)
        try:
            return p.apply_batch({field: xb, "sample_rate": np.full(2, RATE)}, np.arange(2) + next(_CALLS),
                                 item_types=item_types)
        finally:
            monkeypatch.undo()

    if kind is None:  # the control: a valid input passes every check, on every route
        # the numpy routes run the checks the numba kernels start with (running the kernels
        # themselves would only add their compile time here); the torch route runs whole
        step = p.sample[0]
        ctx = Context(stage=1, item_types=MappingProxyType(item_types))
        for arr, batched in ((x, False), (batches["numpy"], True), (batches["tensor"].numpy(), True)):
            step.check(arr, batched=batched, ctx=ctx if batched else Context())
            if field == "image":
                image_batch(arr if batched else arr[None], ctx if batched else Context(), field)
        y = run_batch("torch", batches["torch"])[field]
        assert isinstance(y, torch.Tensor) and tuple(y.shape) == (2,) + x.shape
        return

    results = {}
    for route, xs in samples.items():
        try:
            p({field: xs, "sample_rate": RATE}, index=0)
        except augnoise.InputError as err:
            results[f"sample-{route}"] = str(err)
    for route, xb in batches.items():
        try:
            run_batch(route, xb)
        except augnoise.InputError as err:
            results[f"batch-{route}"] = str(err)
    assert set(results) == {f"sample-{r}" for r in samples} | {f"batch-{r}" for r in batches}, results
    sample_text = results["sample-numpy"]
    assert sample_text.startswith(f"step 1 ({name}): ")
    for where, msg in results.items():
        assert kind_of(msg) == kind, (where, msg)
        if where.startswith("batch"):
            assert msg.startswith(f"batch step 1 ({name}): "), msg
            if kind in SAME_TEXT:
                assert msg == "batch " + sample_text, (where, msg)


def test_issue14_cases_cover_the_brief():
    """The hostile list holds what the issue names (a guard against trimming it)."""
    image, audio = {c for c, _, _ in IMAGE_CASES}, {c for c, _, _ in AUDIO_CASES}
    assert {"above_one", "below_zero", "nan", "inf", "empty", "one_d", "int16", "bool", "complex"} <= image
    assert {"above_full_scale", "nan", "inf", "empty", "n_by_c", "bool", "complex"} <= audio
    assert IMAGE and AUDIO
