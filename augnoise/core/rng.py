"""Keyed randomness.

Every random number augnoise draws comes from a *key*: ``(pipeline seed, stage, epoch, sample
index, step path)``. One numpy ``SeedSequence`` per sample hashes ``(seed, stage, epoch,
index)`` and yields ``WORDS_PER_STEP`` 64-bit words for each step position (its output is
prefix-stable, so a step's words do not depend on how many steps follow). Each step gets a
:class:`KeyedRandom`: the numpy ``Generator`` API, answering scalar draws (the probability
test, a parameter from its range, a kernel key) from those words, and anything else from a
``Philox`` generator seeded by them, created on first use. Nothing reads or writes global
random state.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

SAMPLE_STAGE = 0
BATCH_STAGE = 1
#: pre-hashed 64-bit words per step; draws beyond them come from the step's Philox generator
WORDS_PER_STEP = 4
_U64 = 2**64
_INTS = (int, np.integer)
_SCALARS = (int, float, np.integer, np.floating)
_SCALAR_TYPES: dict[Any, Any] = {np.int64: np.int64, np.uint64: np.uint64, int: int, "int64": np.int64, "uint64": np.uint64}


class KeyedRandom:
    """The random source of one step: numpy ``Generator`` API, keyed by ``words``.

    Scalar ``random``, ``uniform`` and ``integers`` use the pre-hashed words (no generator is
    built: this keeps per-step dispatch cheap); array draws and every other ``Generator``
    method go to a Philox generator seeded with the words, built on first use.
    """

    __slots__ = ("_words", "_pos", "_gen")

    def __init__(self, words: Sequence[int]):
        self._words = [int(w) for w in words]
        self._pos = 0
        self._gen: np.random.Generator | None = None

    @property
    def generator(self) -> np.random.Generator:
        """The full numpy generator of this step (Philox, seeded by the step's words)."""
        if self._gen is None:
            self._gen = np.random.Generator(np.random.Philox(np.random.SeedSequence(entropy=self._words)))
        return self._gen

    def _next(self) -> int:
        if self._pos < len(self._words):
            w = self._words[self._pos]
            self._pos += 1
            return w
        return int(self.generator.integers(0, _U64, dtype=np.uint64))

    def random(self, size: Any = None, dtype: Any = np.float64, out: Any = None) -> Any:
        if size is None and out is None and np.dtype(dtype) == np.float64:
            return (self._next() >> 11) * (1.0 / 9007199254740992.0)
        return self.generator.random(size, dtype=dtype, out=out)

    def uniform(self, low: float = 0.0, high: float = 1.0, size: Any = None) -> Any:
        if size is None and isinstance(low, _SCALARS) and isinstance(high, _SCALARS):
            return low + (high - low) * self.random()
        return self.generator.uniform(low, high, size)

    def integers(self, low: int, high: int | None = None, size: Any = None, dtype: Any = np.int64,
                 endpoint: bool = False) -> Any:
        if size is None and isinstance(low, _INTS) and (high is None or isinstance(high, _INTS)):
            lo, hi = (0, int(low)) if high is None else (int(low), int(high))
            span = hi - lo + (1 if endpoint else 0)
            if 0 < span <= _U64:
                value = lo + (self._next() * span >> 64)  # multiply-shift: bias below span / 2**64
                scalar = _SCALAR_TYPES.get(dtype)
                return scalar(value) if scalar is not None else np.dtype(dtype).type(value)
        return self.generator.integers(low, high, size, dtype=dtype, endpoint=endpoint)

    def child(self, i: int) -> "KeyedRandom":
        """Random source of child ``i`` of a composite step (the path extended by ``i``)."""
        ss = np.random.SeedSequence(entropy=self._words, spawn_key=(int(i),))
        return KeyedRandom(ss.generate_state(WORDS_PER_STEP, np.uint64))

    def __getattr__(self, name: str) -> Any:  # every other Generator method
        return getattr(self.generator, name)


def sample_randoms(seed: int, *, epoch: int, index: int, n_steps: int, stage: int = SAMPLE_STAGE) -> list[KeyedRandom]:
    """The random sources of ``n_steps`` top-level steps for one sample."""
    epoch = _check_key_part("epoch", epoch)
    index = _check_key_part("index", index)
    if n_steps == 0:
        return []
    ss = np.random.SeedSequence(entropy=int(seed), spawn_key=(stage, epoch, index))
    words = ss.generate_state(WORDS_PER_STEP * n_steps, np.uint64).tolist()
    return [KeyedRandom(words[k * WORDS_PER_STEP : (k + 1) * WORDS_PER_STEP]) for k in range(n_steps)]


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


def child_generator(rng: Any, i: int) -> Any:
    """Random source for child ``i`` of a composite step: the step path extended by ``i``.

    Unlike ``Generator.spawn`` this is stateless: the same parent key and ``i`` always give
    the same child, whatever was drawn or spawned before.
    """
    if isinstance(rng, KeyedRandom):
        return rng.child(i)
    ss = getattr(rng.bit_generator, "seed_seq", None)
    if not isinstance(ss, np.random.SeedSequence):
        # A generator without a seed sequence (built from a raw state): derive from its stream.
        ss = np.random.SeedSequence(entropy=int(rng.integers(2**63)))
    child = np.random.SeedSequence(entropy=ss.entropy, spawn_key=(*ss.spawn_key, int(i)))
    return np.random.Generator(np.random.Philox(child))


def fresh_seed() -> int:
    """A new pipeline seed from OS entropy (used when none is given; it is then recorded)."""
    return int(np.random.SeedSequence().entropy % (2**63))
