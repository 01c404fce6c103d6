"""numpy kernels of the audio transforms, on batches ``(B, C, N)`` on the [-1, 1] scale.

Noise comes from each clip's 64-bit kernel key (Philox normals at positions ``c * N + n``);
SNR mixing scales the drawn noise so the measured SNR is exact, per channel by default.
"""
from __future__ import annotations

import functools
from typing import Any

import numpy as np

from ..core import philox
from ..core.kernels import col, kernel
from .checks import from_unit, to_unit
from .color import COLORS, ColorNoise  # noqa: F401  (COLORS re-exported)
from .gaussian import GaussianNoise
from .snr import GaussianSNR



def _nb():
    """The numba helpers (:mod:`augnoise.audio._numba`, compiled or loaded on first use)."""
    from . import _numba

    return _numba


def mean_square(x: np.ndarray) -> np.ndarray:
    """Per-channel mean square of ``(B, C, N)``, accumulated in float64."""
    return _nb().mean_squares(np.ascontiguousarray(x))


def finite_peak(x: np.ndarray) -> tuple[int, float]:
    """``(count of NaN/inf values, peak |x| of the rest)`` of a float array, in one pass."""
    return _nb().stats(np.ascontiguousarray(x).reshape(-1))


def white_noise(keys: np.ndarray, channels: int, n: int, dtype: Any = np.float32) -> np.ndarray:
    """``(B, C, N)`` standard normals, clip b from ``keys[b]``."""
    z = _nb().white(col(keys, np.uint64), channels * n, philox.gaussian_table()).reshape(-1, channels, n)
    return z if z.dtype == dtype else z.astype(dtype)


def snr_gains(signal_ms: Any, noise_ms: Any, snr_db: Any, per_channel: bool = True) -> Any:
    """Per-channel gains ``(B, C)`` that put noise at ``snr_db`` (one value per clip) below
    the signal, by RMS. numpy or torch arrays alike (the torch kernels share it).

    With ``per_channel`` every channel gets its own gain, so the SNR holds on each channel.
    Otherwise one gain per clip from the mean power over its channels. A silent channel (or
    silent noise) gets gain 0: it is left as it is, never NaN or inf.
    """
    if not per_channel:
        signal_ms, noise_ms = _channel_mean(signal_ms), _channel_mean(noise_ms)
    ok = (signal_ms > 0) & (noise_ms > 0)
    ratio = signal_ms / (noise_ms * ok + ~ok) * ok
    return ratio ** 0.5 * (10.0 ** (-snr_db / 20.0))[:, None]


def _channel_mean(v: Any) -> Any:
    """The mean over channels, broadcast back to ``(B, C)`` (numpy or torch)."""
    m = v.mean(1, keepdims=True) if isinstance(v, np.ndarray) else v.mean(1, keepdim=True)
    return m + 0 * v


def mix_at_snr(x: np.ndarray, noise: np.ndarray, snr_db: np.ndarray, per_channel: bool = True) -> np.ndarray:
    """``x + g * noise`` (both ``(B, C, N)``) with gains from :func:`snr_gains`: the SNR
    measured on the result is exactly ``snr_db[b]`` (per channel when ``per_channel``)."""
    g = snr_gains(mean_square(x), mean_square(noise), np.asarray(snr_db, np.float64), per_channel).astype(x.dtype)
    return x + g[:, :, None] * noise.astype(x.dtype, copy=False)


@functools.lru_cache(maxsize=32)
def _color_weights(bins: int, exponent: float) -> np.ndarray:
    """Amplitude weights ``k**(-exponent/2)`` of the rfft bins, DC zeroed (read-only, cached)."""
    k = np.arange(bins, dtype=np.float64)
    k[0] = 1.0
    w = (k ** (-exponent / 2.0)).astype(np.float32)
    w[0] = 0.0
    w.setflags(write=False)
    return w


def color_noise(channels: int, n: int, exponent: float, key: int) -> np.ndarray:
    """``(C, N)`` noise with power spectral density ~ 1/f**exponent over the whole length.

    Built in the frequency domain: independent complex Gaussian bins weighted by
    ``k**(-exponent/2)`` (DC set to 0), inverse real FFT over a fast length >= N, cropped to N.
    Nothing is tiled, so nothing repeats. Unit scale is arbitrary (callers set the level).
    Clips shorter than 2 samples have no spectrum to shape and get white noise.
    """
    if n < 2 or exponent == 0.0:
        return white_noise(np.array([key], np.uint64), channels, n)[0]
    from scipy import fft

    m = fft.next_fast_len(n, real=True)
    bins = m // 2 + 1
    spec = philox.standard_normal((channels, 2 * bins), key).view(np.complex64)
    spec *= _color_weights(bins, float(exponent))
    out = fft.irfft(spec, n=m, axis=1, workers=1)[:, :n]
    return np.ascontiguousarray(out, dtype=np.float32)


def _clip_mode(t: Any) -> Any:
    return t.params.clip


@kernel(GaussianNoise, "numpy")
def gaussian(t: GaussianNoise, x: np.ndarray, params: dict[str, Any], ctx: Any) -> np.ndarray:
    u = to_unit(x)
    z = white_noise(params["key"], u.shape[1], u.shape[2], u.dtype)
    y = u + col(params["std"]).astype(u.dtype)[:, None, None] * z
    return from_unit(y, x, _clip_mode(t))


@kernel(GaussianSNR, "numpy")
def gaussian_snr(t: GaussianSNR, x: np.ndarray, params: dict[str, Any], ctx: Any) -> np.ndarray:
    u = to_unit(x)
    z = white_noise(params["key"], u.shape[1], u.shape[2], u.dtype)
    return from_unit(mix_at_snr(u, z, col(params["snr_db"]), t.params.per_channel), x, _clip_mode(t))


@kernel(ColorNoise, "numpy")
def colored(t: ColorNoise, x: np.ndarray, params: dict[str, Any], ctx: Any) -> np.ndarray:
    u = to_unit(x)
    keys = col(params["key"], np.uint64)
    z = np.stack([color_noise(u.shape[1], u.shape[2], t.exponent, int(k)) for k in keys])
    return from_unit(mix_at_snr(u, z, col(params["snr_db"]), t.params.per_channel), x, _clip_mode(t))
