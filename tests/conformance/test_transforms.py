"""Conformance: every registered transform, found through the registry, runs through the same
checks on the small cases it declares (``Transform.examples``). A new transform gets these
tests by declaring examples; there is no table to edit here.

Every transform: purity (read-only input, global RNGs untouched), determinism per key, fresh
noise across keys, dtype/shape/domain kept, p=0 is the identity, YAML round trip, and the
vectorised sample stage (``apply_many``) equal to one call per sample. Batch-capable ones
also: the batch stage on CPU tensors equals the one-sample path with the same keys byte for
byte, the torch kernel on CPU equals the numpy kernel, and CUDA agrees when present."""
from __future__ import annotations

import random
import tempfile
from typing import Any

import numpy as np
import pytest
import torch

import augnoise
from augnoise.core import keys
from augnoise.core.kernels import backends, kernel_for
from augnoise.core.registry import transform_names
from augnoise.core.transform import REGISTRY

SEED = 4242
INDICES = [0, 1, 5, 17, 2**40 + 3, 1000]


def cases(pred=lambda cls: True) -> list[Any]:
    out = []
    for name in transform_names():
        cls = REGISTRY[name]
        if pred(cls):
            out += [pytest.param(name, i, id=f"{name}-{i}") for i in range(len(cls.examples))]
    return out


SAMPLE = cases(lambda c: not c.batch_only)
BATCH = cases(lambda c: c.batch_capable() and not c.batch_only)
BATCH_ONLY = cases(lambda c: bool(c.batch_only))


def build(name: str, i: int, stage: str = "sample") -> tuple[augnoise.Pipeline, Any, Any]:
    ex = REGISTRY[name].examples[i]
    params = ex.params() if callable(ex.params) else ex.params
    step = REGISTRY[name](**params)
    p = augnoise.Pipeline(sample=[step] if stage == "sample" else [], batch=[step] if stage == "batch" else [], seed=SEED)
    if ex.prepare is not None:
        ex.prepare(p)
    return p, step, ex


def frozen(sample: dict[str, Any]) -> dict[str, Any]:
    for v in sample.values():
        if isinstance(v, np.ndarray):
            v.setflags(write=False)
    return sample


def same(a: Any, b: Any) -> bool:
    if isinstance(a, torch.Tensor):
        a = a.numpy()
    if isinstance(b, torch.Tensor):
        b = b.numpy()
    if isinstance(a, (np.ndarray, np.generic)) or isinstance(b, (np.ndarray, np.generic)):
        a, b = np.asarray(a), np.asarray(b)
        return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
    return a == b


def same_sample(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)


def in_domain(step: Any, x: Any, y: Any) -> None:
    """The output keeps the input's dtype and shape and stays in the modality's domain."""
    q = step.params
    if getattr(step, "changes_type", False):  # labels.LabelSmoothing: class index -> distribution
        y = np.asarray(y)
        assert y.dtype == np.float32 and y.shape == (q.classes,) and abs(float(y.sum()) - 1) < 1e-5 and y.min() >= 0
        return
    assert isinstance(y, type(x)) and y.dtype == x.dtype and y.shape == x.shape
    if step.modality == "image" and x.dtype.kind == "f" and getattr(q, "clip", True):
        assert np.isfinite(y).all() and y.min() >= 0 and y.max() <= 1
    if step.modality == "audio" and x.dtype.kind == "f":
        assert np.isfinite(y).all()
        if q.clip:
            assert np.abs(y).max() <= 1
    if step.modality == "tabular":
        assert np.array_equal(np.isnan(np.asarray(y, np.float64)), np.isnan(np.asarray(x, np.float64)))
    if step.modality == "labels":
        assert 0 <= int(y) < q.classes


def test_every_registered_transform_declares_examples():
    assert transform_names(), "no transforms registered"
    missing = [n for n in transform_names() if not REGISTRY[n].examples]
    assert missing == []


@pytest.mark.parametrize("name, i", SAMPLE)
def test_pure_deterministic_and_fresh_per_key(name, i):
    p, step, ex = build(name, i)
    sample = frozen(ex.sample())
    before = {k: np.array(v, copy=True) if isinstance(v, np.ndarray) else v for k, v in sample.items()}
    states = (np.random.get_state(), random.getstate(), torch.get_rng_state())
    outs = [p(sample, index=k) for k in INDICES]
    assert same_sample(sample, before)  # nothing mutated (and read-only input was accepted)
    np_after = np.random.get_state()
    assert all(np.array_equal(a, b) if isinstance(a, np.ndarray) else a == b for a, b in zip(states[0], np_after))
    assert random.getstate() == states[1] and torch.equal(torch.get_rng_state(), states[2])
    again = [p(sample, index=k) for k in INDICES]
    assert all(same_sample(a, b) for a, b in zip(outs, again))  # same key, same bytes
    field = step.field
    for o in outs:
        in_domain(step, sample[field], o[field])
        if isinstance(o[field], np.ndarray) and not same(o[field], sample[field]):
            assert not np.shares_memory(o[field], sample[field])  # a new array (skipped: the input itself)
    if ex.strong:
        applied = [o[field].tobytes() for o in outs if not same(o[field], sample[field])]
        assert applied and len(set(applied)) == len(applied)  # every applied key: its own noise


@pytest.mark.parametrize("name, i", SAMPLE)
def test_p_zero_is_identity_and_p_one_always_applies(name, i):
    p, step, ex = build(name, i)
    cfg = {**step.to_config()[name], "p": 0.0}
    zero = augnoise.Pipeline(sample=[REGISTRY[name](**cfg)], seed=SEED, sections=p.sections)
    sample = ex.sample()
    for k in INDICES[:3]:
        out = zero(sample, index=k)
        if not step.changes_type:
            assert same(out[step.field], sample[step.field])


@pytest.mark.parametrize("name, i", SAMPLE)
def test_yaml_round_trip_gives_the_same_bytes(name, i):
    p, step, ex = build(name, i)
    # example noise files live in the temp folder: a YAML pipeline reads files outside its own
    # folder only where the caller allows it
    q = augnoise.loads(p.dumps(), allow_paths=[tempfile.gettempdir()])
    assert q == p and q.dumps() == p.dumps()
    sample = ex.sample()
    assert all(same_sample(p(sample, index=k), q(sample, index=k)) for k in INDICES[:3])


@pytest.mark.parametrize("name, i", SAMPLE)
def test_vectorised_sample_stage_equals_one_call_per_sample(name, i):
    p, step, ex = build(name, i)
    samples = [ex.sample() for _ in INDICES]
    many = p.apply_many(samples, INDICES, epochs=3)
    one = [p(s, index=k, epoch=3) for s, k in zip(samples, INDICES)]
    assert all(same_sample(a, b) for a, b in zip(many, one))


def _stack(samples: list[dict[str, Any]], tensors: bool) -> dict[str, Any]:
    out = {}
    for f in samples[0]:
        arr = np.stack([np.asarray(s[f]) for s in samples])
        out[f] = torch.from_numpy(arr) if tensors else arr
    return out


def _numpy_fields(samples: list[dict[str, Any]]) -> dict[str, str]:
    """What the loader tells the batch stage: these fields were numpy in the sample stage."""
    return {f: "numpy" for f, v in samples[0].items() if isinstance(v, np.ndarray)}


def _one_with_batch_keys(p: augnoise.Pipeline, sample: dict[str, Any], index: int, epoch: int, **ctx: Any) -> dict:
    """The one-sample path of the batch stage's steps, with the batch stage's keys."""
    rands = keys.sample_rand(p._trees[keys.BATCH_STAGE], p.seed, keys.BATCH_STAGE, epoch, index)
    c = p._context(keys.BATCH_STAGE, epoch=epoch, index=index, occurrence=0, **ctx)
    for step, r in zip(p.batch, rands):
        sample = step.run(sample, r, c)
    return sample


@pytest.mark.parametrize("name, i", BATCH)
def test_batch_stage_on_cpu_tensors_equals_the_one_sample_path(name, i):
    p, step, ex = build(name, i, stage="batch")
    samples = [ex.sample() for _ in INDICES]
    batch = _stack(samples, tensors=True)
    out = p.apply_batch(batch, INDICES, epoch=2, item_types=_numpy_fields(samples))
    assert isinstance(out[step.field], torch.Tensor) and out[step.field].device.type == "cpu"
    for b, (s, k) in enumerate(zip(samples, INDICES)):
        ref = _one_with_batch_keys(p, s, k, 2)
        assert same(out[step.field][b], ref[step.field])


@pytest.mark.parametrize("name, i", [c for c in BATCH if "numpy" in backends(REGISTRY[c.values[0]])])
def test_torch_kernel_on_cpu_equals_the_numpy_kernel(name, i, monkeypatch):
    from_numpy = torch.from_numpy

    def writable_only(a):  # torch warns (once per process, so a warning filter misses it) on read-only arrays
        assert a.flags.writeable, "a read-only array given to torch.from_numpy"
        return from_numpy(a)

    monkeypatch.setattr(torch, "from_numpy", writable_only)
    p, step, ex = build(name, i, stage="batch")
    samples = [ex.sample() for _ in INDICES]
    data = _stack(samples, tensors=False)
    x = data[step.field]
    r = keys.batch_rand(p._trees[keys.BATCH_STAGE], p.seed, keys.BATCH_STAGE, np.array(INDICES, np.uint64),
                        np.zeros(len(INDICES), np.uint64), np.zeros(len(INDICES), np.uint64))[0]
    r.below(step.p)
    params = {**step.draw(r), **step.inputs(data, batched=True)}  # as run_batch builds them
    ctx = p._context(keys.BATCH_STAGE, item_types={step.field: "numpy"})
    xn, extra_n = step.kernel_input(x, ctx)
    xt, extra_t = step.kernel_input(torch.from_numpy(x), ctx)
    y_np = kernel_for(type(step), "numpy")(step, xn, {**params, **extra_n}, ctx)
    if getattr(step.params, "stats", "fitted") == "batch":  # each sample's own statistics: numpy only (documented)
        with pytest.raises(augnoise.InputError, match="numpy arrays and CPU tensors only"):
            kernel_for(type(step), "torch")(step, xt, {**params, **extra_t}, ctx)
        return
    y_t = kernel_for(type(step), "torch")(step, xt, {**params, **extra_t}, ctx)
    outs_np = y_np if isinstance(y_np, tuple) else (y_np,)
    outs_t = y_t if isinstance(y_t, tuple) else (y_t,)
    for a, b in zip(outs_np, outs_t, strict=True):
        b = b.numpy()
        assert b.dtype == a.dtype and b.shape == a.shape
        if step.exact_backends:
            assert np.array_equal(b, a, equal_nan=a.dtype.kind == "f")
        elif step.modality == "audio":  # float64 powers and FFTs in another order: equal to float rounding
            assert np.allclose(b, a, rtol=0, atol=1e-5 if a.dtype.kind == "f" else 1)
        else:  # Poisson: a float64 transcendental may round differently at an acceptance boundary
            assert np.mean(b != a) < 1e-3


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
@pytest.mark.parametrize("name, i", BATCH)
def test_cuda_agrees_with_cpu(name, i):
    p, step, ex = build(name, i, stage="batch")
    samples = [ex.sample() for _ in INDICES]
    types = _numpy_fields(samples)
    cpu = p.apply_batch(_stack(samples, tensors=True), INDICES, item_types=types)
    gpu = p.apply_batch({k: v.cuda() for k, v in _stack(samples, tensors=True).items()}, INDICES, item_types=types)
    a, b = cpu[step.field].double(), gpu[step.field].cpu().double()
    tol = 1.0 if not cpu[step.field].is_floating_point() else 1e-5
    assert a.shape == b.shape and float((a - b).abs().max()) <= tol  # fused float ops may round differently


@pytest.mark.parametrize("name, i", BATCH_ONLY)
def test_batch_only_steps(name, i):
    with pytest.raises(augnoise.ParamError, match="batch stage only"):
        build(name, i, stage="sample")
    p, step, ex = build(name, i, stage="batch")
    ctx = ex.context() if ex.context else {}
    samples = [ex.sample() for _ in INDICES]
    batch = _stack(samples, tensors=True)
    out = p.apply_batch(batch, INDICES, epoch=1, **ctx)
    again = p.apply_batch(batch, INDICES, epoch=1, **ctx)
    y = out[step.field]
    assert y.shape == batch[step.field].shape and y.dtype == batch[step.field].dtype
    assert torch.equal(y, again[step.field])
    if ex.strong:  # fresh noise per key, among the samples the step applied to
        changed = [y[b].numpy().tobytes() for b in range(len(INDICES)) if not torch.equal(y[b], batch[step.field][b])]
        assert changed and len(set(changed)) == len(changed)
    part = p.apply_batch({k: v[:3] for k, v in batch.items()}, INDICES[:3], epoch=1,
                         **{k: (v[:3] if isinstance(v, torch.Tensor) else v) for k, v in ctx.items()})
    assert torch.equal(part[step.field], y[:3])  # per-sample keys: batch composition does not matter


COMPOSITES = [
    augnoise.OneOf, augnoise.SomeOf, augnoise.Sometimes,
]


@pytest.mark.parametrize("cls", COMPOSITES, ids=lambda c: c.name)
def test_composites_in_both_stages(cls):
    from augnoise.image import GaussianNoise, SaltAndPepper

    kids = [GaussianNoise(std=0.2), SaltAndPepper(amount=0.3), GaussianNoise(std=0.05, per_channel=False)]
    extra = {"n": [1, 2]} if cls is augnoise.SomeOf else {"weights": [1, 2, 1]} if cls is augnoise.OneOf else {}
    comp = cls(kids, **extra)
    p = augnoise.Pipeline(sample=[comp], batch=[cls(kids, **extra)], seed=SEED)
    img = np.full((6, 5, 3), 100, np.uint8)
    many = p.apply_many([img] * len(INDICES), INDICES)
    assert all(np.array_equal(m, p(img, index=k)) for m, k in zip(many, INDICES))
    out = p.apply_batch(torch.from_numpy(np.stack([img] * len(INDICES))), INDICES, item_types={"image": "numpy"})
    for b, k in enumerate(INDICES):
        assert np.array_equal(out[b].numpy(), _one_with_batch_keys(p, {"image": img}, k, 0)["image"])
    assert augnoise.loads(p.dumps()) == p
