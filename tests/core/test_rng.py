import hashlib
import random
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

import augnoise
from augnoise.core.rng import child_generator, key_generator, step_generator
from augnoise.image import GaussianNoise, SaltAndPepper
from tests.conftest import ROOT

PIPE = augnoise.Pipeline(sample=[GaussianNoise(std=[0.02, 0.1]), SaltAndPepper(amount=0.02)], seed=99)
IMG = np.full((32, 32, 3), 100, np.uint8)


def digest(index: int, epoch: int = 0) -> str:
    return hashlib.sha256(PIPE(IMG, index=index, epoch=epoch).tobytes()).hexdigest()


def test_same_key_same_stream_and_different_keys_differ():
    a = step_generator(5, epoch=0, index=3, path=(1,)).random(8)
    b = step_generator(5, epoch=0, index=3, path=(1,)).random(8)
    assert np.array_equal(a, b)
    for other in (dict(epoch=1, index=3, path=(1,)), dict(epoch=0, index=4, path=(1,)),
                  dict(epoch=0, index=3, path=(2,)), dict(epoch=0, index=3, path=(1, 0))):
        assert not np.array_equal(a, step_generator(5, **other).random(8))
    assert not np.array_equal(a, step_generator(6, epoch=0, index=3, path=(1,)).random(8))


def test_child_generator_is_stateless():
    rng = key_generator(1, (0, 0, 0, 2))
    first = child_generator(rng, 1).random(4)
    rng.random(100)  # drawing from the parent must not shift the child
    assert np.array_equal(first, child_generator(rng, 1).random(4))
    assert np.array_equal(first, key_generator(1, (0, 0, 0, 2, 1)).random(4))


@pytest.mark.parametrize("bad", [-1, 1.5, True, "3"])
def test_bad_key_parts_are_errors(bad):
    with pytest.raises((TypeError, ValueError)):
        step_generator(1, epoch=bad, index=0, path=(0,))


def test_order_and_threads_do_not_matter():
    serial = [digest(i) for i in range(16)]
    reverse = [digest(i) for i in reversed(range(16))][::-1]
    with ThreadPoolExecutor(4) as ex:
        threaded = list(ex.map(digest, range(16)))
    assert serial == reverse == threaded
    assert len(set(serial)) == 16  # every index gets its own noise


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


def test_epochs_differ():
    assert digest(3, epoch=0) != digest(3, epoch=1)


def test_no_global_random_state_is_touched():
    import torch

    np_state, py_state, torch_state = np.random.get_state(), random.getstate(), torch.get_rng_state()
    p = augnoise.loads(
        "seed: 3\nsample:\n  - image.GaussianNoise: {std: 0.1}\n  - image.ShotNoise: {photons: 30}\n"
        "  - image.SpeckleNoise: {std: 0.2}\n  - image.SaltAndPepper: {amount: 0.1}\n"
        "  - albumentations.RandomBrightnessContrast: {p: 1}\n  - albumentations.GaussNoise: {p: 1}\n"
    )
    p(IMG, index=1)
    after = np.random.get_state()
    assert all(np.array_equal(a, b) if isinstance(a, np.ndarray) else a == b for a, b in zip(np_state, after))
    assert random.getstate() == py_state
    assert torch.equal(torch.get_rng_state(), torch_state)


def test_source_never_uses_global_rngs():
    pattern = re.compile(r"np\.random\.(seed|rand|randn|randint|random|normal|uniform|choice|shuffle|poisson)\b"
                         r"|\brandom\.(seed|random|randint|choice|shuffle|gauss)\(|torch\.manual_seed|cv2\.setRNGSeed|cv2\.randn")
    offenders = [f"{p}:{i}" for p in Path(ROOT, "augnoise").rglob("*.py")
                 for i, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]
    assert offenders == []


def test_keyed_random_scalar_fast_path_and_generator_fallback():
    from augnoise.core.rng import KeyedRandom, sample_randoms

    a, b = sample_randoms(3, epoch=1, index=2, n_steps=2)
    a2, b2 = sample_randoms(3, epoch=1, index=2, n_steps=5)[:2]  # prefix-stable: later steps do not matter
    draws = lambda r: (r.random(), r.uniform(2, 3), int(r.integers(0, 2**64, dtype=np.uint64)),
                       int(r.integers(10)), r.random(), tuple(r.random(3)), r.standard_normal())
    assert draws(a) == draws(a2) and draws(b) == draws(b2) and draws(a) != draws(b)
    words = np.random.SeedSequence(5).generate_state(4, np.uint64)
    r = KeyedRandom(words)
    vals = [r.random() for _ in range(1000)]  # beyond the 4 words: continues from its Philox
    assert len(set(vals)) == 1000 and 0 <= min(vals) and max(vals) < 1
    assert abs(np.mean(vals) - 0.5) < 5 * np.sqrt(1 / 12 / 1000)
    ints = [int(KeyedRandom([w]).integers(7)) for w in np.random.SeedSequence(1).generate_state(7000, np.uint64)]
    counts = np.bincount(ints, minlength=7)
    assert counts.min() > 1000 - 5 * np.sqrt(1000) and counts.max() < 1000 + 5 * np.sqrt(1000)
    assert r.child(1).random() == KeyedRandom(words).child(1).random() != r.child(2).random()
