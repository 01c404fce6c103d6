"""Counter-based noise streams for noise inside a network (hidden units, weights, gradients,
parameters): the randomness of one *site* at one *step*, with no ``torch.Generator``.

A site is a place that draws noise (a layer, a parameter, an optimiser's parameter group); its
64-bit key is ``site_key(seed, path)``, a Philox value of the seed and a hash of the site's
path (``"encoder.2"``, ``"weight:fc.weight"``), so no two sites share a stream. Step ``t`` of
the site on rank ``r`` uses the kernel key ``philox((t_lo, t_hi, r, 0), site)``; the normals
are :func:`augnoise.torch.philox.normals` of that key, as in the batch stage. Everything is
torch operations on int64 tensors, so it runs on any device and under
``torch.compile(fullgraph=True)``, and a step counter kept in a buffer or a ``state_dict``
resumes the stream exactly. On the CPU in eager mode the same bits come from the plain-Python
Philox (keys) and the sample stage's numba kernel (normals), hundreds of times faster than
eager int64 tensor operations.
"""
from __future__ import annotations

import hashlib

import torch

from ..core import philox as ref
from ..core.philox import MASK32, philox, standard_normal
from .philox import block

#: the inverse-CDF table of the normals (as :func:`augnoise.core.philox.gaussian_table`), a
#: module constant so that compiled graphs take it as an input
_TABLE = torch.from_numpy(ref.gaussian_table().copy())
_TABLES: dict[torch.device, torch.Tensor] = {}


def eager_cpu(t: torch.Tensor) -> bool:
    """Whether ``t`` is on the CPU outside ``torch.compile`` (where the numba route applies)."""
    return t.device.type == "cpu" and not torch.compiler.is_compiling()


def table(device: torch.device) -> torch.Tensor:
    """The normals' inverse-CDF table on ``device`` (one copy per device; traced as a constant
    under ``torch.compile``)."""
    if torch.compiler.is_compiling():
        return _TABLE.to(device)
    t = _TABLES.get(device)
    if t is None:
        t = _TABLES[device] = _TABLE.to(device)
    return t


def check_seed(seed: object) -> int:
    """A site seed: an integer in [0, 2**64); None draws a fresh one from OS entropy."""
    if seed is None:
        from ..core.pipeline import fresh_seed

        return fresh_seed()
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**64:
        raise ValueError(f"seed must be None or an integer in [0, 2**64), got {seed!r}")
    return int(seed)


def site_key(seed: int, path: str) -> int:
    """The 64-bit key of the site at ``path`` under ``seed`` (a non-negative integer < 2**64)."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**64:
        raise ValueError(f"seed must be an integer in [0, 2**64), got {seed!r}")
    h = hashlib.blake2b(path.encode("utf-8"), digest_size=8).digest()
    lo, hi = int.from_bytes(h[:4], "little"), int.from_bytes(h[4:], "little")
    w = philox((lo, hi, 0x5E7E, 0), (seed & MASK32, seed >> 32))
    return w[0] | (w[1] << 32)


def key_tensor(site: int, device: torch.device | str | None = None) -> torch.Tensor:
    """A site key as a (2,) int64 tensor of its two 32-bit words (for a buffer)."""
    return torch.tensor([site & MASK32, site >> 32], dtype=torch.int64, device=device)


def step_key(site: torch.Tensor, step: torch.Tensor, rank: int = 0) -> torch.Tensor:
    """The (1,) int64 kernel key of ``step`` (a 0-d int64 tensor) at ``site`` (a (2,) tensor
    from :func:`key_tensor`) on ``rank``: torch operations only, so it compiles."""
    if eager_cpu(site):
        t = int(step)
        k0, k1 = site.tolist()
        w = philox((t & MASK32, (t >> 32) & MASK32, int(rank), 0), (k0, k1))
        v = w[0] | (w[1] << 32)
        return torch.tensor([v - (1 << 64) if v >= 1 << 63 else v], dtype=torch.int64)
    s = step.reshape(1).to(torch.int64)
    k0, k1 = site[0:1], site[1:2]
    zero = torch.zeros_like(s)
    w0, w1, _, _ = block(s & MASK32, (s >> 32) & MASK32, zero + int(rank), zero, k0, k1)
    return w0 | (w1 << 32)


def normal_like(x: torch.Tensor, key: torch.Tensor, shape: torch.Size | tuple[int, ...] | None = None) -> torch.Tensor:
    """Standard normals of ``shape`` (default ``x.shape``) with ``x``'s dtype and device, from
    the (1,) kernel ``key``: the same numbers on every device."""
    shape = tuple(x.shape if shape is None else shape)
    if eager_cpu(x):
        return torch.from_numpy(standard_normal(shape, int(key) & 0xFFFFFFFFFFFFFFFF)).to(x.dtype)
    n = 1
    for d in shape:
        n *= int(d)
    key = key.to(x.device)
    nw = (n + 1) // 2  # 32-bit words: two 16-bit lanes each
    q = torch.arange((nw + 3) // 4, device=x.device, dtype=torch.int64)
    zero = torch.zeros_like(q)
    w = torch.stack(block(q & MASK32, q >> 32, zero, zero, key & MASK32, (key >> 32) & MASK32), dim=-1).reshape(-1)
    lanes = torch.stack([w & 0xFFFF, (w >> 16) & 0xFFFF], dim=-1).reshape(-1)[:n]
    return table(x.device)[lanes].reshape(shape).to(x.dtype)


def current_rank() -> int:
    """This process's rank in ``torch.distributed`` (0 when it is not initialised)."""
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        return int(dist.get_rank())
    return 0
