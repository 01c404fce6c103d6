"""The catastrophic-overfitting monitor: it flags a model that masks its gradient (FGSM fails,
PGD succeeds), stays quiet on a healthy linear model, evaluates on its cadence, leaves the model
and the global RNG as found, is deterministic, honours the data domain, and plots its record."""
import warnings

import pytest
import torch

import augnoise
from augnoise.adversarial.monitor import CatastrophicOverfittingWarning, OverfitMonitor
from tests.adversarial.test_fgsm import _Denorm

torch.use_deterministic_algorithms(False)

Q, TAU, EPS, D = 8, 0.01, 0.1, 8  # grid 1/8, treads of half-width TAU/Q = 0.00125, eps 0.1, 8 features


class Staircase(torch.nn.Module):
    """A linear classifier on ``phi(x)``, a monotone staircase of the input: flat treads of
    half-width ``TAU / Q`` around the grid ``k / Q`` joined by ramps of slope ``0.5 / (0.5 - TAU)``.

    On the grid the input gradient is exactly zero (``clamp`` below its floor), so FGSM does not
    move grid points at all; PGD's random start lands on a ramp, where the gradient is honest,
    and walks to the edge of the eps-ball. ``masked = False`` makes ``phi`` the identity (a plain
    linear model, where FGSM is the optimal L-inf attack)."""

    def __init__(self, dropout: float = 0.0):
        super().__init__()
        self.masked = True
        self.drop = torch.nn.Dropout(dropout)
        self.fc = torch.nn.Linear(D, 2)
        with torch.no_grad():
            self.fc.weight.copy_(torch.stack([-torch.ones(D), torch.ones(D)]) * 5)  # logit gap 10 * sum(phi - 0.5)
            self.fc.bias.zero_()

    def forward(self, x):
        z = x.flatten(1) - 0.5
        if self.masked:
            u = z * Q
            k = torch.floor(u + 0.5)
            r = u - k
            z = (k + 0.5 * torch.sign(r) * torch.clamp((r.abs() - TAU) / (0.5 - TAU), 0, 1)) / Q
        return self.fc(self.drop(z))


def grid_batch():
    """16 points on the grid: 0.5 everywhere but one feature at 0.5 +- 1/8; the class is the sign.

    The clean margin is one grid step (sum(phi - 0.5) = +-0.125). An eps step of 0.1 moves one
    feature's phi by 0.1008 (ramp), so PGD needs two of the eight features to reach the ball's
    edge. A feature fails only if the random start falls in its tread (probability
    TAU/(Q eps) = 0.0125) or a PGD step (0.025) lands in it on the way (width 0.0025 / 0.025 =
    0.1 of the crossings, about half the starts): p <= 0.0625. P(fewer than two of eight
    succeed) <= 8 p^7 + p^8 < 3e-8 per point, < 5e-7 for the batch: PGD accuracy is 0 for
    all but a vanishing fraction of keys (and fixed for the fixed key used here)."""
    xs, ys = [], []
    for j in range(D):
        for cls, v in ((1, 0.625), (0, 0.375)):
            x = torch.full((D,), 0.5)
            x[j] = v
            xs.append(x)
            ys.append(cls)
    return torch.stack(xs), torch.tensor(ys)


def monitor(model, x=None, y=None, **kw):
    if x is None:
        x, y = grid_batch()
    return OverfitMonitor(model, x, y, EPS, **{"every": 1, "pgd_steps": 10, **kw})


def test_flags_a_gradient_masking_model():
    model = Staircase()
    m = monitor(model)
    with pytest.warns(CatastrophicOverfittingWarning, match=r"^step 0: FGSM accuracy 1.000 but PGD accuracy 0.000 .*gap 1.000 > 0.2\): catastrophic overfitting; "):
        rec = m.step(0)
    assert rec == {"step": 0, "clean": 1.0, "fgsm": 1.0, "pgd": 0.0, "gap": 1.0} and m.history == [rec] and m.overfit
    # the masking is exact: the input gradient at the clean points is zero, so FGSM cannot move them
    x, y = grid_batch()
    xs = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(torch.nn.functional.cross_entropy(model(xs), y), xs)
    assert torch.equal(g, torch.zeros_like(g))


def test_healthy_linear_model_on_separable_data_does_not_warn():
    """Two Gaussian blobs in [0, 1]^8, a linear model: for a two-class linear model the FGSM point
    x + eps sign(grad) is the worst case in the eps-ball, and PGD (projected, 2.5 eps of travel)
    ends at the same corner, so the gap is exactly zero while FGSM still costs accuracy."""
    g = torch.Generator().manual_seed(5)
    y = torch.arange(64) % 2
    x = (0.5 + (2 * y[:, None] - 1) * 0.1 + 0.04 * torch.randn(64, D, generator=g)).clamp(0, 1)
    model = Staircase()
    model.masked = False
    m = monitor(model, x, y, every=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CatastrophicOverfittingWarning)
        recs = [m.step(s) for s in range(11)]
    assert [r["step"] for r in m.history] == [0, 5, 10] and recs[1] is None
    r = m.history[0]
    assert r["clean"] == 1.0 and 0 < r["fgsm"] < 1 and r["pgd"] == r["fgsm"] and r["gap"] == 0.0 and not m.overfit


def test_warns_once_then_again_only_after_recovery():
    model = Staircase()
    m = monitor(model, every=3, gap=0.5)
    masked_from = {0: False, 3: True, 6: True, 9: False, 12: True}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for step in range(14):
            if step in masked_from:
                model.masked = masked_from[step]
            m.step(step)
    flagged = [str(w.message).split(":")[0] for w in caught if w.category is CatastrophicOverfittingWarning]
    assert flagged == ["step 3", "step 12"] and all(w.filename == __file__ for w in caught)
    assert [(r["step"], r["gap"]) for r in m.history] == [(0, 0.0), (3, 1.0), (6, 1.0), (9, 0.0), (12, 1.0)]
    assert all(r["clean"] == 1.0 for r in m.history)
    assert [r["fgsm"] for r in m.history] == [0.0, 1.0, 1.0, 0.0, 1.0]  # the plain linear model loses every point
    assert m.step(12) is None and len(m.history) == 5  # a step evaluates once
    assert m.check(13)["step"] == 13  # check() ignores the cadence


class PartlyMasked(Staircase):
    """The staircase on the rows whose marker (a ninth feature, unused by the classifier) lies
    below ``level``, the identity elsewhere. FGSM cannot move the marker (its gradient is zero),
    so it fails exactly on the masked rows; PGD beats every row (masked: as in grid_batch;
    unmasked: linear, one eps step flips it), so the gap is the masked fraction, exactly."""

    level = 1.0

    def forward(self, x):
        z, marker = x[:, :D] - 0.5, x[:, D]
        u = z * Q
        k = torch.floor(u + 0.5)
        r = u - k
        stairs = (k + 0.5 * torch.sign(r) * torch.clamp((r.abs() - TAU) / (0.5 - TAU), 0, 1)) / Q
        return self.fc(torch.where((marker < self.level)[:, None], stairs, z))


def test_a_gap_wavering_near_the_threshold_warns_once():
    x, y = grid_batch()
    x = torch.cat([x, ((torch.arange(16) + 0.5) / 16)[:, None]], 1)  # markers 1/32, 3/32, ...
    model = PartlyMasked()
    m = monitor(model, x, y, gap=0.5)
    assert m.recover == 0.25  # gap / 2 by default
    levels = {0: 10 / 16, 1: 7 / 16, 2: 10 / 16, 3: 3 / 16, 4: 10 / 16}  # masked fractions 10/16, 7/16, ...
    alarms = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for step, level in levels.items():
            model.level = level
            m.step(step)
            alarms.append(m.overfit)
    assert [r["gap"] for r in m.history] == [10 / 16, 7 / 16, 10 / 16, 3 / 16, 10 / 16]
    assert all(r["pgd"] == 0.0 and r["clean"] == 1.0 for r in m.history)
    assert alarms == [True, True, True, False, True]  # 7/16 is below the threshold but not recovered
    assert [str(w.message).split(":")[0] for w in caught] == ["step 0", "step 4"]
    with pytest.raises(augnoise.ParamError, match=r"^OverfitMonitor: recover: must be a number in \[0, 0.5\], got 0.6$"):
        monitor(model, x, y, gap=0.5, recover=0.6)


def test_in_a_training_loop_the_model_is_left_as_found():
    """Train mode with dropout, gradients from the last backward, a frozen bias, and the global
    RNG: all as they were after each evaluation; the training itself goes on undisturbed."""
    model = Staircase(dropout=0.5)
    model.fc.bias.requires_grad_(False)
    x, y = grid_batch()
    m = monitor(model, every=2)
    opt = torch.optim.SGD([model.fc.weight], lr=0.01)
    g = torch.Generator().manual_seed(0)
    torch.manual_seed(123)
    for step in range(5):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x + 0.01 * torch.randn(x.shape, generator=g)), y).backward()
        grad, weight, rng = model.fc.weight.grad.clone(), model.fc.weight.detach().clone(), torch.get_rng_state()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CatastrophicOverfittingWarning)
            m.step(step)
        assert model.training and model.fc.weight.requires_grad and not model.fc.bias.requires_grad
        assert torch.equal(model.fc.weight.grad, grad) and model.fc.bias.grad is None
        assert torch.equal(model.fc.weight.detach(), weight) and torch.equal(torch.get_rng_state(), rng)
        opt.step()
    assert [r["step"] for r in m.history] == [0, 2, 4]
    assert all(r["fgsm"] == 1.0 for r in m.history)  # evaluated in eval mode: dropout off, the treads still flat


def test_deterministic_and_independent_of_the_global_rng():
    """A weak PGD (one step of 0.01 from the random start) succeeds on some points only, so its
    figure depends on the start: keyed by the monitor's seed, never by the global RNG."""
    runs = []
    for global_seed in (0, 1):
        torch.manual_seed(global_seed)
        m = monitor(Staircase(), pgd_steps=1, alpha=0.01, gap=1.0)
        for s in range(3):
            m.step(s)
        runs.append(m.history)
    assert runs[0] == runs[1] and len({r["pgd"] for r in runs[0]}) == 1 and 0 < runs[0][0]["pgd"] < 1
    other = monitor(Staircase(), pgd_steps=1, alpha=0.01, gap=1.0, seed=1).check(0)
    assert other["fgsm"] == runs[0][0]["fgsm"] == 1.0 and other["pgd"] != runs[0][0]["pgd"]  # another key, another start


def test_normalised_batch_reports_the_data_figures():
    """A normalised held-out batch with its mean/std, or a pipeline declaring them, gives the
    figures of the raw data; an undeclared normalised batch is refused when the monitor is made."""
    mean, std = 0.5, 0.25
    x, y = grid_batch()
    want = monitor(Staircase(), x, y, gap=1.0).check(0)
    model = _Denorm(Staircase(), mean, std)
    got = monitor(model, (x - mean) / std, y, mean=[mean], std=[std], gap=1.0).check(0)
    declared = augnoise.Pipeline(batch=[], seed=0, fields={"image": {"normalize": {"mean": mean, "std": std}}})
    assert monitor(model, (x - mean) / std, y, pipeline=declared, gap=1.0).check(0) == got == want
    with pytest.raises(augnoise.InputError, match=r"^OverfitMonitor: the held-out batch: the batch lies outside its domain: "
                                                  r"\[-0.5, 0.5\] on the \[0, 1\] scale"):
        monitor(model, (x - mean) / std, y)


@pytest.mark.parametrize("context, advice", [
    (torch.no_grad, r"runs with gradients disabled \(torch.no_grad\(\) or torch.set_grad_enabled\(False\)\); call step\(\) "
                    r"outside that block or inside `with torch.enable_grad\(\):`$"),
    (torch.inference_mode, r"runs under torch.inference_mode\(\), which torch.enable_grad\(\) does not lift; call step\(\) "
                           r"outside the torch.inference_mode\(\) block"),
], ids=["no_grad", "inference_mode"])
def test_gradients_disabled_is_one_clear_error(context, advice):
    m = monitor(Staircase())
    with context(), pytest.raises(augnoise.InputError, match=r"^OverfitMonitor: FGSM and PGD need input gradients, but the monitor " + advice):
        m.step(0)
    assert m.history == []
    with torch.no_grad(), torch.enable_grad(), pytest.warns(CatastrophicOverfittingWarning):
        assert m.step(0)["gap"] == 1.0


def test_misuse_errors():
    model = Staircase()
    x, y = grid_batch()
    cases = [
        (dict(every=0), augnoise.ParamError, r"^OverfitMonitor: every: must be an integer >= 1, got 0$"),
        (dict(gap=1.5), augnoise.ParamError, r"^OverfitMonitor: gap: must be a number in \[0, 1\], got 1.5$"),
        (dict(pgd_steps=2.5), augnoise.ParamError, r"^OverfitMonitor: pgd_steps: must be an integer >= 1, got 2.5$"),
        (dict(y=y[:3]), augnoise.InputError, r"^OverfitMonitor: y must be an integer class tensor of shape \(16,\), got a torch.int64 tensor of shape \(3,\)$"),
        (dict(x=x.long()), augnoise.InputError, r"^OverfitMonitor: x must be a non-empty float tensor batch"),
        (dict(mean=[0.5]), augnoise.InputError, r"^OverfitMonitor: give mean and std together$"),
    ]
    for kw, err, msg in cases:
        args = {"x": x, "y": y, **kw}
        with pytest.raises(err, match=msg):
            OverfitMonitor(model, args.pop("x"), args.pop("y"), EPS, **args)
    with pytest.raises(augnoise.InputError, match=r"^OverfitMonitor.figure: nothing recorded yet; call step\(\)"):
        monitor(model).figure("never.png")
    with pytest.raises(augnoise.ParamError, match=r"^OverfitMonitor: step: must be an integer >= 0, got -1$"):
        monitor(model).step(-1)


def test_figure_writes_a_png(tmp_path):
    model = Staircase()
    m = monitor(model, every=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CatastrophicOverfittingWarning)
        for step in range(9):
            model.masked = step >= 4
            m.step(step)
    out = m.figure(tmp_path / "co.png")
    assert out == tmp_path / "co.png" and out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    import matplotlib.image

    img = matplotlib.image.imread(out)
    assert img.shape[0] > 100 and img.shape[1] > 100 and img[..., :3].std() > 0.01  # a drawn picture, not a blank


def test_import_is_light():
    import subprocess
    import sys

    code = ("import sys, augnoise.adversarial, augnoise.adversarial.monitor; "
            "print('lightning' in sys.modules or 'pytorch_lightning' in sys.modules, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
