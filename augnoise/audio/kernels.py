"""Pure audio-noise kernels on ``(C, N)`` float arrays on the [-1, 1] scale."""
from __future__ import annotations

import functools

import numpy as np

from ..core.fastnormal import standard_normal

#: spectral exponent b of each named colour: power spectral density ~ 1 / f**b
COLORS = {"white": 0.0, "pink": 1.0, "brown": 2.0, "blue": -1.0, "violet": -2.0}


@functools.lru_cache(maxsize=1)
def _jit():
    import numba as nb

    @nb.njit(cache=True, nogil=True, boundscheck=False, fastmath={"reassoc", "contract"})
    def mean_squares(x):
        c, n = x.shape
        out = np.empty(c, np.float64)
        for i in range(c):
            acc = 0.0
            for j in range(n):
                v = np.float64(x[i, j])
                acc += v * v
            out[i] = acc / n
        return out

    @nb.njit(cache=True, nogil=True, boundscheck=False)
    def stats(x):
        # (number of NaN/inf values, peak |x| over the finite ones), one pass
        bad = 0
        peak = 0.0
        for v in x:
            if v - v != 0.0:
                bad += 1
            elif abs(v) > peak:
                peak = abs(v)
        return bad, peak

    return mean_squares, stats


def mean_square(x: np.ndarray) -> np.ndarray:
    """Per-channel mean square of ``(C, N)``, accumulated in float64."""
    return _jit()[0](np.ascontiguousarray(x))


def finite_peak(x: np.ndarray) -> tuple[int, float]:
    """``(count of NaN/inf values, peak |x| of the rest)`` of a float array, in one pass."""
    return _jit()[1](np.ascontiguousarray(x).reshape(-1))


def snr_gains(signal_ms: np.ndarray, noise_ms: np.ndarray, snr_db: float, per_channel: bool = True) -> np.ndarray:
    """Per-channel gains that put noise at ``snr_db`` below the signal, by RMS.

    With ``per_channel`` every channel gets its own gain, so the SNR holds on each channel.
    Otherwise one gain for all channels from the mean power over channels. A silent channel
    (or silent noise) gets gain 0: it is left as it is, never NaN or inf.
    """
    if not per_channel:
        signal_ms = np.full_like(signal_ms, signal_ms.mean())
        noise_ms = np.full_like(noise_ms, noise_ms.mean())
    ok = (signal_ms > 0) & (noise_ms > 0)
    ratio = np.divide(signal_ms, noise_ms, out=np.zeros_like(signal_ms), where=ok)
    return np.sqrt(ratio) * 10.0 ** (-snr_db / 20.0)


def mix_at_snr(x: np.ndarray, noise: np.ndarray, snr_db: float, per_channel: bool = True) -> np.ndarray:
    """``x + g * noise`` with gains from :func:`snr_gains`: the SNR measured on the result is
    exactly ``snr_db`` (per channel when ``per_channel``), whatever the noise's own level."""
    g = snr_gains(mean_square(x), mean_square(noise), snr_db, per_channel).astype(x.dtype)
    return x + g[:, None] * noise.astype(x.dtype, copy=False)


def white_noise(channels: int, n: int, key: int, dtype: np.dtype = np.float32) -> np.ndarray:
    """``(C, N)`` standard-normal noise, a pure function of ``key``."""
    z = standard_normal((channels, n), key)
    return z if z.dtype == dtype else z.astype(dtype)


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
        return white_noise(channels, n, key)
    from scipy import fft

    m = fft.next_fast_len(n, real=True)
    bins = m // 2 + 1
    spec = standard_normal((channels, 2 * bins), key).view(np.complex64)
    spec *= _color_weights(bins, float(exponent))
    out = fft.irfft(spec, n=m, axis=1, workers=1)[:, :n]
    return np.ascontiguousarray(out, dtype=np.float32)
