"""The numba side of :mod:`augnoise.core.keys` (imported on first use, since it imports numba):
node keys for one sample or for many (vectorised across samples)."""
from __future__ import annotations

import numba as nb
import numpy as np

from ._philox_numba import block
from .philox import MASK32


u32 = np.uint32
lo32 = np.uint64(MASK32)
s32 = np.uint64(32)


@nb.njit(cache=True, nogil=True, boundscheck=False)
def derive_many(seed_lo, seed_hi, idx, epochs, tags, parent, cidx, out):
    # out: (n, 12, B) uint32, node-major with samples innermost so that each Philox
    # call vectorises across samples; per node [key (4) | draw words (8)]
    nb_ = idx.shape[0]
    root = np.empty((4, nb_), np.uint32)
    for b in range(nb_):
        i = idx[b]
        r = block(u32(i & lo32), u32(i >> s32), u32(epochs[b]), u32(tags[b]), seed_lo, seed_hi)
        root[0, b], root[1, b], root[2, b], root[3, b] = r
    for n in range(parent.shape[0]):
        k = root if parent[n] < 0 else out[parent[n]]
        o = out[n]
        c = u32(cidx[n])
        for b in range(nb_):
            a0, a1, a2, a3 = block(c, u32(1), k[2, b], k[3, b], k[0, b], k[1, b])
            o[0, b], o[1, b], o[2, b], o[3, b] = a0, a1, a2, a3
            o[4, b], o[5, b], o[6, b], o[7, b] = block(u32(0), u32(0), a2, a3, a0, a1)
            o[8, b], o[9, b], o[10, b], o[11, b] = block(u32(1), u32(0), a2, a3, a0, a1)


@nb.njit(cache=True, nogil=True, boundscheck=False)
def derive_one(seed_lo, seed_hi, i_lo, i_hi, epoch, tag, parent, cidx):
    n_nodes = parent.shape[0]
    out = np.empty((n_nodes, 12), np.uint32)
    r0, r1, r2, r3 = block(u32(i_lo), u32(i_hi), u32(epoch), u32(tag), seed_lo, seed_hi)
    for n in range(n_nodes):
        p = parent[n]
        if p < 0:
            k0, k1, k2, k3 = r0, r1, r2, r3
        else:
            k0, k1, k2, k3 = out[p, 0], out[p, 1], out[p, 2], out[p, 3]
        a, c, d, e = block(u32(cidx[n]), u32(1), k2, k3, k0, k1)
        row = out[n]
        row[0], row[1], row[2], row[3] = a, c, d, e
        row[4], row[5], row[6], row[7] = block(u32(0), u32(0), d, e, a, c)
        row[8], row[9], row[10], row[11] = block(u32(1), u32(0), d, e, a, c)
    return out


@nb.njit(cache=True, nogil=True, boundscheck=False)
def draw_block(keys, r):
    # (4, B) node keys -> (4, B) words of draw block r
    out = np.empty_like(keys)
    for b in range(keys.shape[1]):
        w = block(u32(r), u32(0), keys[2, b], keys[3, b], keys[0, b], keys[1, b])
        out[0, b], out[1, b], out[2, b], out[3, b] = w
    return out
