"""numpy kernels of the audio transforms, on batches ``(B, C, N)`` on the [-1, 1] scale.

Noise comes from each clip's 64-bit kernel key (Philox normals at positions ``c * N + n``);
SNR mixing scales the drawn noise so the measured SNR is exact, per channel by default
(A-weighted powers for ``audio.ColorNoise`` with ``weighting: A``).
"""
from __future__ import annotations

import functools
import math
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


#: IEC 61672-1 A-weighting pole frequencies in Hz (f1, f2, f3, f4)
A_POLES = (20.598997, 107.65265, 737.86223, 12194.217)


def _a_raw(f: Any) -> Any:
    """The unnormalised A-weighting power response R_A(f)**2 (numpy or torch, float64)."""
    f1, f2, f3, f4 = A_POLES
    s = f * f
    return (f4**4 * s**4) / ((s + f1**2) ** 2 * (s + f2**2) * (s + f3**2) * (s + f4**2) ** 2)


_A_1K = float(_a_raw(np.float64(1000.0)))


def a_weighting_power(f: Any) -> Any:
    """IEC 61672 A-weighting as a power gain (1 at 1 kHz) at frequencies ``f`` in Hz; numpy or
    torch float64 arrays alike (the torch kernels share it). The normalisation is computed at
    1 kHz (the standard's A1000 = -2.000 dB rounds it)."""
    return _a_raw(f) * (1.0 / _A_1K)


def a_weighting_db(f: Any) -> np.ndarray:
    """IEC 61672 A-weighting in dB at frequencies ``f`` in Hz (-19.1 at 100 Hz, 0 at 1 kHz,
    -2.5 at 10 kHz; -inf at 0 Hz)."""
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(a_weighting_power(np.asarray(f, np.float64)))


def _one_sided(bins: int, n: int) -> np.ndarray:
    """Parseval factors of the rfft bins of an ``n``-sample signal: 1 for DC (and the Nyquist
    bin of an even length), 2 for the rest."""
    c = np.full(bins, 2.0)
    c[0] = 1.0
    if n % 2 == 0:
        c[-1] = 1.0
    return c


def weighted_mean_square(x: np.ndarray, rates: np.ndarray) -> np.ndarray:
    """Per-channel A-weighted mean square ``(B, C)`` of ``(B, C, N)`` at sample rates
    ``rates`` (one per clip), from the clip's DFT in float64: sum over bins of
    |X_k|**2 * A(k * rate / N) with the one-sided factors, over N**2 (without the weights this
    is the mean square, by Parseval)."""
    from scipy import fft

    b, _, n = x.shape
    spec = fft.rfft(np.asarray(x, np.float64), axis=-1, workers=1)
    power = spec.real**2 + spec.imag**2
    out = np.empty(power.shape[:2], np.float64)
    for i in range(b):
        out[i] = power[i] @ _a_bins(n, int(rates[i]))
    return out


@functools.lru_cache(maxsize=8)
def _a_bins(n: int, rate: int) -> np.ndarray:
    """Per-bin factors of :func:`weighted_mean_square` for ``n`` samples at ``rate`` (cached)."""
    bins = n // 2 + 1
    f = np.arange(bins, dtype=np.float64) * (float(rate) / n)
    w = _one_sided(bins, n) / float(n) ** 2 * a_weighting_power(f)
    w.setflags(write=False)
    return w


def band_bins(n: int, rate: int, band: Any) -> tuple[int, int]:
    """The rfft bins ``(k_lo, k_hi)`` (inclusive) of an ``n``-sample clip at ``rate`` Hz whose
    frequencies ``k * rate / n`` lie in ``band`` = ``[lo_hz, hi_hz or None]`` (hi above
    Nyquist, or None, means Nyquist); DC is never in the band. Raise :class:`InputError` when
    the lower edge is not below Nyquist or no bin lies in the band."""
    from ..core.errors import InputError

    lo, hi = float(band[0]), band[1]
    nyquist = rate / 2.0
    if lo >= nyquist:
        raise InputError(f"band: lower edge {lo:g} Hz is not below the Nyquist frequency {nyquist:g} Hz "
                         f"of sample_rate {rate}")
    k_lo = max(1, math.ceil(lo * n / rate))
    k_hi = n // 2 if hi is None else min(n // 2, math.floor(float(hi) * n / rate))
    if k_lo > k_hi:
        raise InputError(f"band: [{lo:g}, {'null' if hi is None else format(float(hi), 'g')}] Hz holds no "
                         f"frequency bin of a {n}-sample clip at sample_rate {rate} (bins every {rate / n:g} Hz)")
    return k_lo, k_hi


@functools.lru_cache(maxsize=16)
def _weights(bins: int, k_lo: int, k_hi: int, exponent: float) -> np.ndarray:
    """Amplitude weights ``k**(-exponent/2)`` of the rfft bins ``k_lo..k_hi``, zero elsewhere
    (float32, read-only, cached)."""
    w = np.zeros(bins, np.float64)
    w[k_lo:k_hi + 1] = np.arange(k_lo, k_hi + 1, dtype=np.float64) ** (-exponent / 2.0)
    w = w.astype(np.float32)
    w.setflags(write=False)
    return w


def _color_weights(bins: int, exponent: float) -> np.ndarray:
    """The unbanded (0.4) weights: every bin but DC."""
    return _weights(bins, 1, bins - 1, float(exponent))


def color_noise(channels: int, n: int, exponent: float, key: int, rate: int | None = None,
                band: Any = (0.0, None)) -> np.ndarray:
    """``(C, N)`` float32 noise with power spectral density ~ 1/f**exponent, over the whole length.

    Built in the frequency domain from independent complex Gaussian bins (the normals of
    ``key``) weighted by ``k**(-exponent/2)``, DC set to 0; nothing is tiled, so nothing
    repeats. Unit scale is arbitrary (callers set the level).

    With ``band`` other than ``[0, None]`` (then ``rate`` is needed) the bins are those of an
    inverse real FFT of exactly N points, zero outside :func:`band_bins`: the clip's own DFT
    holds no power outside the band. ``[0, None]`` is the 0.4 synthesis: a fast length >= N,
    cropped to N, white noise drawn directly for exponent 0. Clips shorter than 2 samples have
    no spectrum to shape and get white noise.
    """
    from scipy import fft

    banded = float(band[0]) > 0 or band[1] is not None
    if n < 2 or (exponent == 0.0 and not banded):
        return white_noise(np.array([key], np.uint64), channels, n)[0]
    if banded:
        if rate is None:
            from ..core.errors import InputError

            raise InputError("band: a band in Hz needs the sample's sample_rate")
        m = n
        bins = n // 2 + 1
        w = _weights(bins, *band_bins(n, int(rate), band), float(exponent))
    else:
        m = fft.next_fast_len(n, real=True)
        bins = m // 2 + 1
        w = _color_weights(bins, float(exponent))
    spec = philox.standard_normal((channels, 2 * bins), key).view(np.complex64)
    spec *= w
    out = fft.irfft(spec, n=m, axis=1, workers=1)[:, :n]
    return np.ascontiguousarray(out, dtype=np.float32)


def clip_rates(params: dict[str, Any], b: int) -> np.ndarray:
    """The ``sample_rate`` of each of ``b`` clips (an int64 array)."""
    rates = col(params["sample_rate"], np.int64)
    return np.broadcast_to(rates, (b,)) if rates.size == 1 else rates


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
    b, c, n = u.shape
    keys = col(params["key"], np.uint64)
    expo = np.broadcast_to(col(params["exponent"]), (b,))
    rates = clip_rates(params, b) if t.needs_rate else np.zeros(b, np.int64)
    band = t.params.band
    z = np.stack([color_noise(c, n, float(expo[i]), int(keys[i]), int(rates[i]), band) for i in range(b)])
    snr = col(params["snr_db"])
    if t.params.weighting == "A":
        g = snr_gains(weighted_mean_square(u, rates), weighted_mean_square(z, rates), snr, t.params.per_channel)
        y = u + g.astype(u.dtype)[:, :, None] * z.astype(u.dtype, copy=False)
    else:
        y = mix_at_snr(u, z, snr, t.params.per_channel)
    return from_unit(y, x, _clip_mode(t))
