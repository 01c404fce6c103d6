"""Parameter bounds (issue 14, item 6; item 10 for InstanceNoise input): a value no call can use
(non-finite, too large to allocate, an inverted range, a channel axis the batch cannot have) is
refused when the step is built, from Python and from YAML, with the field and the offending value
in one line. The sweep at the end derives its cases from every registered step's pydantic schema."""
from __future__ import annotations

import math
import tempfile
from typing import Any

import numpy as np
import pytest
import torch

import augnoise
from augnoise import ConfigError, InputError, ParamError
from augnoise.core.compose import COMPOSITES
from augnoise.core.registry import get_transform, transform_names
from augnoise.core.transform import REGISTRY

INF, NAN = float("inf"), float("nan")


def refused(make: Any, field: str) -> str:
    """The message of the ParamError ``make()`` raises for ``field`` (exactly one line)."""
    with pytest.raises(ParamError) as info:
        make()
    issues = [m for f, m in info.value.issues if f == field]
    assert issues, f"no issue names {field!r}: {info.value.issues}"
    assert "\n" not in str(info.value)
    return issues[0]


def yaml_problem(text: str, field: str, line: int) -> str:
    """The message of the YAML problem located at ``line`` and ``field`` of ``text``."""
    with pytest.raises(ConfigError) as info:
        augnoise.loads(text, allow_paths=[tempfile.gettempdir()])
    hits = [p for p in info.value.problems if p.field == field and p.line == line]
    assert hits, f"no problem at line {line} for {field!r}: {[str(p) for p in info.value.problems]}"
    return hits[0].message


def batch(step: Any, x: Any, **ctx: Any) -> Any:
    p = augnoise.Pipeline(batch=[step], seed=7)
    return p.apply_batch(x, list(range(len(x))), epoch=1, **ctx)


G = get_transform


# -- the cases of the issue -------------------------------------------------------------------

def test_issue14_oneof_weights_inf():
    kids = [G("image.GaussianNoise")(), G("image.ShotNoise")()]
    msg = refused(lambda: augnoise.OneOf(kids, weights=[1, INF]), "weights")
    assert "finite" in msg and "inf" in msg
    # finite weights whose sum overflows (or underflows to subnormals) cannot be drawn from either
    msg = refused(lambda: augnoise.OneOf(kids, weights=[1e300, 1e300]), "weights")
    assert "2e+300" in msg and "1e+300" in msg
    assert "1e-323" in refused(lambda: augnoise.OneOf(kids, weights=[5e-324, 5e-324]), "weights")
    assert augnoise.OneOf(kids, weights=[1e-300, 3e-300]).weights == [1e-300, 3e-300]  # tiny but usable
    doc = ("seed: 1\nsample:\n  - OneOf:\n      transforms: [{image.GaussianNoise: {}}, {image.ShotNoise: {}}]\n"
           "      weights: [1, .inf]\n")
    assert "inf" in yaml_problem(doc, "weights", 5)


def test_issue14_label_smoothing_classes_huge():
    msg = refused(lambda: G("labels.LabelSmoothing")(classes=1_000_000_000_000), "classes")
    assert msg.startswith("must be <= 16777216") and msg.endswith("got 1000000000000")
    assert G("labels.LabelSmoothing")(classes=2**24).params.classes == 2**24  # the bound itself is usable
    assert "digits" in refused(lambda: G("labels.LabelSmoothing")(classes=10**5000), "classes")  # bounded message
    assert "10.0" in refused(lambda: G("labels.LabelSmoothing")(classes=10.0), "classes")
    doc = "seed: 1\nsample:\n  - labels.LabelSmoothing:\n      eps: 0.1\n      classes: 1000000000000\n"
    assert "1000000000000" in yaml_problem(doc, "classes", 5)


def test_issue14_label_flip_classes_2_70():
    msg = refused(lambda: G("labels.LabelFlip")(classes=2**70), "classes")
    assert "16777216" in msg and str(2**70) in msg
    doc = f"seed: 1\nbatch:\n  - labels.LabelFlip: {{classes: {2**70}}}\n"
    assert str(2**70) in yaml_problem(doc, "classes", 3)
    step = G("labels.LabelFlip")(classes=2**24, rate=1.0)  # the largest accepted count runs
    out = augnoise.Pipeline(sample=[step], seed=1)({"label": np.int64(5)}, index=0)
    assert 0 <= int(out["label"]) < 2**24 and int(out["label"]) != 5


def test_issue14_instance_noise_std_inf():
    inst = G("gan.InstanceNoise")
    assert "inf" in refused(lambda: inst(std=[INF, INF]), "std")
    assert "1e+31" in refused(lambda: inst(std=[1e31, 0.0]), "std")
    assert "-1.0" in refused(lambda: inst(std=[-1, 0.0]), "std")
    assert "[0.1]" in refused(lambda: inst(std=[0.1]), "std")
    doc = "seed: 1\nbatch:\n  - gan.InstanceNoise:\n      epochs: 3\n      std: [.inf, .inf]\n"
    assert "inf" in yaml_problem(doc, "std", 5)
    # an accepted std too large for the batch's own dtype: a clear error, not inf
    with pytest.raises(InputError, match=r"std 1e\+30 is too large for a float16 batch"):
        batch(inst(std=[1e30, 1e30]), torch.zeros(2, 3, dtype=torch.float16))
    assert torch.isfinite(batch(inst(std=[1e30, 1e30]), torch.zeros(2, 3))).all()


def test_issue14_instance_noise_valid_range_inverted():
    inst = G("gan.InstanceNoise")
    assert "[1, 0]" in refused(lambda: inst(valid_range=[1, 0]), "valid_range")
    assert "[0.5, 0.5]" in refused(lambda: inst(valid_range=[0.5, 0.5]), "valid_range")
    assert "nan" in refused(lambda: inst(valid_range=[NAN, 1]), "valid_range")
    assert "[]" in refused(lambda: inst(valid_range=[]), "valid_range")
    doc = "seed: 1\nbatch:\n  - gan.InstanceNoise:\n      valid_range: [1, 0]\n"
    assert "[1, 0]" in yaml_problem(doc, "valid_range", 4)
    y = batch(inst(std=[5.0, 5.0], valid_range=[0, 1]), torch.full((4, 8), 0.5))
    assert float(y.min()) >= 0 and float(y.max()) <= 1


def test_issue14_instance_noise_epochs_huge():
    """A 5001-digit epoch count ran, but its dumped pipeline could not be read back."""
    inst = G("gan.InstanceNoise")
    assert "about 5001 digits" in refused(lambda: inst(epochs=10**5000), "epochs")
    assert "2.0" in refused(lambda: inst(epochs=2.0), "epochs")
    p = augnoise.Pipeline(batch=[inst(epochs=10**9)], seed=1)
    assert augnoise.loads(p.dumps()) == p


def test_issue14_instance_noise_nan_input():
    inst = G("gan.InstanceNoise")(std=[0.1, 0.1])
    x = torch.full((3, 4), 0.5)
    x[1, 2] = NAN
    x[2, 0] = INF
    with pytest.raises(InputError, match=r"^batch step 1 \(gan\.InstanceNoise\): the batch holds 2 NaN or inf"):
        batch(inst, x)
    with pytest.raises(InputError, match="holds 2 NaN or inf"):  # numpy batches too
        batch(inst, x.numpy())
    with pytest.raises(InputError, match="needs a float batch"):
        batch(inst, torch.ones(3, 4, dtype=torch.int64))
    with pytest.raises(ParamError, match="batch stage only"):  # there is no sample stage to check
        augnoise.Pipeline(sample=[inst], seed=1)
    assert torch.isfinite(batch(inst, torch.full((3, 4), 0.5))).all()


def _fgsm_ctx() -> dict[str, Any]:
    return G("adversarial.FGSM").examples[0].context()


def test_issue14_fgsm_mean_nan():
    fgsm = G("adversarial.FGSM")
    assert "nan" in refused(lambda: fgsm(mean=[NAN], std=[0.25]), "mean")
    assert "inf" in refused(lambda: fgsm(mean=[0.5], std=[INF]), "std")
    assert "[]" in refused(lambda: fgsm(mean=[], std=[]), "mean")
    assert "1e+31" in refused(lambda: fgsm(valid_range=[0, 1e31]), "valid_range")
    doc = "seed: 1\nbatch:\n  - adversarial.FGSM:\n      std: [0.25]\n      mean: [.nan]\n"
    assert "nan" in yaml_problem(doc, "mean", 5)
    # the same values reaching the kernel another way (evaluate's arguments): an InputError
    from augnoise.adversarial.evaluation import evaluate

    ctx = _fgsm_ctx()
    x = torch.full((6, 1, 4, 4), 0.5)
    with pytest.raises(InputError, match=r"must be finite, got \[0.0, 1.0\], \[nan\], \[1.0\]"):
        evaluate(ctx["model"], [(x, ctx["targets"])], mean=[NAN], std=[1.0])


def test_issue14_fgsm_std_tiny():
    fgsm = G("adversarial.FGSM")
    msg = refused(lambda: fgsm(mean=[0.5], std=[1e-300]), "std")
    assert "1e-12" in msg and "1e-300" in msg
    # allowed alone, but the normalised valid range would leave float32: refused with both values
    msg = refused(lambda: fgsm(mean=[0.5], std=[1e-12], valid_range=[0, 1e30]), "std")
    assert "1e+42" in msg and "1e-12" in msg
    step = fgsm(mean=[0.5], std=[1e-12], eps=0.01)  # the floor itself runs and stays finite
    ctx = _fgsm_ctx()
    y = batch(step, torch.linspace(0.2, 0.8, 96).reshape(6, 1, 4, 4), **ctx)
    assert torch.isfinite(y).all()
    with pytest.raises(InputError, match="does not fit a float16 batch"):  # 1 / 1e-12 is beyond float16
        batch(step, torch.full((6, 1, 4, 4), 0.5, dtype=torch.float16), **ctx)


def test_issue14_fgsm_channel_axis_huge():
    fgsm = G("adversarial.FGSM")
    assert "1000000000000000000000000000000" in refused(
        lambda: fgsm(mean=[0.5], std=[0.25], channel_axis=10**30), "channel_axis")
    assert "got 0" in refused(lambda: fgsm(mean=[0.5], std=[0.25], channel_axis=0), "channel_axis")
    assert "True" in refused(lambda: fgsm(channel_axis=True), "channel_axis")
    doc = "seed: 1\nbatch:\n  - adversarial.FGSM:\n      mean: [0.5]\n      std: [0.25]\n      channel_axis: 9\n"
    assert "9" in yaml_problem(doc, "channel_axis", 6)
    ctx = _fgsm_ctx()
    x = torch.full((6, 1, 4, 4), 0.5)
    with pytest.raises(InputError, match=r"channel_axis 5 is not a channel axis of a batch of 4 dims"):
        batch(fgsm(mean=[0.5], std=[0.25], channel_axis=5), x, **ctx)
    with pytest.raises(InputError, match=r"channel_axis -4 is not a channel axis"):  # -4 wraps to the batch axis
        batch(fgsm(mean=[0.5], std=[0.25], channel_axis=-4), x, **ctx)
    assert batch(fgsm(mean=[0.5], std=[0.25], channel_axis=-3), x, **ctx).shape == x.shape


# -- the sweep: every float field of every registered step refuses non-finite values -------------

def _numbers(prop: dict[str, Any]) -> list[tuple[str, Any]]:
    """Shapes in which a schema property takes floats: ("scalar", None) or ("list", n)."""
    alts = prop["anyOf"] if "anyOf" in prop else [prop]
    out = []
    for a in alts:
        if a.get("type") == "number":
            out.append(("scalar", None))
        elif a.get("type") == "array" and a.get("items", {}).get("type") == "number":
            out.append(("list", max(int(a.get("minItems", 1)), 1)))
    return out


def _base(name: str) -> dict[str, Any]:
    if name in COMPOSITES:
        return {}
    ex = REGISTRY[name].examples[0].params
    return dict(ex() if callable(ex) else ex)


def _sweep_cases() -> list[Any]:
    cases = []
    for name in transform_names() + sorted(COMPOSITES):
        cls = COMPOSITES.get(name) or REGISTRY[name]
        for field, prop in cls.Params.model_json_schema().get("properties", {}).items():
            for kind, n in _numbers(prop):
                for label, v in (("inf", INF), ("-inf", -INF), ("nan", NAN)):
                    value = v if kind == "scalar" else [v] * n
                    cases.append(pytest.param(name, field, value, id=f"{name}-{field}-{kind}-{label}"))
    return cases


SWEEP = _sweep_cases()


def test_the_sweep_covers_every_step():
    """Every registered transform and composite has a float field in the sweep (at least ``p``)."""
    swept = {c.values[0] for c in SWEEP}
    assert swept == set(transform_names()) | set(COMPOSITES)
    fields = {(c.values[0], c.values[1]) for c in SWEEP}
    for must in [("OneOf", "weights"), ("gan.InstanceNoise", "std"), ("gan.InstanceNoise", "valid_range"),
                 ("adversarial.FGSM", "mean"), ("adversarial.FGSM", "std"), ("adversarial.FGSMNoise", "alpha"),
                 ("audio.ColorNoise", "color")]:
        assert must in fields


def _yaml(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return ".nan" if math.isnan(v) else ".inf" if v == INF else "-.inf" if v == -INF else repr(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_yaml(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_yaml(x)}" for k, x in v.items()) + "}"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return "null" if v is None else str(v)


def _mark(v: Any) -> str:
    return "nan" if any(isinstance(x, float) and math.isnan(x) for x in (v if isinstance(v, list) else [v])) else "inf"


@pytest.mark.parametrize("name, field, value", SWEEP)
def test_non_finite_float_fields_are_refused(name, field, value):
    params = {**_base(name), field: value}
    if name in COMPOSITES:
        kids = [G("image.GaussianNoise")(), G("image.ShotNoise")()]
        msg = refused(lambda: COMPOSITES[name](kids, **params), field)
        params = {"transforms": [{"image.GaussianNoise": {}}, {"image.ShotNoise": {}}], **params}
        stage = "sample"
    else:
        cls = REGISTRY[name]
        msg = refused(lambda: cls(**params), field)
        stage = "batch" if cls.batch_only else "sample"
    assert _mark(value) in msg  # the offending value, in the message
    lines = [f"      {k}: {_yaml(v)}" for k, v in params.items()]
    doc = f"seed: 1\n{stage}:\n  - {name}:\n" + "\n".join(lines) + "\n"
    line = 4 + list(params).index(field)
    assert _mark(value) in yaml_problem(doc, field, line)
