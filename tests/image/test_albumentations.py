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
    with pytest.raises(augnoise.ParamError, match=r"albumentations.HorizontalFlip: bogus: unknown parameter \(known: field, p\)"):
        AlbumentationsStep("HorizontalFlip", bogus=1)
    with pytest.raises(KeyError):
        AlbumentationsStep("Compose")  # only transforms, never compositions or arbitrary classes
    with pytest.raises(augnoise.ParamError, match=r"p: must be a number in \[0, 1\], got 3"):
        AlbumentationsStep("HorizontalFlip", p=3)


def test_albumentations_round_trip():
    p = augnoise.loads("seed: 9\nsample:\n  - albumentations.GaussianBlur: {blur_limit: [3, 5], p: 0.5}\n")
    assert augnoise.loads(p.dumps()) == p


def test_albumentations_steps_keep_albumentations_default_p():
    """Left out, p is albumentations' own default (0.5 for HorizontalFlip), not 1 (issue 17)."""
    import inspect

    import albumentations as A

    assert inspect.signature(A.HorizontalFlip.__init__).parameters["p"].default == 0.5
    p = augnoise.loads("seed: 5\nsample:\n  - albumentations.HorizontalFlip: {}\n")
    img = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    flipped = sum(not np.array_equal(p(img, index=i), img) for i in range(400))
    assert abs(flipped - 200) < 5 * 10  # binomial(400, 0.5): sd 10
    assert augnoise.loads(augnoise.dumps(p)) == p and "HorizontalFlip: {}" in augnoise.dumps(p)  # p still left out
    always = augnoise.loads("seed: 5\nsample:\n  - albumentations.HorizontalFlip: {p: 1}\n")
    assert all(not np.array_equal(always(img, index=i), img) for i in range(50))


def test_show_prints_albumentations_real_defaults_and_misspelt_parameters_get_a_suggestion():
    from augnoise.image.albu import _show

    text = _show("albumentations.GaussianBlur")
    rows = {line.split()[0]: line for line in text.splitlines() if line.startswith("  ")}
    assert "default required" not in text
    assert "default 0.5" in rows["p"] and "default [0.5, 3.0]" in rows["sigma_limit"]
    with pytest.raises(augnoise.ConfigError, match="blur_limt: unknown parameter; did you mean 'blur_limit'"):
        augnoise.loads("sample:\n  - albumentations.GaussianBlur: {blur_limt: [3, 5]}\n")
