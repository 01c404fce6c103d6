import pytest

from augnoise import ParamError
from augnoise.image import GaussianNoise, SaltAndPepper, ShotNoise


@pytest.mark.parametrize("kwargs, expected", [
    ({"std": -0.1}, ("std", "must be >= 0, got -0.1")),
    ({"std": 2}, ("std", "must be <= 1, got 2")),
    ({"std": [0.2, 0.1]}, ("std", "lo must be <= hi, got [0.2, 0.1]")),
    ({"std": [0.1]}, ("std", "must be a number or a [lo, hi] pair, got a list of 1")),
    ({"std": [0.1, -1]}, ("std", "hi must be >= 0, got -1")),
    ({"std": "0.1"}, ("std", "must be a number or a [lo, hi] pair, got '0.1'")),
    ({"std": True}, ("std", "must be a number or a [lo, hi] pair, got True")),
    ({"std": float("nan")}, ("std", "must be finite, got nan")),
    ({"p": 1.5}, ("p", "must be <= 1, got 1.5")),
    ({"p": "high"}, ("p", "must be a number in [0, 1], got 'high'")),
    ({"per_channel": "yes"}, ("per_channel", "must be true or false, got 'yes'")),
    ({"stdev": 0.1}, ("stdev", "unknown parameter; did you mean 'std'? (known: p, field, std, mean, per_channel, clip, grain)")),
    ({"field": 3}, ("field", "must be a non-empty string, got 3")),
])
def test_gaussian_param_messages(kwargs, expected):
    with pytest.raises(ParamError) as info:
        GaussianNoise(**kwargs)
    assert info.value.issues == [expected]


def test_other_bounds():
    with pytest.raises(ParamError, match=r"photons: must be > 0, got 0"):
        ShotNoise(photons=0)
    with pytest.raises(ParamError, match=r"amount: lo must be >= 0, got -0.1"):
        SaltAndPepper(amount=[-0.1, 0.2])


def test_valid_ranges_are_kept_as_written():
    t = GaussianNoise(std=[0.02, 0.08], p=0.9)
    assert t.to_config() == {"image.GaussianNoise": {"std": [0.02, 0.08], "p": 0.9}}
    assert GaussianNoise().to_config() == {"image.GaussianNoise": {}}
