"""Conformance across layouts and dtypes, for every registered image transform (through its
examples) and every audio and tabular transform: the same image as a numpy HWC array, a torch
CHW tensor, or either with the other layout declared, gets the same noise; every dtype comes
back as itself; half precision equals the float32 computation rounded; the batch stage on NCHW
tensors equals the numpy NHWC batch."""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

import augnoise
from augnoise.core.registry import transform_names
from augnoise.core.transform import REGISTRY

SEED = 77
INDICES = [0, 3, 9, 2**33 + 1]
IMAGE_DTYPES = ["uint8", "uint16", "float16", "float32", "float64"]


def image_cases() -> list[Any]:
    out = []
    for name in transform_names("image"):
        for i, ex in enumerate(REGISTRY[name].examples):
            if np.asarray(ex.sample()["image"]).ndim == 3:  # a channel axis, so layouts differ
                out += [pytest.param(name, i, dt, id=f"{name}-{i}-{dt}") for dt in IMAGE_DTYPES]
    return out


def as_dtype(img: np.ndarray, dtype: str) -> np.ndarray:
    unit = img.astype(np.float64) / (np.iinfo(img.dtype).max if img.dtype.kind in "iu" else 1.0)
    if dtype in ("uint8", "uint16"):
        return np.round(unit * np.iinfo(dtype).max).astype(dtype)
    return unit.astype(dtype)


def pipes(name: str, i: int, stage: str = "sample") -> dict[str, augnoise.Pipeline]:
    ex = REGISTRY[name].examples[i]
    params = ex.params() if callable(ex.params) else ex.params
    kw = {stage: [REGISTRY[name](**params)], "seed": SEED}
    return {"default": augnoise.Pipeline(**kw),
            "CHW": augnoise.Pipeline(**kw, fields={"image": {"layout": "CHW"}}),
            "HWC": augnoise.Pipeline(**kw, fields={"image": {"layout": "HWC"}})}


@pytest.mark.parametrize("name, i, dtype", image_cases())
def test_image_layouts_give_the_same_noise_and_keep_the_dtype(name, i, dtype):
    hwc = as_dtype(REGISTRY[name].examples[i].sample()["image"], dtype)
    chw = np.ascontiguousarray(hwc.transpose(2, 0, 1))
    p = pipes(name, i)
    for k in INDICES:
        ref = p["default"](hwc, index=k)  # numpy: channels-last by default
        assert ref.dtype == hwc.dtype and ref.shape == hwc.shape
        variants = {
            "torch CHW (default)": p["default"](torch.from_numpy(chw), index=k),
            "numpy CHW (declared)": p["CHW"](chw, index=k),
            "torch HWC (declared)": p["HWC"](torch.from_numpy(hwc), index=k),
        }
        for what, out in variants.items():
            arr = out.numpy() if isinstance(out, torch.Tensor) else out
            if arr.shape != hwc.shape:
                arr = arr.transpose(1, 2, 0)
            assert arr.dtype == hwc.dtype and np.array_equal(arr, ref, equal_nan=True), what
        assert isinstance(variants["torch CHW (default)"], torch.Tensor)


@pytest.mark.parametrize("name", transform_names("image"))
def test_half_precision_is_the_float32_computation_rounded(name):
    ex = REGISTRY[name].examples[0]
    params = ex.params() if callable(ex.params) else ex.params
    p = augnoise.Pipeline(sample=[REGISTRY[name](**params)], seed=SEED)
    img32 = as_dtype(ex.sample()["image"], "float32")
    for k in INDICES:
        for half, np_half in ((torch.float16, np.float16), (torch.bfloat16, None)):
            x = torch.from_numpy(img32).to(half)  # HWC here: declare it for torch
            y = augnoise.Pipeline(sample=p.sample, seed=SEED, fields={"image": {"layout": "HWC"}})(x, index=k)
            assert y.dtype == half and y.shape == x.shape
            ref = p(x.to(torch.float32).numpy(), index=k)  # the same values, computed in float32
            assert torch.equal(y, torch.from_numpy(ref).to(half))


@pytest.mark.parametrize("name", [n for n in transform_names("image") if REGISTRY[n].batch_capable()])
def test_batch_stage_nchw_tensors_equal_the_numpy_nhwc_batch(name):
    ex = REGISTRY[name].examples[0]
    params = ex.params() if callable(ex.params) else ex.params
    p = augnoise.Pipeline(batch=[REGISTRY[name](**params)], seed=SEED)
    nhwc = np.stack([as_dtype(ex.sample()["image"], "float32")] * len(INDICES))
    a = p.apply_batch(nhwc, INDICES)  # numpy: channels-last
    b = p.apply_batch(torch.from_numpy(np.ascontiguousarray(nhwc.transpose(0, 3, 1, 2))), INDICES)  # NCHW
    assert isinstance(a, np.ndarray) and isinstance(b, torch.Tensor)
    assert np.array_equal(b.numpy().transpose(0, 2, 3, 1), a)


AUDIO_DTYPES = ["float16", "float32", "float64", "int16", "int32"]


@pytest.mark.parametrize("name", transform_names("audio"))
@pytest.mark.parametrize("dtype", AUDIO_DTYPES)
def test_audio_dtypes_and_tensors(name, dtype):
    ex = REGISTRY[name].examples[0]
    params = ex.params() if callable(ex.params) else ex.params
    p = augnoise.Pipeline(sample=[REGISTRY[name](**params)], seed=SEED)
    sample = ex.sample()
    x = sample["audio"].astype(np.float64)
    x = x / (np.iinfo(sample["audio"].dtype).max if sample["audio"].dtype.kind == "i" else 1.0)
    x = np.round(x * np.iinfo(dtype).max).astype(dtype) if dtype.startswith("int") else x.astype(dtype)
    for k in INDICES:
        out = p({**sample, "audio": x}, index=k)["audio"]
        assert out.dtype == x.dtype and out.shape == x.shape
        t = p({**sample, "audio": torch.from_numpy(x)}, index=k)["audio"]
        assert isinstance(t, torch.Tensor) and np.array_equal(t.numpy(), out)  # a CPU tensor: the same bytes
    bf = p({**sample, "audio": torch.from_numpy(x.astype(np.float32) if dtype.startswith("float") else
                                                 x.astype(np.float32) / np.iinfo(dtype).max).to(torch.bfloat16)},
           index=1)["audio"]
    assert bf.dtype == torch.bfloat16


@pytest.mark.parametrize("name", transform_names("tabular"))
def test_tabular_tensors_in_the_sample_stage(name):
    ex = REGISTRY[name].examples[0]
    p = augnoise.Pipeline(sample=[REGISTRY[name](**ex.params)], seed=SEED)
    if ex.prepare:
        ex.prepare(p)
    x = ex.sample()["features"]
    for k in INDICES:
        a = p({"features": x}, index=k)["features"]
        b = p({"features": torch.from_numpy(x)}, index=k)["features"]
        assert isinstance(b, torch.Tensor) and np.array_equal(b.numpy(), a, equal_nan=True)
