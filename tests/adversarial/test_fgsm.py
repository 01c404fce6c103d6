"""FGSM-plus-noise in the batch stage: bounds, clipping, model invariants, targeted mode,
determinism, the loss goes up, misuse errors, evaluation."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import augnoise
from augnoise.adversarial import evaluate

torch.use_deterministic_algorithms(False)


class Net(torch.nn.Module):
    """A small CNN with BatchNorm and dropout (the state the attack must not disturb)."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 8, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(8)
        self.drop = torch.nn.Dropout(0.2)
        self.fc = torch.nn.Linear(8 * 8 * 8, 10)

    def forward(self, x):
        return self.fc(self.drop(F.relu(self.bn(self.conv(x)))).flatten(1))


@pytest.fixture(scope="module")
def trained():
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.tensor(d.images / 16.0, dtype=torch.float32)[:, None]
    y = torch.tensor(d.target)
    g = torch.Generator().manual_seed(0)
    net = Net()
    for p in net.parameters():  # deterministic init without the global RNG
        with torch.no_grad():
            p.copy_(torch.randn(p.shape, generator=g) * 0.1)
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    for epoch in range(4):
        perm = torch.randperm(len(x), generator=g)
        for i in range(0, len(x), 64):
            idx = perm[i : i + 64]
            opt.zero_grad()
            F.cross_entropy(net(x[idx]), y[idx]).backward()
            opt.step()
    return net, x[:256], y[:256]


def pipe(step):
    return augnoise.loads(f"seed: 3\nsample: []\nbatch:\n  - {step}\n")


VARIANTS = ["adversarial.FGSM: {eps: 0.1}",
            "adversarial.FGSMNoise: {eps: 0.1, variant: seed, noise_std: 0.02}",
            "adversarial.FGSMNoise: {eps: 0.1, variant: rfgsm}",
            "adversarial.FGSMNoise: {eps: 0.1, variant: fgsm_rs}",
            "adversarial.FGSMNoise: {eps: 0.1, variant: nfgsm}"]


@pytest.mark.parametrize("step", VARIANTS)
def test_bounds_clipping_and_loss_goes_up(trained, step):
    net, x, y = trained
    net.eval()
    adv = pipe(step).apply_batch(x, range(len(x)), model=net, targets=y)
    d = (adv - x).abs()
    bound = {"nfgsm": 3 * 0.1}.get(step.split("variant: ")[-1].split(",")[0].strip("} "), 0.1)
    if "noise_std" not in step:
        assert d.max() <= bound + 1e-6
    assert adv.min() >= 0 and adv.max() <= 1 and not adv.requires_grad
    with torch.no_grad():
        assert F.cross_entropy(net(adv), y) > F.cross_entropy(net(x), y) + 0.1


def test_model_is_left_exactly_as_found(trained):
    net, x, y = trained
    net.train()
    for prm in net.parameters():
        prm.grad = torch.full_like(prm, 0.5)
    grads = [prm.grad.clone() for prm in net.parameters()]
    buffers = {k: v.clone() for k, v in net.named_buffers()}
    params = [prm.detach().clone() for prm in net.parameters()]
    rng = torch.get_rng_state()
    pipe(VARIANTS[3]).apply_batch(x, range(len(x)), model=net, targets=y)
    assert net.training
    assert all(torch.equal(p.grad, g) for p, g in zip(net.parameters(), grads))
    assert all(torch.equal(v, buffers[k]) for k, v in net.named_buffers())
    assert all(torch.equal(p, q) for p, q in zip(net.parameters(), params))
    assert torch.equal(torch.get_rng_state(), rng)  # dropout drew from a forked RNG
    net.eval()
    pipe(VARIANTS[0]).apply_batch(x, range(len(x)), model=net, targets=y)
    assert not net.training


def test_targeted_mode_moves_towards_the_target(trained):
    net, x, y = trained
    net.eval()
    target = (y + 1) % 10
    adv = pipe("adversarial.FGSM: {eps: 0.15, targeted: true}").apply_batch(x, range(len(x)), model=net, targets=target)
    with torch.no_grad():
        assert F.cross_entropy(net(adv), target) < F.cross_entropy(net(x), target)
        assert (net(adv).argmax(1) == target).float().mean() > (net(x).argmax(1) == target).float().mean()


def test_deterministic_with_fixed_keys_and_fraction_p(trained):
    net, x, y = trained
    net.eval()
    p = pipe("adversarial.FGSMNoise: {eps: 0.1, variant: fgsm_rs, noise_std: 0.01, p: 0.5}")
    a = p.apply_batch(x, range(len(x)), model=net, targets=y, epoch=2)
    b = p.apply_batch(x, range(len(x)), model=net, targets=y, epoch=2)
    assert torch.equal(a, b)
    changed = (a != x).flatten(1).any(1).float()
    assert abs(changed.mean().item() - 0.5) < 5 * np.sqrt(0.25 / len(x))  # a fraction p of the batch
    assert not torch.equal(a, p.apply_batch(x, range(len(x)), model=net, targets=y, epoch=3))


def test_normalised_batches_keep_eps_in_data_units(trained):
    net, x, y = trained
    net.eval()
    mean, std = 0.3, 0.4
    xn = (x - mean) / std
    model = torch.nn.Sequential(torch.nn.Identity())
    model.add_module("net", _Denorm(net, mean, std))
    adv = pipe(f"adversarial.FGSM: {{eps: 0.1, mean: [{mean}], std: [{std}]}}").apply_batch(xn, range(len(x)), model=model, targets=y)
    back = adv * std + mean
    assert (back - x).abs().max() <= 0.1 + 1e-5 and back.min() >= -1e-6 and back.max() <= 1 + 1e-6


class _Denorm(torch.nn.Module):
    def __init__(self, net, mean, std):
        super().__init__()
        self.net, self.mean, self.std = net, mean, std

    def forward(self, z):
        return self.net(z * self.std + self.mean)


def test_misuse_errors(trained):
    net, x, y = trained
    with pytest.raises(augnoise.InputError, match=r"batch step 1 \(adversarial.FGSM\): needs the model and the targets"):
        pipe("adversarial.FGSM: {}").apply_batch(x, range(len(x)))
    with pytest.raises(augnoise.InputError, match=r"need a float batch"):
        pipe("adversarial.FGSM: {}").apply_batch(x.to(torch.uint8), range(len(x)), model=net, targets=y)
    with pytest.raises(augnoise.ConfigError, match=r"step 1 \(adversarial.FGSM\): needs the model: it runs in the batch stage only"):
        augnoise.loads("seed: 1\nsample:\n  - adversarial.FGSM: {}\n")
    with pytest.raises(augnoise.ParamError, match=r"valid_range: must be \[lo, hi\] with lo < hi"):
        augnoise.get_transform("adversarial.FGSM")(valid_range=[1, 0])


def test_evaluate_reports_and_leaves_model(trained):
    net, x, y = trained
    net.train()
    loader = [(x[i : i + 64], y[i : i + 64]) for i in range(0, len(x), 64)]
    r = evaluate(net, loader, eps=0.1, pgd_steps=5, noise_levels=(0.1, 0.3))
    assert net.training and r["n"] == len(x)
    assert r["clean"] > 0.8 and r["pgd"] <= r["fgsm"] + 1e-9 and r["fgsm"] < r["clean"]
    assert r["noise_0.3"] <= r["noise_0.1"] + 0.05 and abs(r["co_gap"] - (r["fgsm"] - r["pgd"])) < 1e-12
    assert evaluate(net, loader, eps=0.1, pgd_steps=5, noise_levels=(0.1, 0.3)) == r  # deterministic


def test_evaluate_on_normalised_batches_reports_the_raw_data_figures(trained):
    """A normalised loader with its mean/std (or a pipeline declaring them) gives the figures of
    the raw [0, 1] data: eps, PGD and noise in data units, clipped at the data's domain."""
    net, x, y = trained
    mean, std = 0.3, 0.4
    raw = [(x[i : i + 64], y[i : i + 64]) for i in range(0, len(x), 64)]
    normed = [((a - mean) / std, b) for a, b in raw]
    model = _Denorm(net, mean, std)
    want = evaluate(net, raw, eps=0.1, pgd_steps=5, noise_levels=(0.1, 0.3))
    got = evaluate(model, normed, eps=0.1, pgd_steps=5, noise_levels=(0.1, 0.3), mean=[mean], std=[std])
    declared = augnoise.Pipeline(batch=[], seed=0, fields={"image": {"normalize": {"mean": mean, "std": std}}})
    assert evaluate(model, normed, eps=0.1, pgd_steps=5, noise_levels=(0.1, 0.3), pipeline=declared) == got
    for k in want:  # the same keyed draws: equal up to float rounding at a decision boundary
        assert abs(got[k] - want[k]) <= 2 / len(x), k
    assert want["pgd"] < want["fgsm"] < want["clean"]
    with pytest.raises(augnoise.InputError, match=r"^evaluate: batch 0: the batch lies outside its domain: \[-0.75, 1.75\] on the \[0, 1\] scale"):
        evaluate(model, normed, eps=0.1, pgd_steps=5)  # undeclared: [0, 1] assumed, and refused


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
def test_preview_with_a_torchscript_model(tmp_path, trained):
    import subprocess
    import sys

    import cv2

    from tests.conftest import ROOT

    net, x, y = trained
    net.eval()
    torch.jit.script(net).save(str(tmp_path / "m.pt"))
    cv2.imwrite(str(tmp_path / "d.png"), (x[3, 0].numpy() * 255).round().astype(np.uint8))
    cmd = [sys.executable, "-m", "augnoise.cli.main", "preview", "pipelines/adversarial_digits.yaml", str(tmp_path / "d.png"),
           "-n", "3", "-o", str(tmp_path / "o")]
    out = subprocess.run(cmd + ["--model", str(tmp_path / "m.pt"), "--label", str(int(y[3]))], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "o" / "d_preview.png").exists()
    missing = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    assert missing.returncode == 1 and "give --model (TorchScript) and --label" in missing.stderr
    (tmp_path / "bad.pt").write_bytes(b"not a model")
    bad = subprocess.run(cmd + ["--model", str(tmp_path / "bad.pt"), "--label", "1"], capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 1 and "not a loadable TorchScript model" in bad.stderr and "Traceback" not in bad.stderr


def test_loader_with_model_makes_a_fraction_adversarial(trained):
    from augnoise.torch import make_loader

    net, x, y = trained
    net.eval()

    class Ds:
        def __len__(self):
            return 64

        def __getitem__(self, i):
            return x[i], y[i]

    p = augnoise.load("pipelines/adversarial_digits.yaml")
    (xb, yb), = [b for b in make_loader(Ds(), p, batch_size=64, model=net, targets=1)]
    changed = (xb != x[:64]).flatten(1).any(1).float().mean().item()
    assert abs(changed - 0.5) < 5 * np.sqrt(0.25 / 64) and torch.equal(yb, y[:64])


@pytest.mark.parametrize("shape", [(64, 12), (64, 2, 50)], ids=["tabular (B, F)", "audio (B, C, N)"])
def test_any_modality_tensor(shape):
    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(int(np.prod(shape[1:])), 3))
    x = torch.rand(shape) * 2 - 1
    y = torch.randint(0, 3, (shape[0],))
    p = augnoise.loads("seed: 1\nsample: []\nbatch:\n  - adversarial.FGSMNoise: {eps: 0.05, variant: rfgsm, valid_range: [-1, 1]}\n")
    adv = \
        p.apply_batch({"image": x}, range(shape[0]), model=model, targets=y)["image"]
    assert adv.shape == x.shape and (adv - x).abs().max() <= 0.05 + 1e-6 and adv.abs().max() <= 1
    with torch.no_grad():
        assert F.cross_entropy(model(adv), y) > F.cross_entropy(model(x), y)


def test_field_can_be_features():
    model = torch.nn.Linear(5, 2)
    x, y = torch.rand(8, 5), torch.randint(0, 2, (8,))
    p = augnoise.loads("seed: 1\nsample: []\nbatch:\n  - adversarial.FGSM: {eps: 0.1, field: features}\n")
    out = p.apply_batch({"features": x, "label": y}, range(8), model=model, targets=y)
    assert (out["features"] - x).abs().max() <= 0.1 + 1e-6 and torch.equal(out["label"], y)


def test_evaluate_reads_a_declared_range_also_next_to_explicit_mean_std(trained):
    """The pipeline's declared range is read on its own (data in [-1, 1]) and also when mean/std
    come as arguments: every route to the same domain gives the same figures."""
    net, x, y = trained
    signed = [(x[i : i + 64] * 2 - 1, y[i : i + 64]) for i in range(0, len(x), 64)]
    model = _Denorm(net, 0.5, 0.5)  # the net sees (z + 1) / 2, its [0, 1] data
    want = evaluate(model, signed, eps=0.1, pgd_steps=5, noise_levels=(0.1,), valid_range=(-1, 1))
    ranged = augnoise.Pipeline(batch=[], seed=0, fields={"image": {"range": [-1, 1]}})
    assert evaluate(model, signed, eps=0.1, pgd_steps=5, noise_levels=(0.1,), pipeline=ranged) == want
    assert want["clean"] > 0.8 and want["pgd"] <= want["fgsm"] < want["clean"]
    normed = [(z / 0.5, t) for z, t in signed]  # (z - 0) / 0.5 of data z in [-1, 1]
    model2 = _Denorm(model, 0.0, 0.5)
    got = evaluate(model2, normed, eps=0.1, pgd_steps=5, noise_levels=(0.1,), mean=[0.0], std=[0.5], pipeline=ranged)
    assert got == evaluate(model2, normed, eps=0.1, pgd_steps=5, noise_levels=(0.1,), mean=[0.0], std=[0.5], valid_range=(-1, 1))
    both = augnoise.Pipeline(batch=[], seed=0, fields={"image": {"range": [-1, 1], "normalize": {"mean": 0.0, "std": 0.5}}})
    assert evaluate(model2, normed, eps=0.1, pgd_steps=5, noise_levels=(0.1,), pipeline=both) == got
    for k in want:  # the same keyed draws, up to float rounding at a decision boundary
        assert abs(got[k] - want[k]) <= 2 / len(x), k
    with pytest.raises(augnoise.InputError, match=r"^evaluate: batch 0: the batch lies outside its domain: \[-1, 1\] on the \[0, 1\] scale"):
        evaluate(model, signed, eps=0.1, pgd_steps=5)  # undeclared: [0, 1] assumed, and refused
