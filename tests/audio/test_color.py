"""Colour-noise spectra: slope within 0.5 dB/octave of -3.01*b, and no repetition."""
import numpy as np
import pytest
from scipy.signal import welch

from augnoise.audio.kernels import COLORS, color_noise

RATE = 16000


def slope_db_per_octave(x):
    f, p = welch(x, fs=RATE, nperseg=8192)
    band = (f >= 40) & (f <= 6000)
    return np.polyfit(np.log2(f[band]), 10 * np.log10(p[band]), 1)[0]


@pytest.mark.parametrize("color", sorted(COLORS))
def test_named_colour_slopes(color):
    b = COLORS[color]
    x = color_noise(1, 20 * RATE, b, key=7)[0].astype(np.float64)
    assert abs(slope_db_per_octave(x) - (-10 * np.log10(2) * b)) < 0.5


@pytest.mark.parametrize("b", [0.5, 1.5, -0.5])
def test_exponent_slopes_and_odd_lengths(b):
    x = color_noise(2, 20 * RATE + 37, b, key=9)  # a length with a large prime factor
    assert x.shape == (2, 20 * RATE + 37) and x.dtype == np.float32
    for ch in x:
        assert abs(slope_db_per_octave(ch.astype(np.float64)) - (-10 * np.log10(2) * b)) < 0.5


def test_no_repetition_and_channels_independent():
    x = color_noise(2, 10 * RATE, 1.0, key=3).astype(np.float64)
    first, second = x[0, :RATE], x[0, RATE : 2 * RATE]
    assert abs(np.corrcoef(first, second)[0, 1]) < 0.3  # a tiled 1 s buffer would give 1.0
    assert abs(np.corrcoef(x[0], x[1])[0, 1]) < 0.1
    assert not np.array_equal(color_noise(1, 1000, 1.0, key=1), color_noise(1, 1000, 1.0, key=2))
