import numpy as np
import pytest

import augnoise
from tests.conftest import run_step
from augnoise.image.albu import AlbumentationsStep


def test_albumentations_step_is_keyed():
    # (albumentations.GaussNoise is refused since issue 14: it reseeds OpenCV's global generator)
    p = augnoise.loads("seed: 2\nsample:\n  - albumentations.ISONoise: {intensity: [0.1, 0.5], p: 1}\n"
                       "  - albumentations.HorizontalFlip: {p: 0.5}\n")
    img = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    a = [p(img, index=i) for i in range(40)]
    b = [p(img, index=i) for i in reversed(range(40))][::-1]
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert len({x.tobytes() for x in a}) == 40  # fresh noise for every index


def test_albumentations_p_is_ours_and_honest():
    t = AlbumentationsStep("HorizontalFlip", p=0.3)
    img = np.arange(12, dtype=np.uint8).reshape(2, 6)
    flips = sum(not np.array_equal(run_step(t, {"image": img}, i, seed=1)["image"], img) for i in range(2000))
    assert abs(flips - 600) < 5 * np.sqrt(2000 * 0.3 * 0.7)


def test_albumentations_errors():
    with pytest.raises(augnoise.ParamError, match=r"albumentations.ShotNoise: scale_range: First value should be less"):
        AlbumentationsStep("ShotNoise", scale_range=[0.3, 0.1])
    with pytest.raises(augnoise.ParamError, match=r"albumentations.HorizontalFlip: Argument\(s\) 'bogus' are not valid"):
        AlbumentationsStep("HorizontalFlip", bogus=1)
    with pytest.raises(KeyError):
        AlbumentationsStep("Compose")  # only transforms, never compositions or arbitrary classes
    with pytest.raises(augnoise.ParamError, match=r"p: must be a number in \[0, 1\], got 3"):
        AlbumentationsStep("HorizontalFlip", p=3)


def test_albumentations_round_trip():
    p = augnoise.loads("seed: 9\nsample:\n  - albumentations.GaussianBlur: {blur_limit: [3, 5], p: 0.5}\n")
    assert augnoise.loads(p.dumps()) == p
