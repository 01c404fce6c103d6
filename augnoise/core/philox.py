"""Philox-4x32-10 (Salmon et al. 2011, Random123): the one random function augnoise uses.

``philox(ctr, key)`` maps a 128-bit counter (four 32-bit words) and a 64-bit key (two words)
to 128 random bits. Everything random in augnoise is a value of this function:

* **Keys** (:mod:`augnoise.core.keys`): a sample's root key, every step's key below it, and
  the words a step draws its scalars from.
* **Streams** (this module): a kernel's arrays come from a 64-bit kernel key ``K``. Word ``j``
  of stream ``s`` is word ``j % 4`` of ``philox((q_lo, q_hi, s, 0), (K_lo, K_hi))`` with
  ``q = j // 4``. A *normal* at position ``i`` is the inverse-CDF table entry at 16-bit lane
  ``i`` (lane ``2w`` is the low half of word ``w``, lane ``2w + 1`` the high half); a 32-bit
  *uniform* at position ``i`` is word ``i``.

The same function exists three times and gives the same bits: :func:`philox` (plain Python,
the reference), the numba building blocks of :func:`jit` (numpy arrays and CPU tensors) and
``augnoise.torch.philox`` (any torch device). All three are checked against the published
known-answer vectors of Random123.

numba and scipy load on first use only.
"""
from __future__ import annotations

import functools
from types import SimpleNamespace

import numpy as np

M0 = 0xD2511F53
M1 = 0xCD9E8D57
W0 = 0x9E3779B9
W1 = 0xBB67AE85
ROUNDS = 10
MASK32 = 0xFFFFFFFF
#: values per chunk in the kernels: 2,048 float32 (8 KiB) stay in L1
CHUNK = 2048
TABLE_BITS = 16

#: Random123's known-answer vectors for philox4x32-10: (counter, key, expected output)
KNOWN_ANSWERS = (
    ((0x00000000, 0x00000000, 0x00000000, 0x00000000), (0x00000000, 0x00000000),
     (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF),
     (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
)


def philox(ctr: tuple[int, int, int, int], key: tuple[int, int]) -> tuple[int, int, int, int]:
    """Philox-4x32-10 in plain Python (the reference implementation)."""
    c0, c1, c2, c3 = (int(c) & MASK32 for c in ctr)
    k0, k1 = (int(k) & MASK32 for k in key)
    for _ in range(ROUNDS):
        p0 = M0 * c0
        p1 = M1 * c2
        c0, c1, c2, c3 = ((p1 >> 32) ^ c1 ^ k0), p1 & MASK32, ((p0 >> 32) ^ c3 ^ k1), p0 & MASK32
        k0 = (k0 + W0) & MASK32
        k1 = (k1 + W1) & MASK32
    return c0, c1, c2, c3


def split64(v: int) -> tuple[int, int]:
    """A 64-bit integer as its (low, high) 32-bit words."""
    v = int(v) & 0xFFFFFFFFFFFFFFFF
    return v & MASK32, v >> 32


def stream_words(key: int, first: int, count: int, stream: int = 0) -> list[int]:
    """Words ``first .. first + count - 1`` of stream ``stream`` of kernel key ``key`` (Python;
    for tests and small draws)."""
    k = split64(key)
    out = []
    for j in range(first, first + count):
        q = j // 4
        out.append(philox((q & MASK32, q >> 32, stream, 0), k)[j % 4])
    return out


@functools.lru_cache(maxsize=1)
def gaussian_table() -> np.ndarray:
    """The float32 inverse-CDF table: entry ``j`` is ``Phi^-1((j + 0.5) / 65536)``, re-centred and
    re-scaled so the table has mean exactly 0 and variance exactly 1 (float64 arithmetic). Its
    CDF differs from the normal one by at most 1/65536; the tails end at about 4.3 sigma."""
    from scipy.special import ndtri

    n = 1 << TABLE_BITS
    t = ndtri((np.arange(n, dtype=np.float64) + 0.5) / n)
    t -= t.mean()
    t /= np.sqrt(np.mean(t * t))
    out = t.astype(np.float32)
    out.setflags(write=False)
    return out


def standard_normal_reference(key: int, n: int, stream: int = 0) -> np.ndarray:
    """The first ``n`` normals of a stream, in plain Python (the reference for the kernels)."""
    words = stream_words(key, 0, (n + 1) // 2, stream)
    lanes = [(w >> (16 * h)) & 0xFFFF for w in words for h in (0, 1)][:n]
    return gaussian_table()[np.array(lanes, dtype=np.int64)]


def jit() -> SimpleNamespace:
    """The numba building blocks (:mod:`augnoise.core._philox_numba`, compiled on first use):

    * ``block(c0, c1, c2, c3, k0, k1)`` -> four uint32 (inlined);
    * ``fill_words(w, k0, k1, q0, nq, s)``: ``w[4q .. 4q + 3]`` = block ``q0 + q`` of stream
      ``s`` for ``q < nq`` (the loop vectorises across blocks);
    * ``normals(out, words, table, k0, k1, first, count, s)``: ``out[:count]`` = normals at
      positions ``first ..`` (``first`` a multiple of 8; ``words`` a scratch buffer of at least
      ``count // 2 + 4`` uint32);
    * ``uniforms(out, k0, k1, first, count, s)``: ``out[:count]`` = 32-bit words at positions
      ``first ..`` (``first`` a multiple of 4; ``out`` holds ``count`` rounded up to 4);
    * ``key_words(key)`` -> (k0, k1) uint32 from a uint64.
    """
    from . import _philox_numba as m

    return SimpleNamespace(block=m.block, fill_words=m.fill_words, normals=m.normals, uniforms=m.uniforms,
                           key_words=m.key_words, kat=m.kat, standard_normal_into=m.standard_normal_into,
                           uniform32_into=m.uniform32_into)


def standard_normal(shape: int | tuple[int, ...], key: int, stream: int = 0) -> np.ndarray:
    """float32 standard normals of ``shape``: positions 0.. of ``stream`` of kernel ``key``."""
    out = np.empty(shape, np.float32)
    jit().standard_normal_into(out.reshape(-1), gaussian_table(), np.uint64(int(key) & 0xFFFFFFFFFFFFFFFF), stream)
    return out


def uniform32(shape: int | tuple[int, ...], key: int, stream: int = 0) -> np.ndarray:
    """uint32 words of ``shape``: positions 0.. of ``stream`` of kernel ``key``."""
    out = np.empty(shape, np.uint32)
    jit().uniform32_into(out.reshape(-1), np.uint64(int(key) & 0xFFFFFFFFFFFFFFFF), stream)
    return out
