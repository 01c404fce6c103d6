import numpy as np
import pytest

import augnoise
from augnoise import OneOf, ParamError, SomeOf, Sometimes
from augnoise.core.transform import Transform
from augnoise.core.params import BaseParams


class Mark(Transform):
    """Test-only transform: appends its tag to the sample's 'log' list."""

    modality = "test"

    class Params(BaseParams):
        tag: str = "x"

    def run(self, sample, r, ctx):
        if not r.below(self.p):
            return sample
        out = dict(sample)
        out["log"] = [*sample.get("log", []), self.params.tag]
        return out

    def to_config(self):
        return {"Mark": {"tag": self.params.tag}}


def run(step, n=4000):
    p = augnoise.Pipeline(sample=[step], seed=1)
    return [tuple(p({"log": []}, index=i)["log"]) for i in range(n)]


def binomial_ok(count, n, prob, z=5.0):
    """count within z standard errors of n * prob."""
    return abs(count - n * prob) <= z * np.sqrt(n * prob * (1 - prob))


def test_oneof_uniform_and_weighted():
    n = 4000
    logs = run(OneOf([Mark(tag="a"), Mark(tag="b"), Mark(tag="c")]), n)
    assert all(len(l) == 1 for l in logs)
    for t in "abc":
        assert binomial_ok(sum(l == (t,) for l in logs), n, 1 / 3)
    logs = run(OneOf([Mark(tag="a"), Mark(tag="b")], weights=[1, 3]), n)
    assert binomial_ok(sum(l == ("b",) for l in logs), n, 0.75)


def test_someof_counts_and_order():
    logs = run(SomeOf([Mark(tag=t) for t in "abcd"], n=[1, 3]), 3000)
    counts = np.bincount([len(l) for l in logs], minlength=5)
    assert counts[0] == counts[4] == 0
    for k in (1, 2, 3):
        assert binomial_ok(counts[k], 3000, 1 / 3)
    assert all(list(l) == sorted(l) for l in logs)  # children run in list order
    assert all(len(set(l)) == len(l) for l in logs)  # distinct children


def test_sometimes_rate_and_nesting():
    logs = run(Sometimes([Mark(tag="a"), OneOf([Mark(tag="b"), Mark(tag="c")])], p=0.3), 4000)
    hit = [l for l in logs if l]
    assert binomial_ok(len(hit), 4000, 0.3)
    assert all(l[0] == "a" and l[1] in ("b", "c") for l in hit)


@pytest.mark.parametrize("wrap", [lambda a, b: [SomeOf([a, b], n=2)], lambda a, b: [a, b]])
def test_step_noise_depends_only_on_its_own_path(wrap):
    """Changing one step (even what it draws) never shifts another step's noise."""
    g = augnoise.get_transform("image.GaussianNoise")
    sample = {"image": np.full((16, 16), 90, np.uint8), "aux": np.full((16, 16), 90, np.uint8)}
    outs = []
    for a in (g(std=0.3, field="aux"), g(std=[0.01, 0.05], field="aux", p=0.5)):
        p = augnoise.Pipeline(sample=wrap(a, g(std=0.1)), seed=4)
        outs.append(p(sample, index=2)["image"])
    assert np.array_equal(outs[0], outs[1])
    assert not np.array_equal(outs[0], sample["image"])


@pytest.mark.parametrize("make, field", [
    (lambda: OneOf([]), "transforms"),
    (lambda: OneOf([Mark()], weights=[1, 2]), "weights"),
    (lambda: OneOf([Mark(), Mark()], weights=[0, 0]), "weights"),
    (lambda: SomeOf([Mark()], n=2), "n"),
    (lambda: SomeOf([Mark(), Mark()], n=[2, 1]), "n"),
    (lambda: Sometimes([Mark()], p=1.5), "p"),
    (lambda: OneOf(["image.GaussianNoise"]), "transforms"),
])
def test_composite_param_errors(make, field):
    with pytest.raises(ParamError) as info:
        make()
    assert info.value.issues[0][0] == field


def test_nested_input_error_names_the_path():
    p = augnoise.loads("seed: 1\nsample:\n  - Sometimes:\n      p: 1\n      transforms:\n"
                       "        - image.GaussianNoise: {std: 0.1}\n        - image.ShotNoise: {photons: 5}\n")
    with pytest.raises(augnoise.InputError, match=r"^step 1\.1 \(image\.GaussianNoise\): image dtype must be"):
        p(np.zeros((4, 4), np.int32), index=0)


def test_trace_records_applied_steps_and_drawn_params():
    p = augnoise.loads("seed: 1\nsample:\n  - image.GaussianNoise: {std: [0.1, 0.2]}\n"
                       "  - OneOf: {transforms: [{image.ShotNoise: {photons: 9}}, {image.SpeckleNoise: {std: 0.3}}]}\n"
                       "  - image.SaltAndPepper: {p: 0}\n")
    trace = []
    p(np.zeros((4, 4), np.uint8), index=0, trace=trace)
    assert [name for name, _ in trace][0] == "image.GaussianNoise" and len(trace) == 2
    assert 0.1 <= trace[0][1]["std"] <= 0.2 and "key" not in trace[0][1]
    assert trace[1] in (("image.ShotNoise", {"photons": 9}), ("image.SpeckleNoise", {"std": 0.3}))
