"""The numba building blocks of :mod:`augnoise.core.philox` (imported on first use, since it
imports numba). Module-level functions, so numba's on-disk cache serves every process.

Note for development: numba's cache tracks the file a function is defined in, not the files
of the functions it inlines. After editing this module, clear the ``__pycache__`` folders of
the kernel modules (the tests use a fresh cache folder per session, so they never see stale
code)."""
from __future__ import annotations

import numba as nb
import numpy as np

from .philox import CHUNK, M0, M1, ROUNDS, W0, W1


u32 = np.uint32
u64 = np.uint64
m0, m1 = u64(M0), u64(M1)
w0, w1 = u32(W0), u32(W1)
s32 = u64(32)


@nb.njit(inline="always")
def block(c0, c1, c2, c3, k0, k1):
    for _ in range(ROUNDS):
        p0 = u64(c0) * m0
        p1 = u64(c2) * m1
        n0 = u32(p1 >> s32) ^ c1 ^ k0
        n2 = u32(p0 >> s32) ^ c3 ^ k1
        c1 = u32(p1)
        c3 = u32(p0)
        c0 = n0
        c2 = n2
        k0 = u32(k0 + w0)
        k1 = u32(k1 + w1)
    return c0, c1, c2, c3


@nb.njit(inline="always")
def fill_words(w, k0, k1, q0, nq, s):
    for q in range(nq):
        qq = u64(q0) + u64(q)
        a, b, c, d = block(u32(qq), u32(qq >> s32), u32(s), u32(0), k0, k1)
        w[4 * q] = a
        w[4 * q + 1] = b
        w[4 * q + 2] = c
        w[4 * q + 3] = d


@nb.njit(inline="always")
def normals(out, words, table, k0, k1, first, count, s):
    nq = (count + 7) >> 3
    fill_words(words, k0, k1, first >> 3, nq, s)
    lanes = words.view(np.uint16)
    for i in range(count):
        out[i] = table[lanes[i]]


@nb.njit(inline="always")
def normals_rows(out, words, table, k0, k1, first, m, rows, s):
    # the normals of positions first .. first + m * rows - 1, transposed into rows:
    # out[r * m + i] is the normal at position first + i * rows + r (first: a multiple of 8)
    fill_words(words, k0, k1, first >> 3, (m * rows + 7) >> 3, s)
    lanes = words.view(np.uint16)
    for r in range(rows):
        for i in range(m):
            out[r * m + i] = table[lanes[i * rows + r]]


@nb.njit(inline="always")
def uniforms(out, k0, k1, first, count, s):
    fill_words(out, k0, k1, first >> 2, (count + 3) >> 2, s)


@nb.njit(inline="always")
def key_words(key):
    k = u64(key)
    return u32(k), u32(k >> s32)


@nb.njit(cache=True, nogil=True)
def kat(ctr, key):
    a, b, c, d = block(u32(ctr[0]), u32(ctr[1]), u32(ctr[2]), u32(ctr[3]), u32(key[0]), u32(key[1]))
    return np.array([a, b, c, d], np.uint32)


@nb.njit(cache=True, nogil=True)
def standard_normal_into(out, table, key, s):
    k0, k1 = key_words(key)
    words = np.empty(CHUNK // 2 + 4, np.uint32)
    n = out.size
    for start in range(0, n, CHUNK):
        m = min(CHUNK, n - start)
        normals(out[start:start + m], words, table, k0, k1, start, m, s)


@nb.njit(cache=True, nogil=True)
def uniform32_into(out, key, s):
    k0, k1 = key_words(key)
    n = out.size
    buf = np.empty(CHUNK + 4, np.uint32)
    for start in range(0, n, CHUNK):
        m = min(CHUNK, n - start)
        uniforms(buf, k0, k1, start, m, s)
        dst = out[start:start + m]
        for i in range(m):
            dst[i] = buf[i]
