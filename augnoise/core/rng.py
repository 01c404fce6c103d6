"""Keyed randomness.

Every random number augnoise draws comes from a generator derived from a *key*:
``(pipeline seed, stage, epoch, sample index, step path)``. The key goes through numpy's
``SeedSequence`` (hashing, so nearby keys give independent streams) into a ``Philox``
counter-based bit generator. Nothing reads or writes global random state.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

SAMPLE_STAGE = 0
BATCH_STAGE = 1


def _check_key_part(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be a non-negative integer, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value}")
    return int(value)


def key_generator(seed: int, key: Sequence[int]) -> np.random.Generator:
    """Return the Philox generator for ``seed`` and the integer path ``key``.

    The same (seed, key) gives a bit-identical stream in any process, thread or order.
    """
    ss = np.random.SeedSequence(entropy=int(seed), spawn_key=tuple(int(k) for k in key))
    return np.random.Generator(np.random.Philox(ss))


def step_generator(
    seed: int, *, epoch: int, index: int, path: Sequence[int], stage: int = SAMPLE_STAGE
) -> np.random.Generator:
    """Generator for one step of one sample: key = (stage, epoch, index, *path)."""
    epoch = _check_key_part("epoch", epoch)
    index = _check_key_part("index", index)
    return key_generator(seed, (stage, epoch, index, *path))


def child_generator(rng: np.random.Generator, i: int) -> np.random.Generator:
    """Generator for child ``i`` of a composite step: the step path extended by ``i``.

    Unlike ``Generator.spawn`` this is stateless: the same parent key and ``i`` always give
    the same child, whatever was drawn or spawned before.
    """
    ss = getattr(rng.bit_generator, "seed_seq", None)
    if not isinstance(ss, np.random.SeedSequence):
        # A generator without a seed sequence (built from a raw state): derive from its stream.
        ss = np.random.SeedSequence(entropy=int(rng.integers(2**63)))
    child = np.random.SeedSequence(entropy=ss.entropy, spawn_key=(*ss.spawn_key, int(i)))
    return np.random.Generator(np.random.Philox(child))


def fresh_seed() -> int:
    """A new pipeline seed from OS entropy (used when none is given; it is then recorded)."""
    return int(np.random.SeedSequence().entropy % (2**63))
