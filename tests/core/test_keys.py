"""Keys: Philox-4x32-10 against the published known answers in all three implementations,
streams and node keys against the plain-Python reference, one sample vs many, independence,
prefix stability, and the key parts a call accepts."""
import hashlib
import random
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch

import augnoise
from augnoise.core import keys as K
from augnoise.core import philox as P
from augnoise.image import GaussianNoise, SaltAndPepper
from augnoise.torch import philox as TP
from tests.conftest import ROOT

Z = 5.0


@pytest.mark.parametrize("ctr, key, expected", P.KNOWN_ANSWERS)
def test_known_answers_in_python_numba_and_torch(ctr, key, expected):
    assert P.philox(ctr, key) == expected
    assert tuple(P.jit().kat(np.array(ctr, np.uint32), np.array(key, np.uint32)).tolist()) == expected
    t = [torch.tensor(v, dtype=torch.int64) for v in (*ctr, *key)]
    assert tuple(int(v) for v in TP.block(*t)) == expected


@pytest.mark.parametrize("key", [0, 1, 2**64 - 1, 0x9E3779B97F4A7C15])
@pytest.mark.parametrize("stream", [0, 3])
def test_streams_match_the_reference(key, stream):
    n = 2 * P.CHUNK + 13  # crosses chunk boundaries, not a multiple of 8
    words = P.stream_words(key, 0, n, stream)
    assert P.uniform32(n, key, stream).tolist() == words
    ref = P.standard_normal_reference(key, n, stream)
    assert np.array_equal(P.standard_normal(n, key, stream), ref)
    kt = TP.keys_tensor(np.array([key], np.uint64), "cpu")
    assert TP.uniform32(kt, n, stream)[0].tolist() == words
    assert np.array_equal(TP.normals(kt, n, stream)[0].numpy(), ref)


def test_gaussian_table_is_exactly_standardised_and_symmetric():
    t = P.gaussian_table().astype(np.float64)
    assert abs(t.mean()) < 1e-7 and abs(np.mean(t * t) - 1.0) < 1e-6
    assert np.allclose(t, -t[::-1], atol=1e-6)
    assert not P.gaussian_table().flags.writeable


class Node:
    def __init__(self, *kids):
        self.transforms = list(kids)


TREE = K.Tree([Node(), Node(Node(), Node(Node())), Node()])


def reference_nodes(seed, stage, epoch, index, occ):
    """Every node's 12 words by the plain-Python definitions."""
    root = K.root_key(seed, stage, epoch, index, occ)
    keys = {}
    out = []
    for n, (par, j) in enumerate(zip(TREE.parent.tolist(), TREE.child_index.tolist())):
        k = K.child_key(root if par < 0 else keys[par], j)
        keys[n] = k
        out.append([*k, *K.draw_words(k, 0), *K.draw_words(k, 1)])
    return out


def test_node_words_one_sample_many_samples_and_reference_agree():
    seed = 2**62 + 5
    idx = np.array([0, 3, 2**40 + 7, 2**64 - 1], np.uint64)
    eps = np.array([0, 2, 9, 2**32 - 1], np.uint64)
    occ = np.array([0, 0, 5, 2**24 - 1], np.uint64)
    many = K.derive(TREE, seed, 1, idx, eps, occ)
    for b in range(4):
        ref = reference_nodes(seed, 1, int(eps[b]), int(idx[b]), int(occ[b]))
        assert many[:, :, b].tolist() == ref
        assert K.derive_one(TREE, seed, 1, int(eps[b]), int(idx[b]), int(occ[b])) == ref


def test_every_key_part_changes_every_node():
    base = dict(seed=11, stage=0, epoch=1, index=2, occurrence=0)
    words = lambda **kw: np.array(K.derive_one(TREE, kw["seed"], kw["stage"], kw["epoch"], kw["index"], kw["occurrence"]))
    w0 = words(**base)
    for part, value in [("seed", 12), ("stage", 1), ("epoch", 2), ("index", 3), ("occurrence", 1)]:
        w = words(**{**base, part: value})
        assert not (w == w0).any(axis=1).all(), part  # no node keeps its words
    assert len({tuple(r) for r in w0[:, :4].tolist()}) == len(TREE)  # every path has its own key


def test_scalar_and_vector_draws_give_the_same_values():
    idx = np.arange(5, dtype=np.uint64)
    z = np.zeros(5, np.uint64)
    batch = K.batch_rand(TREE, 3, 0, idx, z, z)

    def draws(r):  # 40 draws: well past the 8 precomputed words (computed on demand)
        out = []
        for _ in range(4):
            out += [r.random(), r.value([0.1, 0.3]), r.value(0.25), r.key(), r.integers(7), r.below(0.5),
                    r.int_value([2, 5]), r.u32(), r.uniform(-1.0, 2.0)]
        return out

    pick = [lambda rs: rs[1], lambda rs: rs[1].child(1).child(0), lambda rs: rs[2]]
    vector = [draws(f(batch)) for f in pick]
    for b in range(5):
        for f, v in zip(pick, vector):
            a = draws(f(K.sample_rand(TREE, 3, 0, 0, b)))
            assert [float(x) for x in a] == [float(x[b]) for x in v]
        assert draws(batch[0].sample(b)) == draws(K.sample_rand(TREE, 3, 0, 0, b)[0])


def test_draw_statistics():
    n = 20000
    r = K.batch_rand(K.Tree([Node()]), 5, 0, np.arange(n, dtype=np.uint64), np.zeros(n, np.uint64),
                     np.zeros(n, np.uint64))[0]
    u = r.random()
    assert abs(u.mean() - 0.5) < Z * np.sqrt(1 / 12 / n) and 0 <= u.min() and u.max() < 1
    counts = np.bincount(r.integers(7), minlength=7)
    assert np.all(np.abs(counts - n / 7) < Z * np.sqrt(n / 7 * 6 / 7))
    v = r.value([2.0, 3.0])
    assert 2.0 <= v.min() and v.max() < 3.0 and np.all(r.value(0.25) == 0.25)


def test_prefix_stability_and_path_independence():
    a = augnoise.Pipeline(sample=[GaussianNoise(std=0.1)], seed=4)
    b = augnoise.Pipeline(sample=[GaussianNoise(std=0.1), SaltAndPepper(amount=0.3)], seed=4)
    c = augnoise.Pipeline(sample=[augnoise.OneOf([SaltAndPepper(), GaussianNoise()]), GaussianNoise(std=0.1)], seed=4)
    img = np.full((16, 16), 0.5, np.float32)
    # a later step does not change the words (so the noise) of an earlier one
    assert K.derive_one(a._trees[0], 4, 0, 0, 9)[0] == K.derive_one(b._trees[0], 4, 0, 0, 9)[0]
    out_b, out_a = b(img, index=9), a(img, index=9)
    untouched = (out_b != 0) & (out_b != 1)  # pixels salt-and-pepper left alone
    assert untouched.mean() > 0.5 and np.array_equal(out_b[untouched], out_a[untouched])
    # the same step at another position is another path: other noise
    assert not np.array_equal(augnoise.Pipeline(sample=c.sample[1:], seed=4)(img, index=9), c(img, index=9))


@pytest.mark.parametrize("part, value, err", [
    ("index", -1, ValueError), ("index", 2**64, ValueError), ("index", 1.5, TypeError), ("index", True, TypeError),
    ("index", "3", TypeError), ("epoch", 2**32, ValueError), ("occurrence", 2**24, ValueError),
])
def test_bad_key_parts_are_errors(part, value, err):
    p = augnoise.Pipeline(sample=[GaussianNoise()], seed=1)
    with pytest.raises(err, match=part):
        p(np.zeros((2, 2), np.uint8), **{"index": 0, part: value})


PIPE = augnoise.Pipeline(sample=[GaussianNoise(std=[0.02, 0.1]), SaltAndPepper(amount=0.02)], seed=99)
IMG = np.full((32, 32, 3), 100, np.uint8)


def digest(index: int, epoch: int = 0, occurrence: int = 0) -> str:
    return hashlib.sha256(PIPE(IMG, index=index, epoch=epoch, occurrence=occurrence).tobytes()).hexdigest()


def test_order_threads_epochs_and_occurrences():
    serial = [digest(i) for i in range(16)]
    reverse = [digest(i) for i in reversed(range(16))][::-1]
    with ThreadPoolExecutor(4) as ex:
        threaded = list(ex.map(digest, range(16)))
    assert serial == reverse == threaded
    assert len(set(serial)) == 16  # every index gets its own noise
    assert digest(3, epoch=1) != digest(3) != digest(3, occurrence=1) != digest(3, epoch=1)


def test_same_key_in_another_process():
    code = (
        "import hashlib, numpy as np, augnoise\n"
        "from augnoise.image import GaussianNoise, SaltAndPepper\n"
        "p = augnoise.Pipeline(sample=[GaussianNoise(std=[0.02, 0.1]), SaltAndPepper(amount=0.02)], seed=99)\n"
        "img = np.full((32, 32, 3), 100, np.uint8)\n"
        "print(hashlib.sha256(p(img, index=5, epoch=2).tobytes()).hexdigest())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == digest(5, epoch=2)


def test_no_global_random_state_is_touched():
    np_state, py_state, torch_state = np.random.get_state(), random.getstate(), torch.get_rng_state()
    p = augnoise.loads(
        "seed: 3\nsample:\n  - image.GaussianNoise: {std: 0.1}\n  - image.ShotNoise: {photons: 30}\n"
        "  - image.SpeckleNoise: {std: 0.2}\n  - image.SaltAndPepper: {amount: 0.1}\n"
        "  - albumentations.RandomBrightnessContrast: {p: 1}\n  - albumentations.ISONoise: {p: 1}\n"
        "batch:\n  - image.GaussianNoise: {std: 0.1}\n  - image.SaltAndPepper: {amount: 0.1}\n"
    )
    p(IMG, index=1)
    p.apply_many([IMG, IMG], [0, 1])
    p.apply_batch(torch.from_numpy(np.stack([IMG, IMG])), [0, 1], item_types={"image": "numpy"})
    after = np.random.get_state()
    assert all(np.array_equal(a, b) if isinstance(a, np.ndarray) else a == b for a, b in zip(np_state, after))
    assert random.getstate() == py_state
    assert torch.equal(torch.get_rng_state(), torch_state)


def test_source_never_uses_global_rngs():
    pattern = re.compile(r"np\.random\.(seed|rand|randn|randint|random|normal|uniform|choice|shuffle|poisson)\b"
                         r"|\brandom\.(seed|random|randint|choice|shuffle|gauss)\(|torch\.manual_seed|cv2\.setRNGSeed|cv2\.randn")
    bench = Path(ROOT, "augnoise", "benchmarks")  # the bench suites seed the peers' global RNGs, as those peers need
    offenders = [f"{p}:{i}" for p in Path(ROOT, "augnoise").rglob("*.py") if bench not in p.parents
                 for i, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]
    assert offenders == []
