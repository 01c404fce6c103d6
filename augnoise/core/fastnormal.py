"""Fast exact standard-normal values from a 64-bit key (shared by every modality's kernels).

* Random bits: SplitMix64 on a counter: position ``i`` uses the 64-bit word
  ``mix(key + (i // 4 + 1) * golden_gamma)``, 16-bit lane ``i % 4``. The ``key`` comes from the
  caller's keyed numpy generator, so the values are a pure function of (key, position).
* Gaussian values: an inverse-CDF table of 65,536 entries, ``Phi^-1((j + 0.5) / 65536)``,
  re-centred and re-scaled so the table has mean exactly 0 and variance exactly 1. Its CDF
  differs from the normal one by at most 1/65536; the tails end at about 4.3 sigma.

numba is imported on first use only, so importing augnoise stays light.
"""
from __future__ import annotations

import functools
from types import SimpleNamespace

import numpy as np

TABLE_BITS = 16
GOLDEN_GAMMA = 0x9E3779B97F4A7C15
BLOCK = 2048  # values per block in the kernels: an 8 KiB float32 buffer stays in L1


@functools.lru_cache(maxsize=1)
def gaussian_table() -> np.ndarray:
    """The float32 inverse-CDF table (mean 0, variance 1 exactly, in float64 arithmetic)."""
    from scipy.special import ndtri

    n = 1 << TABLE_BITS
    t = ndtri((np.arange(n, dtype=np.float64) + 0.5) / n)
    t -= t.mean()
    t /= np.sqrt(np.mean(t * t))
    return t.astype(np.float32)


@functools.lru_cache(maxsize=1)
def jit() -> SimpleNamespace:
    """The numba building blocks: ``fill(noise, table, key, first, count)`` and
    ``standard_normal_into(out, table, key)``."""
    import numba as nb

    u64 = nb.uint64
    gamma = np.uint64(GOLDEN_GAMMA)
    m1 = np.uint64(0xBF58476D1CE4E5B9)
    m2 = np.uint64(0x94D049BB133111EB)
    s16, s30, s27, s31, s32, s48 = (np.uint64(k) for k in (16, 30, 27, 31, 32, 48))
    mask = np.uint64(0xFFFF)

    @nb.njit(inline="always")
    def mix(z):
        z = (z ^ (z >> s30)) * m1
        z = (z ^ (z >> s27)) * m2
        return z ^ (z >> s31)

    @nb.njit(inline="always")
    def fill(noise, table, key, first, count):
        # noise[k] = table value for stream position first + k (first is a multiple of 4);
        # position i uses 64-bit word i // 4 = mix(key + (i // 4 + 1) * gamma), lane i % 4.
        q0 = first >> 2
        for q in range((count + 3) >> 2):
            z = mix(u64(key) + gamma * u64(q0 + q + 1))
            noise[4 * q] = table[z & mask]
            noise[4 * q + 1] = table[(z >> s16) & mask]
            noise[4 * q + 2] = table[(z >> s32) & mask]
            noise[4 * q + 3] = table[z >> s48]

    @nb.njit(cache=True, nogil=True, boundscheck=False)
    def standard_normal_into(out, table, key):
        # out: flat float32; out[i] = value at stream position i
        n = out.size
        full = n & ~3
        if full:
            fill(out[:full], table, key, 0, full)
        if n > full:
            tail = np.empty(4, np.float32)
            fill(tail, table, key, full, 4)
            for i in range(n - full):
                out[full + i] = tail[i]

    return SimpleNamespace(fill=fill, mix=mix, standard_normal_into=standard_normal_into)


def standard_normal(shape: int | tuple[int, ...], key: int) -> np.ndarray:
    """float32 standard-normal array of ``shape``, a pure function of the 64-bit ``key``."""
    out = np.empty(shape, np.float32)
    jit().standard_normal_into(out.reshape(-1), gaussian_table(), np.uint64(int(key) & 0xFFFFFFFFFFFFFFFF))
    return out
