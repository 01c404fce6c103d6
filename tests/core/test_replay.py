"""Replay of applied parameters (``pipeline(x, index=..., record=True)``, ``pipeline.replay``)
and ``same_on_batch`` (one draw per batch in the batch stage)."""
from __future__ import annotations

import copy
import json
from typing import Any

import numpy as np
import pytest
import torch

import augnoise
from augnoise import OneOf, SomeOf, Sometimes
from augnoise.core import keys
from augnoise.core.errors import AugnoiseError, InputError, ParamError
from augnoise.core.registry import transform_names
from augnoise.core.transform import REGISTRY, SHARED, is_key_name
from augnoise.image import GaussianNoise, SaltAndPepper, SpeckleNoise

SEED = 99


def _cases(pred) -> list[Any]:
    out = []
    for name in transform_names():
        cls = REGISTRY[name]
        if pred(cls):
            out += [pytest.param(name, i, id=f"{name}-{i}") for i in range(len(cls.examples))]
    return out


def _build(name: str, i: int, stage: str = "sample", **extra: Any) -> tuple[augnoise.Pipeline, Any, Any]:
    ex = REGISTRY[name].examples[i]
    params = dict(ex.params() if callable(ex.params) else ex.params)
    step = REGISTRY[name](**{**params, **extra})
    p = augnoise.Pipeline(sample=[step] if stage == "sample" else [], batch=[step] if stage == "batch" else [],
                          seed=SEED)
    if ex.prepare is not None:
        ex.prepare(p)
    return p, step, ex


def _same(a: Any, b: Any) -> bool:
    a, b = (x.numpy() if isinstance(x, torch.Tensor) else x for x in (a, b))
    if isinstance(a, (np.ndarray, np.generic)) or isinstance(b, (np.ndarray, np.generic)):
        a, b = np.asarray(a), np.asarray(b)
        return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
    return a == b


def _same_sample(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)


def _json(record: dict) -> dict:
    return json.loads(json.dumps(record))


def _image(seed: int = 0, shape=(16, 16, 3)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


# -- replay: same bytes -----------------------------------------------------------------------------
# the first example of each transform (the conformance suite runs every example; these check the tape)
FIRST = [c for c in _cases(lambda c: not c.batch_only) if c.values[1] == 0]


@pytest.mark.parametrize("name, i", FIRST)
def test_replay_gives_identical_bytes_for_every_transform(name, i):
    p, step, ex = _build(name, i)
    for index in (7, 2**40 + 1):
        sample = ex.sample()
        out, rec = p(sample, index=index, epoch=3, record=True)
        assert _same_sample(out, p(sample, index=index, epoch=3))  # recording changes nothing
        assert _same_sample(p.replay(ex.sample(), _json(rec)), out)
        entry = rec["steps"]["1"]
        assert entry["name"] == name and isinstance(entry["applied"], bool)
        for k, v in entry.get("params", {}).items():
            if is_key_name(k):
                assert isinstance(v, str) and v.startswith("0x") and len(v) == 18


def _composite_pipeline() -> augnoise.Pipeline:
    return augnoise.Pipeline(sample=[
        GaussianNoise(std=[0.02, 0.2], p=0.7),
        OneOf([SaltAndPepper(amount=[0.01, 0.1]), SpeckleNoise(std=0.1),
               SomeOf([GaussianNoise(std=0.05), SpeckleNoise(std=[0.05, 0.2])], n=[0, 2])], weights=[1, 1, 2]),
        Sometimes([GaussianNoise(std=0.03, per_channel=False)], p=0.5),
    ], seed=SEED)


def test_replay_composites_after_a_json_round_trip():
    p = _composite_pipeline()
    img = _image()
    seen_paths: set[str] = set()
    for index in range(40):
        out, rec = p({"image": img}, index=index, record=True)
        text = json.dumps(rec)  # plain JSON: no numpy scalars, no big integers
        again = p.replay({"image": img}, json.loads(text))
        assert np.array_equal(again["image"], out["image"])
        seen_paths |= set(rec["steps"])
        if rec["steps"]["2"]["applied"]:
            assert sum(rec["steps"]["2"]["choices"]) == 1
    assert {"1", "2", "2.1", "2.2", "2.3", "2.3.1", "2.3.2", "3", "3.1"} <= seen_paths


def test_normal_call_unchanged_and_record_is_a_pair():
    p = _composite_pipeline()
    img = _image()
    plain = p(img, index=4)  # a bare array in, a bare array out, as before
    assert isinstance(plain, np.ndarray)
    pair = p(img, index=4, record=True)
    assert isinstance(pair, tuple) and len(pair) == 2 and np.array_equal(pair[0], plain)
    rec = pair[1]
    assert {k: rec[k] for k in ("augnoise_record", "seed", "stage", "index", "epoch", "occurrence")} == {
        "augnoise_record": 1, "seed": SEED, "stage": "sample", "index": 4, "epoch": 0, "occurrence": 0}
    assert np.array_equal(p.replay(img, rec), plain)
    with pytest.raises(InputError, match="record must be true or false"):
        p(img, index=4, record="yes")


def test_replay_on_another_sample_applies_the_same_parameters_and_noise():
    p = augnoise.Pipeline(sample=[GaussianNoise(std=[0.05, 0.2], clip=False)], seed=SEED)
    a = np.full((32, 32, 3), 0.25, np.float32)
    b = np.random.default_rng(1).uniform(0.3, 0.7, (32, 32, 3)).astype(np.float32)
    out_a, rec = p(a, index=11, record=True)
    out_b = p.replay(b, _json(rec))
    np.testing.assert_allclose(out_b - b, out_a - a, atol=1e-6)  # the same noise stream
    assert not np.allclose(p(b, index=12) - b, out_a - a, atol=1e-3)  # not what b's own key gives


def test_an_edited_record_applies_the_edited_value():
    p = augnoise.Pipeline(sample=[GaussianNoise(std=[0.01, 0.02], clip=False)], seed=SEED)
    x = np.full((64, 64, 3), 0.5, np.float32)
    out, rec = p(x, index=0, record=True)
    rec["steps"]["1"]["params"]["std"] = 0.3
    edited = p.replay(x, rec)
    measured = float((edited - x).std())
    assert abs(measured - 0.3) < 0.3 * 5 / np.sqrt(2 * x.size)  # 5 standard errors
    assert float((out - x).std()) < 0.03


# -- refused records ---------------------------------------------------------------------------------
def test_records_of_another_pipeline_are_refused_naming_the_step():
    p = _composite_pipeline()
    img = _image()
    _, rec = p(img, index=1, record=True)
    other_seed = p.with_seed(SEED + 1)
    with pytest.raises(InputError, match=r"record: seed: .*seed 99, this pipeline has seed 100"):
        other_seed.replay(img, rec)
    renamed = augnoise.Pipeline(sample=[SpeckleNoise(std=0.1), *p.sample[1:]], seed=SEED)
    with pytest.raises(InputError, match=r"step 1 \(image.SpeckleNoise\): record: name: the record has "
                                         r"'image.GaussianNoise' here"):
        renamed.replay(img, rec)
    other_params = augnoise.Pipeline(sample=[GaussianNoise(std=[0.02, 0.3], p=0.7), *p.sample[1:]], seed=SEED)
    with pytest.raises(InputError, match=r"step 1 \(image.GaussianNoise\): record: config: .*other parameters"):
        other_params.replay(img, rec)
    shorter = augnoise.Pipeline(sample=list(p.sample[:2]), seed=SEED)
    with pytest.raises(InputError, match=r"record: step 3: this pipeline has no such step"):
        shorter.replay(img, rec)
    longer = augnoise.Pipeline(sample=[*p.sample, SpeckleNoise(std=0.1)], seed=SEED)
    with pytest.raises(InputError, match=r"step 4 \(image.SpeckleNoise\): record: has no entry"):
        longer.replay(img, rec)


def _bad(rec: dict, path: tuple, value: Any) -> dict:
    out = copy.deepcopy(rec)
    node = out
    for part in path[:-1]:
        node = node[part]
    if value is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return out


_DELETE = object()


def test_tampered_records_are_refused_with_located_messages():
    p = augnoise.Pipeline(sample=[GaussianNoise(std=[0.05, 0.2]), OneOf([SpeckleNoise(std=0.1),
                                                                          SomeOf([GaussianNoise(std=0.1)] * 3, n=1)])],
                          seed=SEED)
    img = _image()
    index = next(i for i in range(200) if p(img, index=i, record=True)[1]["steps"]["2"]["choices"][1])
    _, rec = p(img, index=index, record=True)
    g = ("steps", "1", "params")
    cases = [
        (g + ("std",), 5, r"step 1 \(image.GaussianNoise\): record: params.std: must be <= 1, got 5"),
        (g + ("std",), -0.1, r"params.std: must be >= 0"),
        (g + ("std",), "0.1", r"params.std: must be a number, got '0.1'"),
        (g + ("std",), float("nan"), r"params.std: must be a finite number"),
        (g + ("std",), [0.1, 0.2], r"params.std: must be a number"),
        (g + ("key",), "zz", r"params.key: must be a 64-bit key as a hex string"),
        (g + ("key",), 2**70, r"params.key: must be a 64-bit key"),
        (g + ("key",), _DELETE, r"params: missing key"),
        (g + ("extra",), 1.0, r"params: unknown value 'extra'"),
        (g, None, r"params: must be a mapping"),
        (("steps", "1", "applied"), "yes", r"record: applied: must be true or false"),
        (("steps", "2", "choices"), [True], r"step 2 \(OneOf\): record: choices: must be a list of 2"),
        (("steps", "2", "choices"), [True, True], r"OneOf applies exactly one child"),
        (("steps", "2.2", "choices"), [True, True, False], r"step 2.2 \(SomeOf\): record: choices: SomeOf applies 1"),
        (("steps", "2", "choices"), [True, False], r"step 2.1 \(image.SpeckleNoise\): record: has no entry"),
        (("index",), -1, r"record: index: must be an integer"),
        (("epoch",), 1.5, r"record: epoch: must be an integer"),
        (("stage",), "batch", r"record: stage: only sample-stage records"),
        (("augnoise_record",), 2, r"record: augnoise_record: must be 1"),
        (("steps",), [], r"record: steps: must be a mapping"),
        (("steps", "1", "name"), "OneOf", r"record: name: the record has 'OneOf' here"),
    ]
    for path, value, pattern in cases:
        with pytest.raises(InputError, match=pattern):
            p.replay(img, _bad(rec, path, value))
    with pytest.raises(InputError, match="record must be a mapping"):
        p.replay(img, [rec])


def _leaves(obj: Any, path: tuple = ()) -> list[tuple]:
    if isinstance(obj, dict):
        return [path] + [leaf for k, v in obj.items() for leaf in _leaves(v, path + (k,))]
    return [path]


@pytest.mark.parametrize("name, i", FIRST)
def test_any_junk_in_a_record_is_a_library_error(name, i):
    p, step, ex = _build(name, i)
    sample = ex.sample()
    _, rec = p(sample, index=3, record=True)
    junk = [None, "x", -1, 2**70, 1e308, float("inf"), [], {}, True, "0x" + "f" * 17, 0.5]
    for path in _leaves(rec)[1:]:
        for value in junk:
            try:
                p.replay(ex.sample(), _bad(rec, path, value))
            except AugnoiseError:
                pass  # refused with the library's own error (anything else fails the test)


# -- same_on_batch ------------------------------------------------------------------------------------
def _row_stds(pipe: augnoise.Pipeline, x: np.ndarray, indices) -> np.ndarray:
    y = pipe.apply_batch(x, np.asarray(indices))
    return (y.astype(np.float64) - x).reshape(len(x), -1).std(axis=1)


def test_same_on_batch_shares_the_drawn_std():
    x = np.full((64, 32, 32, 3), 0.5, np.float32)  # no clipping: 0.5 +- 5 * 0.1 stays in [0, 1]
    n = 32 * 32 * 3
    rel_se = 1 / np.sqrt(2 * n)  # relative standard error of one row's std estimate
    shared = augnoise.Pipeline(batch=[GaussianNoise(std=[0.02, 0.1], same_on_batch=True)], seed=SEED)
    s = _row_stds(shared, x, range(64))
    assert s.std() / s.mean() < 2 * rel_se  # the spread sampling error allows (about 1.3 %)
    free = augnoise.Pipeline(batch=[GaussianNoise(std=[0.02, 0.1])], seed=SEED)
    f = _row_stds(free, x, range(64))
    assert f.std() / f.mean() > 0.25  # uniform on [0.02, 0.1]: about 0.38
    assert f.min() < 0.03 and f.max() > 0.09
    # the shared draw is the first row's: row 0 is what it is without same_on_batch
    assert abs(s[0] - f[0]) < 1e-12 and np.allclose(s, f[0], rtol=6 * rel_se)
    # the noise streams stay per row
    y = shared.apply_batch(x, np.arange(64))
    assert len({y[b].tobytes() for b in range(64)}) == 64
    # another batch (another leading sample) draws another shared std
    s2 = _row_stds(shared, x, range(64, 128))
    assert abs(s2.mean() - s.mean()) > 10 * rel_se * s.mean()


def test_same_on_batch_shares_the_probability_test_and_composite_choices():
    x = np.full((16, 8, 8, 3), 0.5, np.float32)
    gated = augnoise.Pipeline(batch=[GaussianNoise(std=0.1, p=0.5, same_on_batch=True)], seed=SEED)
    outcomes = set()
    for k in range(20):
        y = gated.apply_batch(x, np.arange(16) + 16 * k)
        changed = [not np.array_equal(y[b], x[b]) for b in range(16)]
        assert len(set(changed)) == 1  # all rows or none
        outcomes.add(changed[0])
    assert outcomes == {True, False}
    branches = OneOf([GaussianNoise(std=0.01), GaussianNoise(std=0.2)], same_on_batch=True)
    shared = augnoise.Pipeline(batch=[branches], seed=SEED)
    picked = set()
    for k in range(20):
        s = _row_stds(shared, x, np.arange(16) + 16 * k)
        low = s < 0.05
        assert low.all() or not low.any()  # one branch for the whole batch
        picked.add(bool(low[0]))
    assert picked == {True, False}
    free = augnoise.Pipeline(batch=[OneOf([GaussianNoise(std=0.01), GaussianNoise(std=0.2)])], seed=SEED)
    low = _row_stds(free, np.full((64, 8, 8, 3), 0.5, np.float32), np.arange(64)) < 0.05
    assert 0 < low.sum() < 64  # without it, both branches in one batch
    # a child's own same_on_batch inside a per-row composite
    nested = augnoise.Pipeline(batch=[Sometimes([GaussianNoise(std=[0.02, 0.1], same_on_batch=True)], p=1.0)],
                               seed=SEED)
    s = _row_stds(nested, np.full((64, 16, 16, 3), 0.5, np.float32), range(64))
    assert s.std() / s.mean() < 2 / np.sqrt(2 * 16 * 16 * 3)


BATCH_CAPABLE = [c for c in _cases(lambda c: c.batch_capable()) if c.values[1] == 0]


@pytest.mark.parametrize("name, i", BATCH_CAPABLE)
def test_same_on_batch_works_for_every_batch_capable_transform(name, i):
    p, step, ex = _build(name, i, stage="batch", same_on_batch=True)
    plain, _, _ = _build(name, i, stage="batch")
    indices = [3, 1, 4, 15, 9, 2]  # six: the examples' contexts hold targets for six samples
    n = len(indices)
    tree = p._trees[keys.BATCH_STAGE]
    r = keys.batch_rand(tree, SEED, keys.BATCH_STAGE, np.array(indices, np.uint64), np.zeros(n, np.uint64),
                        np.zeros(n, np.uint64))[0]
    r.tape = SHARED
    gate = r.below(step.p)
    assert len(set(gate.tolist())) == 1
    for k, v in step.drawn(r).items():
        v = np.asarray(v)
        if v.ndim and v.shape[0] == n:
            if is_key_name(k):
                assert len(set(v.tolist())) == n  # the noise streams stay per row
            else:
                assert all(np.array_equal(v[0], v[b]) for b in range(n))
    ctx = ex.context() if ex.context else {}
    samples = [ex.sample() for _ in indices]
    batch = {f: torch.from_numpy(np.stack([np.asarray(s[f]) for s in samples])) for f in samples[0]}
    types = {f: "numpy" for f, v in samples[0].items() if isinstance(v, np.ndarray)}
    out = p.apply_batch(batch, indices, item_types=types, **ctx)
    ref = plain.apply_batch(batch, indices, item_types=types, **ctx)
    assert out[step.field].shape == ref[step.field].shape
    if not step.batch_only:  # row 0 draws as it always does (adversarial rows share one gradient pass)
        assert _same(out[step.field][0], ref[step.field][0])


def test_same_on_batch_is_refused_in_the_sample_stage():
    with pytest.raises(ParamError, match=r"sample: step 1 \(image.GaussianNoise\): same_on_batch applies to the "
                                         r"batch stage only"):
        augnoise.Pipeline(sample=[GaussianNoise(std=0.1, same_on_batch=True)])
    with pytest.raises(ParamError, match=r"step 1.2 \(image.SpeckleNoise\): same_on_batch applies to the batch"):
        augnoise.Pipeline(sample=[Sometimes([GaussianNoise(std=0.1), SpeckleNoise(std=0.1, same_on_batch=True)])])
    text = "sample:\n  - image.GaussianNoise: {std: 0.1}\n  - OneOf:\n      transforms: [image.GaussianNoise: {}]\n" \
           "      same_on_batch: true\n"
    with pytest.raises(augnoise.ConfigError, match=r":3: step 2 \(OneOf\): same_on_batch applies to the batch stage"):
        augnoise.loads(text)
    with pytest.raises(ParamError, match=r"same_on_batch: must be true or false, got 'yes'"):
        GaussianNoise(std=0.1, same_on_batch="yes")


def test_same_on_batch_yaml_round_trip():
    p = augnoise.Pipeline(batch=[
        GaussianNoise(std=[0.01, 0.1], same_on_batch=True, p=0.5),
        OneOf([SpeckleNoise(std=0.1), SaltAndPepper(amount=0.02, same_on_batch=True)], same_on_batch=True),
        Sometimes([GaussianNoise(std=0.02)], p=0.3, same_on_batch=True),
        SomeOf([GaussianNoise(std=0.02), SpeckleNoise(std=0.05)], n=1, same_on_batch=True),
    ], seed=SEED)
    text = p.dumps()
    assert text.count("same_on_batch: true") == 5
    back = augnoise.loads(text)
    assert back == p and back.dumps() == text
    x = np.random.default_rng(0).uniform(0.2, 0.8, (8, 8, 8, 3)).astype(np.float32)
    assert np.array_equal(back.apply_batch(x, np.arange(8)), p.apply_batch(x, np.arange(8)))
    assert "same_on_batch" not in augnoise.Pipeline(batch=[GaussianNoise(std=0.1)]).dumps()
