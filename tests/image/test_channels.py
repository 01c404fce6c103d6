"""Any channel count for image transforms (issue 16): multispectral images and stacked frames
run through every image transform once their layout is declared; a layout defaulted by type
keeps the 1-to-4 bound, so a channels-first numpy array is never read as hundreds of channels."""
import numpy as np
import pytest
import torch

import augnoise
from augnoise.core import keys
from augnoise.core.kernels import backends, kernel_for
from augnoise.core.transform import REGISTRY
from augnoise.image.base import ImageTransform
from augnoise.image.layout import MAX_DECLARED_CHANNELS

IMAGE_STEPS = sorted(n for n, c in REGISTRY.items() if issubclass(c, ImageTransform) and c.examples)
INDICES = [3, 8, 21]


def _params(name: str) -> dict:
    ex = REGISTRY[name].examples[0]
    params = ex.params() if callable(ex.params) else dict(ex.params)
    return {k: v for k, v in params.items() if k not in ("p", "field")}


def _images(dtype, channels: int, n: int = 3, size: int = 9) -> np.ndarray:
    """(n, size, size, channels) images, a ramp from 20% to 80% of the range, channels differing."""
    ramp = 0.2 + 0.6 * np.linspace(0, 1, n * size * size * channels).reshape(n, size, size, channels)
    if np.dtype(dtype).kind == "f":
        return ramp.astype(dtype)
    return np.round(ramp * np.iinfo(dtype).max).astype(dtype)


def test_the_image_steps_are_all_covered():
    assert {"image.GaussianNoise", "image.SaltAndPepper", "image.ShotNoise", "image.SpeckleNoise",
            "image.Corruption"} <= set(IMAGE_STEPS)


def _one_with_batch_keys(p: augnoise.Pipeline, x: np.ndarray, index: int) -> np.ndarray:
    """The one-sample path of the batch stage's steps, with the batch stage's keys."""
    rands = keys.sample_rand(p._trees[keys.BATCH_STAGE], p.seed, keys.BATCH_STAGE, 0, index)
    ctx = p._context(keys.BATCH_STAGE, epoch=0, index=index, occurrence=0)
    sample = {"image": x}
    for step, r in zip(p.batch, rands):
        sample = step.run(sample, r, ctx)
    return sample["image"]


@pytest.mark.parametrize("channels", [6, 13])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
@pytest.mark.parametrize("name", IMAGE_STEPS)
def test_many_channels_run_in_both_layouts_and_stages(name, dtype, channels):
    step = REGISTRY[name](**_params(name), p=1.0)
    hwc = _images(dtype, channels)
    nhwc = augnoise.Pipeline(sample=[step], batch=[step], seed=4, fields={"image": {"layout": "HWC"}})
    nchw = augnoise.Pipeline(sample=[step], batch=[step], seed=4, fields={"image": {"layout": "CHW"}})
    outs = [nhwc(hwc[b], index=i) for b, i in enumerate(INDICES)]
    for x, y in zip(hwc, outs):
        assert y.shape == x.shape and y.dtype == x.dtype
        changed = (y != x).reshape(-1, channels).any(axis=0)
        assert changed.sum() >= channels - 1, changed  # noise reaches (nearly) every channel
    # channels-first tensors: the same noise at the same canonical positions
    for b, i in enumerate(INDICES):
        chw = torch.from_numpy(np.ascontiguousarray(hwc[b].transpose(2, 0, 1)))
        assert np.array_equal(nchw(chw, index=i).numpy().transpose(1, 2, 0), outs[b])
    # batch stage: numpy NHWC and torch NCHW give the one-sample path's bytes (batch-stage keys)
    batch = nhwc.apply_batch(hwc, INDICES)
    assert np.array_equal(batch, np.stack([_one_with_batch_keys(nhwc, hwc[b], i) for b, i in enumerate(INDICES)]))
    tb = nchw.apply_batch(torch.from_numpy(np.ascontiguousarray(hwc.transpose(0, 3, 1, 2))), INDICES)
    assert np.array_equal(tb.numpy().transpose(0, 2, 3, 1), batch)
    # the torch kernel (the batch stage on any device) on CPU: as the numpy kernel
    if "torch" in backends(type(step)) and "numpy" in backends(type(step)):
        r = keys.batch_rand(nhwc._trees[keys.BATCH_STAGE], nhwc.seed, keys.BATCH_STAGE, np.array(INDICES, np.uint64),
                            np.zeros(len(INDICES), np.uint64), np.zeros(len(INDICES), np.uint64))[0]
        r.below(step.p)
        params = step.draw(r)
        ctx = nhwc._context(keys.BATCH_STAGE)
        a = kernel_for(type(step), "numpy")(step, hwc, params, ctx)
        b = kernel_for(type(step), "torch")(step, torch.from_numpy(hwc), params, ctx).numpy()
        if step.exact_backends:
            assert np.array_equal(a, b)
        else:  # Poisson: a float64 transcendental may round differently at an acceptance boundary
            assert np.mean(a != b) < 1e-2


def test_gaussian_std_holds_on_each_of_many_channels():
    c, std = 8, 0.05
    x = np.full((128, 128, c), 0.5, np.float32)
    p = augnoise.Pipeline(sample=[augnoise.image.GaussianNoise(std=std)], seed=0, fields={"image": {"layout": "HWC"}})
    noise = (p(x, index=0).astype(np.float64) - 0.5).reshape(-1, c)
    n = noise.shape[0]
    # the sample std of n normals has a standard error of std / sqrt(2 (n - 1)): 6 of them
    assert np.all(np.abs(noise.std(axis=0) - std) < 6 * std / np.sqrt(2 * (n - 1)))
    # independent channels: correlations within 6 standard errors (1 / sqrt(n)) of 0
    corr = np.corrcoef(noise.T)[np.triu_indices(c, 1)]
    assert np.all(np.abs(corr) < 6 / np.sqrt(n))


def test_64_channels_and_a_normalisation_per_channel():
    c = 64
    mean, sd = list(np.linspace(0.3, 0.6, c)), list(np.linspace(0.1, 0.3, c))
    raw = _images(np.float32, c, n=1, size=8)[0]
    x = ((raw - np.array(mean, np.float32)) / np.array(sd, np.float32)).astype(np.float32)
    fields = {"image": {"layout": "HWC", "normalize": {"mean": mean, "std": sd}}}
    p = augnoise.Pipeline(sample=[augnoise.image.GaussianNoise(std=0.02)], seed=1, fields=fields)
    y = p(x, index=0)
    back = y * np.array(sd, np.float32) + np.array(mean, np.float32)  # in [0, 1] again
    assert back.min() >= -1e-5 and back.max() <= 1 + 1e-5
    assert 0.01 < float(np.std(back - raw)) < 0.03


def test_undeclared_layouts_keep_the_bound_and_say_how_to_declare():
    p = augnoise.Pipeline(sample=[augnoise.image.GaussianNoise(std=0.1)], seed=0)
    with pytest.raises(augnoise.InputError, match=r"^step 1 \(image.GaussianNoise\): image must have 1 to 4 channels, "
                                                  r"got 6 in layout HWC \(shape \(5, 5, 6\)\); HWC is the default for numpy "
                                                  r"arrays: declare layout: CHW under fields: if it is CHW, or layout: HWC to "
                                                  r"take more than 4 channels \(multispectral\)$"):
        p(np.zeros((5, 5, 6), np.uint8), index=0)
    # a channels-first numpy array is not silently read as 224 channels
    with pytest.raises(augnoise.InputError, match="got 224 in layout HWC"):
        p(np.zeros((3, 224, 224), np.uint8), index=0)


def test_declared_layouts_have_a_sanity_bound():
    p = augnoise.Pipeline(sample=[augnoise.image.GaussianNoise(std=0.1)], seed=0, fields={"image": {"layout": "HWC"}})
    c = MAX_DECLARED_CHANNELS + 1
    with pytest.raises(augnoise.InputError, match=rf"image must have 1 to {MAX_DECLARED_CHANNELS} channels, got {c} in "
                                                  r"the declared layout HWC"):
        p(np.zeros((2, 2, c), np.uint8), index=0)


def test_albumentations_steps_keep_their_own_channel_rules():
    """albumentations works on any channel count where its math does; where it needs colour
    (HSV) it refuses, and that is one line naming the step."""
    x = np.full((8, 8, 6), 100, np.uint8)
    blur = augnoise.loads("sample: [{albumentations.GaussianBlur: {p: 1}}]")
    assert blur(x, index=0).shape == x.shape
    hsv = augnoise.loads("sample: [{albumentations.HueSaturationValue: {p: 1}}]")
    with pytest.raises(augnoise.InputError, match=r"^step 1 \(albumentations.HueSaturationValue\): .*1-channel or "
                                                 r"3-channel images\.$"):
        hsv(x, index=0)
