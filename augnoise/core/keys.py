"""Keyed randomness: every random number is a function of (pipeline seed; stage, epoch, sample
index, occurrence, step path), and nothing else.

The steps of a stage form a tree (composites hold children). Each node of the tree has a
128-bit key (four 32-bit words), all derived with :func:`~augnoise.core.philox.philox`:

* the sample's root: ``philox((index_lo, index_hi, epoch, stage | occurrence << 8), seed)``;
* child ``j`` of a node ``k``: ``philox((j, 1, k2, k3), (k0, k1))`` (top-level step ``j`` is
  child ``j`` of the root, so a step's path is its position and its composites' positions);
* draw block ``r`` of a node ``k``: ``philox((r, 0, k2, k3), (k0, k1))``, four words each.

A step draws its scalars (probability test, values from ranges, choices, 64-bit kernel keys)
from its own words in order, through :class:`Rand` (one sample, plain Python numbers) or
:class:`RandBatch` (many samples, numpy arrays): the same words and the same float64
arithmetic, so both give the same values. The first two blocks of every node are derived for
all samples in one compiled call; further words are computed on demand. ``occurrence`` tells
repeated draws of one index in one epoch apart (0 by default).

A :class:`Rand` / :class:`RandBatch` may carry a *tape* (``r.tape``): an object that sees the
probability test (the first ``below`` of a node), the transform's ``draw`` and a composite's
choices, to record them (``pipeline(..., record=True)``), replay them
(``pipeline.replay``) or share the first row's draws over a batch (``same_on_batch``). Child
draws inherit their parent's tape. Without a tape (the default) nothing changes.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .philox import MASK32, philox

SAMPLE_STAGE = 0
BATCH_STAGE = 1
SHUFFLE_STAGE = 2
EVAL_STAGE = 7
#: draw words precomputed per node (two Philox blocks); later words are computed on demand
PRE_WORDS = 8
NODE_WORDS = 4 + PRE_WORDS
MAX_EPOCH = 2**32
MAX_OCCURRENCE = 2**24
_INV53 = 1.0 / 9007199254740992.0


class Tree:
    """The nodes of a list of steps in depth-first order (a step, then its children)."""

    def __init__(self, steps: Sequence[Any]):
        self.steps: list[Any] = []
        parent: list[int] = []
        child_index: list[int] = []
        self.children: list[list[int]] = []
        self.top: list[int] = []

        def add(step: Any, par: int, j: int) -> int:
            node = len(self.steps)
            self.steps.append(step)
            parent.append(par)
            child_index.append(j)
            self.children.append([])
            for i, child in enumerate(getattr(step, "transforms", ()) or ()):
                self.children[node].append(add(child, node, i))
            return node

        for j, s in enumerate(steps):
            self.top.append(add(s, -1, j))
        self.parent = np.array(parent, np.int64)
        self.child_index = np.array(child_index, np.uint32)
        self.node_of = {id(s): i for i, s in enumerate(self.steps)}
        #: each node's path as the user reads it: "2" for top-level step 2, "2.1" for its first child
        self.paths: list[str] = []
        for node, (par, j) in enumerate(zip(parent, child_index)):
            self.paths.append(str(j + 1) if par < 0 else f"{self.paths[par]}.{j + 1}")

    def __len__(self) -> int:
        return len(self.steps)


def check_key_part(name: str, value: Any, limit: int) -> int:
    """A key part as an int in [0, limit): bools, floats and strings are refused."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be a non-negative integer, got {value!r}")
    value = int(value)
    if not 0 <= value < limit:
        raise ValueError(f"{name} must be an integer in [0, {_limit_text(limit)}), got {value}")
    return value


def _limit_text(limit: int) -> str:
    return f"2**{limit.bit_length() - 1}" if limit & (limit - 1) == 0 else str(limit)


def key_array(name: str, values: Any, n: int, limit: int) -> np.ndarray:
    """``values`` (one int, or ``n`` of them) as a uint64 array of ``n`` checked key parts."""
    if isinstance(values, (int, np.integer)) and not isinstance(values, bool):
        return np.full(n, check_key_part(name, values, limit), np.uint64)
    arr = np.asarray(values)
    if arr.shape != (n,):
        raise ValueError(f"{name} must be one integer or {n} of them, got shape {arr.shape}")
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must be integers, got dtype {arr.dtype}")
    if n:
        lo, hi = int(arr.min()), int(arr.max())
        if lo < 0 or hi >= limit:
            raise ValueError(f"{name} must be integers in [0, {_limit_text(limit)}), got {lo if lo < 0 else hi}")
    return arr.astype(np.uint64)


def _compiled():
    from . import _keys_numba as m

    return m.derive_many, m.derive_one, m.draw_block




def derive(tree: Tree, seed: int, stage: int, indices: np.ndarray, epochs: np.ndarray,
           occurrences: np.ndarray) -> np.ndarray:
    """Node words ``(n_nodes, 12, B)`` uint32 of ``B`` samples (uint64 arrays of key parts):
    per node its key (rows 0-3) and its first eight draw words (rows 4-11)."""
    b = indices.shape[0]
    out = np.empty((len(tree), NODE_WORDS, b), np.uint32)
    if len(tree) and b:
        tags = (np.uint64(stage) | (occurrences << np.uint64(8))).astype(np.uint32)
        _compiled()[0](np.uint32(seed & MASK32), np.uint32(seed >> 32), indices, epochs.astype(np.uint32), tags,
                       tree.parent, tree.child_index, out)
    return out


def derive_one(tree: Tree, seed: int, stage: int, epoch: int, index: int, occurrence: int = 0) -> list[list[int]]:
    """Node words of one sample as lists of Python ints (``[node][12]``)."""
    if not len(tree):
        return []
    return _compiled()[1](np.uint32(seed & MASK32), np.uint32(seed >> 32), index & MASK32, index >> 32, epoch,
                          stage | occurrence << 8, tree.parent, tree.child_index).tolist()


def root_key(seed: int, stage: int, epoch: int, index: int, occurrence: int = 0) -> tuple[int, int, int, int]:
    """The 128-bit root key of one sample, in plain Python (the reference for :func:`derive`)."""
    return philox((index & MASK32, index >> 32, epoch, stage | occurrence << 8), (seed & MASK32, seed >> 32))


def child_key(key: Sequence[int], j: int) -> tuple[int, int, int, int]:
    """Key of child ``j`` of a node (plain Python reference)."""
    return philox((j, 1, key[2], key[3]), (key[0], key[1]))


def draw_words(key: Sequence[int], r: int) -> tuple[int, int, int, int]:
    """Draw block ``r`` of a node (plain Python reference)."""
    return philox((r, 0, key[2], key[3]), (key[0], key[1]))


class _StepDraws:
    """What :class:`Rand` and :class:`RandBatch` share: the step (node of the tree) they draw for."""

    __slots__ = ()
    _tree: "Tree"
    _node: int

    @property
    def step(self) -> Any:
        """The step these draws belong to."""
        return self._tree.steps[self._node]

    @property
    def path(self) -> str:
        """The step's path ("2.1": child 1 of top-level step 2)."""
        return self._tree.paths[self._node]


class Rand(_StepDraws):
    """The draws of one step for one sample: plain Python numbers from the step's words.

    Every call consumes words in order (so a step draws the same values in either stage):
    ``u32`` one word, ``u64``/``random``/``uniform``/``value``/``key``/``below`` two,
    ``integers``/``int_value`` one.
    """

    __slots__ = ("_rows", "_node", "_tree", "_w", "_pos", "_extra", "tape")

    def __init__(self, rows: list[list[int]], node: int, tree: Tree):
        self._rows, self._node, self._tree = rows, node, tree
        self._w = rows[node]
        self._pos = 0
        self._extra: tuple[int, tuple[int, ...]] | None = None
        self.tape: Any = None

    batched = False

    def u32(self) -> int:
        pos = self._pos
        self._pos = pos + 1
        if pos < PRE_WORDS:
            return self._w[4 + pos]
        r, k = divmod(pos, 4)
        if self._extra is None or self._extra[0] != r:
            self._extra = (r, draw_words(self._w[:4], r))
        return self._extra[1][k]

    def u64(self) -> int:
        pos = self._pos
        if pos + 2 <= PRE_WORDS:  # the common case: both words precomputed
            self._pos = pos + 2
            w = self._w
            return w[4 + pos] << 32 | w[5 + pos]
        return self.u32() << 32 | self.u32()

    def random(self) -> float:
        """A float in [0, 1) with 53 random bits."""
        return (self.u64() >> 11) * _INV53

    def uniform(self, lo: float, hi: float) -> float:
        return lo + (hi - lo) * self.random()

    def value(self, v: Any) -> float:
        """A range parameter's value for this call: ``[lo, hi]`` uniformly, a number as is
        (a fixed number consumes its words too, so making it a range keeps the kernel key)."""
        lo, hi = (v[0], v[1]) if isinstance(v, (list, tuple)) else (v, v)
        return lo + (hi - lo) * self.random()

    def integers(self, n: int) -> int:
        """An integer in [0, n) (n <= 2**32; bias below n / 2**32)."""
        return (self.u32() * int(n)) >> 32

    def int_value(self, v: Any) -> int:
        """An integer range parameter: ``[lo, hi]`` inclusive, or a fixed integer."""
        lo, hi = (int(v[0]), int(v[1])) if isinstance(v, (list, tuple)) else (int(v), int(v))
        return lo + self.integers(hi - lo + 1)

    def key(self) -> int:
        """A 64-bit kernel key."""
        return self.u64()

    def below(self, p: float) -> bool:
        """True with probability ``p`` (the probability test: a node's first ``below`` goes
        through its tape, if it has one)."""
        if self.tape is not None and self._pos == 0:
            return self.tape.gate(self, self.random() < p)
        return self.random() < p

    def words(self, n: int) -> list[int]:
        """``n`` 32-bit words."""
        return [self.u32() for _ in range(n)]

    def child(self, j: int) -> "Rand":
        """The draws of child ``j`` of this (composite) step (with this step's tape)."""
        c = Rand(self._rows, self._tree.children[self._node][j], self._tree)
        c.tape = self.tape
        return c


class RandBatch(_StepDraws):
    """The draws of one step for ``B`` samples at once: numpy arrays of the values :class:`Rand`
    gives each sample (bit for bit)."""

    __slots__ = ("_words", "_node", "_tree", "_pos", "_extra", "tape")

    batched = True

    def __init__(self, words: np.ndarray, node: int, tree: Tree):
        self._words, self._node, self._tree = words, node, tree
        self._pos = 0
        self._extra: tuple[int, np.ndarray] | None = None
        self.tape: Any = None

    @property
    def size(self) -> int:
        return self._words.shape[2]

    def u32(self) -> np.ndarray:
        pos = self._pos
        self._pos = pos + 1
        if pos < PRE_WORDS:
            return self._words[self._node, 4 + pos].astype(np.uint64)
        r, k = divmod(pos, 4)
        if self._extra is None or self._extra[0] != r:
            keys = np.ascontiguousarray(self._words[self._node, :4])
            self._extra = (r, _compiled()[2](keys, r))
        return self._extra[1][k].astype(np.uint64)

    def u64(self) -> np.ndarray:
        return (self.u32() << np.uint64(32)) | self.u32()

    def random(self) -> np.ndarray:
        return (self.u64() >> np.uint64(11)).astype(np.float64) * _INV53

    def uniform(self, lo: float, hi: float) -> np.ndarray:
        return lo + (hi - lo) * self.random()

    def value(self, v: Any) -> np.ndarray:
        lo, hi = (v[0], v[1]) if isinstance(v, (list, tuple)) else (v, v)
        return lo + (hi - lo) * self.random()

    def integers(self, n: int) -> np.ndarray:
        return ((self.u32() * np.uint64(int(n))) >> np.uint64(32)).astype(np.int64)

    def int_value(self, v: Any) -> np.ndarray:
        lo, hi = (int(v[0]), int(v[1])) if isinstance(v, (list, tuple)) else (int(v), int(v))
        return lo + self.integers(hi - lo + 1)

    def key(self) -> np.ndarray:
        return self.u64()

    def below(self, p: float) -> np.ndarray:
        if self.tape is not None and self._pos == 0:
            return self.tape.gate(self, self.random() < p)
        return self.random() < p

    def words(self, n: int) -> np.ndarray:
        """``(B, n)`` 32-bit words (uint64 array)."""
        return np.stack([self.u32() for _ in range(n)], axis=1) if n else np.zeros((self.size, 0), np.uint64)

    def child(self, j: int) -> "RandBatch":
        c = RandBatch(self._words, self._tree.children[self._node][j], self._tree)
        c.tape = self.tape
        return c

    def sample(self, b: int) -> Rand:
        """The draws of sample ``b`` alone (a :class:`Rand` giving the same values)."""
        rows = self._words[:, :, b].tolist()
        return Rand(rows, self._node, self._tree)


def sample_rand(tree: Tree, seed: int, stage: int, epoch: int, index: int, occurrence: int = 0) -> list[Rand]:
    """One :class:`Rand` per top-level step of ``tree`` for one sample."""
    rows = derive_one(tree, seed, stage, epoch, index, occurrence)
    return [Rand(rows, node, tree) for node in tree.top]


def batch_rand(tree: Tree, seed: int, stage: int, indices: np.ndarray, epochs: np.ndarray,
               occurrences: np.ndarray) -> list[RandBatch]:
    """One :class:`RandBatch` per top-level step of ``tree`` for ``B`` samples."""
    words = derive(tree, seed, stage, indices, epochs, occurrences)
    return [RandBatch(words, node, tree) for node in tree.top]
