"""The silent misreads of tensors as PyTorch users hold them, each now read as declared or refused:
small NCHW batches, channels-last tensors, normalised data with and without a declaration,
half precision in the batch stage, and the salt-and-pepper rate resolution."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import augnoise
from augnoise.image.kernels import thresholds

Z = 5.0
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
NORM = {"image": {"normalize": {"mean": list(MEAN), "std": list(STD)}}}
IMAGE_STEPS = [
    ("image.GaussianNoise", {"std": 0.1}),
    ("image.SaltAndPepper", {"amount": 0.2, "salt_ratio": 0.3}),
    ("image.ShotNoise", {"photons": 30}),
    ("image.SpeckleNoise", {"std": 0.3}),
]


def step(name, params):
    return augnoise.get_transform(name)(**params)


def normalise(x: torch.Tensor) -> torch.Tensor:
    m, s = torch.tensor(MEAN).view(1, 3, 1, 1), torch.tensor(STD).view(1, 3, 1, 1)
    return (x - m) / s


def photo(b: int = 4, h: int = 16, w: int = 16) -> torch.Tensor:
    """A float NCHW batch in [0, 1] with black, white and mid-tones."""
    g = torch.Generator().manual_seed(5)
    x = torch.rand(b, 3, h, w, generator=g)
    x[:, :, 0] = 0.0
    x[:, :, 1] = 1.0
    return x


def test_small_nchw_batch_is_read_channels_first():
    """(B, 3, 4, 4): three channels of 4x4 pixels, not 3x4 pixels of four channels."""
    x = torch.full((6, 3, 4, 4), 0.5)
    g = augnoise.Pipeline(batch=[step("image.GaussianNoise", {"std": 0.1, "per_channel": False})], seed=1)
    y = g.apply_batch(x, range(6))
    assert torch.equal(y[:, 0], y[:, 1]) and torch.equal(y[:, 1], y[:, 2])  # shared across axis 1
    assert not torch.equal(y[..., 0], y[..., 1])
    sp = augnoise.Pipeline(batch=[step("image.SaltAndPepper", {"amount": 0.5})], seed=1)
    z = sp.apply_batch(x, range(6))
    hit = z != 0.5
    assert hit.any() and torch.equal(hit.all(1), hit.any(1))  # whole pixels: all three channels or none
    # the same bytes as a numpy NHWC batch of the same images (numpy defaults to channels-last)
    ref = augnoise.Pipeline(batch=g.batch, seed=1).apply_batch(x.permute(0, 2, 3, 1).contiguous().numpy(), range(6))
    assert np.array_equal(y.permute(0, 2, 3, 1).numpy(), ref)
    # declared channels-last, the same tensor is 3x4 pixels of four channels
    last = augnoise.Pipeline(batch=g.batch, seed=1, fields={"image": {"layout": "NHWC"}}).apply_batch(x, range(6))
    assert torch.equal(last[..., 0], last[..., 3]) and not torch.equal(last[:, 0], last[:, 1])


def test_channels_last_tensors_are_refused_unless_declared():
    x = torch.full((2, 32, 32, 3), 0.5)
    p = augnoise.Pipeline(batch=[step("image.GaussianNoise", {"std": 0.1})], seed=1)
    with pytest.raises(augnoise.InputError, match=r"^batch step 1 \(image.GaussianNoise\): image must have 1 to 4 channels, "
                                                  r"got 32 in layout NCHW \(shape \(2, 32, 32, 3\)\); NCHW is the default "
                                                  r"for torch tensors: declare layout: NHWC under fields: if it is NHWC, "
                                                  r"or layout: NCHW to take more than 4 channels \(multispectral\)$"):
        p.apply_batch(x, [0, 1])
    with pytest.raises(augnoise.InputError, match=r"image of shape \(2, 32, 32\) does not match the declared layout NHWC"):
        augnoise.Pipeline(batch=p.batch, seed=1, fields={"image": {"layout": "NHWC"}}).apply_batch(x[..., 0], [0, 1])
    with pytest.raises(augnoise.InputError, match=r"^step 1 \(image.GaussianNoise\): image must have 1 to 4 channels, "
                                                  r"got 32 in layout CHW"):
        augnoise.Pipeline(sample=p.batch, seed=1)(x[0], index=0)


@pytest.mark.parametrize("stage", ["sample", "batch"])
def test_normalised_data_without_a_declaration_is_an_error(stage):
    x = normalise(photo())
    p = augnoise.Pipeline(**{stage: [step("image.GaussianNoise", {"std": 0.1})]}, seed=1)
    where = "batch step 1" if stage == "batch" else "step 1"
    msg = (rf"^{where} \(image.GaussianNoise\): float image values lie outside \[0, 1\]: \[-2.\d+, 2.\d+\] on the "
           r"\[0, 1\] scale \(declare its range or normalize: under fields:\)$")
    before = x.clone()
    with pytest.raises(augnoise.InputError, match=msg):
        p.apply_batch(x, range(4)) if stage == "batch" else p(x[0], index=0)
    assert torch.equal(x, before)  # nothing clamped, nothing written


@pytest.mark.parametrize("name, params", IMAGE_STEPS, ids=[s[0] for s in IMAGE_STEPS])
def test_normalised_data_with_a_declaration_gets_the_same_noise_in_data_units(name, params):
    """Normalised input gives exactly the normalised output of the [0, 1] computation (same
    keys), in both stages: clipping at the images of 0 and 1, parameters in [0, 1] units."""
    x = photo()
    plain = augnoise.Pipeline(batch=[step(name, params)], sample=[step(name, params)], seed=4)
    norm = augnoise.Pipeline(batch=plain.batch, sample=plain.sample, seed=4, fields=NORM)
    want = normalise(plain.apply_batch(x, range(4)))
    got = norm.apply_batch(normalise(x), range(4))
    assert got.dtype == torch.float32 and torch.allclose(got, want, atol=1e-5, rtol=0)
    assert torch.allclose(norm(normalise(x)[1], index=1), normalise(plain(x[1], index=1)[None])[0], atol=1e-5, rtol=0)
    lo, hi = normalise(torch.zeros(1, 3, 1, 1)), normalise(torch.ones(1, 3, 1, 1))
    assert (got >= lo - 1e-6).all() and (got <= hi + 1e-6).all()  # clipped at the images of 0 and 1


def test_normalised_gaussian_std_and_salt_pepper_values():
    x = normalise(torch.full((8, 3, 32, 32), 0.5))
    g = augnoise.Pipeline(batch=[step("image.GaussianNoise", {"std": 0.05})], seed=2, fields=NORM)
    n = g.apply_batch(x, range(8)) - x
    for c in range(3):  # std 0.05 of the [0, 1] range is 0.05 / std_c in normalised units
        s, want = n[:, c].std().item(), 0.05 / STD[c]
        assert abs(s - want) < Z * want / np.sqrt(2 * n[:, c].numel())
    sp = augnoise.Pipeline(batch=[step("image.SaltAndPepper", {"amount": 1.0, "salt_ratio": 0.5})], seed=2, fields=NORM)
    y = sp.apply_batch(x, range(8))
    white, black = normalise(torch.ones(1, 3, 1, 1)), normalise(torch.zeros(1, 3, 1, 1))
    is_white, is_black = torch.isclose(y, white.expand_as(y)), torch.isclose(y, black.expand_as(y))
    assert (is_white | is_black).all()  # normalised white (2.25, 2.43, 2.64) and black (-2.12, -2.04, -1.80)
    assert abs(is_white.float().mean().item() - 0.5) < Z * 0.5 / np.sqrt(8 * 32 * 32)


def test_declared_range_and_out_of_range_data():
    x = photo() * 255.0  # float data on a 0..255 scale
    p = augnoise.Pipeline(batch=[step("image.GaussianNoise", {"std": 0.1})], seed=3, fields={"image": {"range": [0, 255]}})
    y = p.apply_batch(x, range(4))
    ref = augnoise.Pipeline(batch=p.batch, seed=3).apply_batch(x / 255.0, range(4)) * 255.0
    assert torch.allclose(y, ref, atol=1e-3, rtol=0) and y.min() >= 0 and y.max() <= 255
    bad = x.clone()
    bad[0, 0, 0, 0] = 300.0
    with pytest.raises(augnoise.InputError, match=r"outside its declared domain: \[0, 1.17\d*\] on the \[0, 1\] scale"):
        p.apply_batch(bad, range(4))


@pytest.mark.parametrize("half", [torch.float16, torch.bfloat16, torch.float64])
@pytest.mark.parametrize("name, params", IMAGE_STEPS, ids=[s[0] for s in IMAGE_STEPS])
def test_batch_stage_other_float_dtypes(name, params, half):
    """float16/bfloat16 batches are computed in float32 and rounded once; float64 in float64
    with the same draws."""
    x = photo()
    p = augnoise.Pipeline(batch=[step(name, params)], seed=6)
    y = p.apply_batch(x.to(half), range(4))
    assert y.dtype == half and y.shape == x.shape
    ref = p.apply_batch(x.to(half).to(torch.float32), range(4))
    if half == torch.float64:
        assert torch.allclose(y, p.apply_batch(x.to(half), range(4)), atol=0) and torch.allclose(y.float(), ref, atol=1e-5)
    else:
        assert torch.equal(y, ref.to(half))


def test_salt_pepper_thresholds_have_32_bit_resolution():
    for amount in (1e-4, 5e-6, 0.3, 1e-9):
        assert abs(int(thresholds(amount)) / 2**32 - amount) <= 2**-33  # rates exact to 1.2e-10
    # 5e-6 at 16-bit resolution would be 1.53e-5 (3x): 64 expected hits instead of 21
    x = torch.zeros(64, 1, 256, 256, dtype=torch.uint8)
    y = augnoise.Pipeline(batch=[step("image.SaltAndPepper", {"amount": 5e-6, "salt_ratio": 1.0})], seed=8).apply_batch(x, range(64))
    hits, want = int((y != 0).sum()), 5e-6 * x.numel()
    assert abs(hits - want) < Z * np.sqrt(want)


def test_declarations_a_step_does_not_read_are_errors_not_ignored():
    from augnoise.audio import GaussianNoise as AudioGaussian

    with pytest.raises(augnoise.ParamError, match=r"Pipeline: sample: step 1 \(audio.GaussianNoise\): fields: audio: "
                                                  r"declares layout and range, which this step does not read"):
        augnoise.Pipeline(sample=[AudioGaussian()], seed=1, fields={"audio": {"layout": "CN", "range": [-1, 1]}})
    # a field no step acts on may carry declarations (evaluate(pipeline=...) reads them)
    augnoise.Pipeline(sample=[AudioGaussian()], seed=1, fields={"image": {"normalize": {"mean": 0.5, "std": 0.2}}})
