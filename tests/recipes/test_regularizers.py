"""Noise beyond the input: weight noise (exact restore, the seed's derivation), hidden-unit
noise, label smoothing and flips, instance noise."""
import numpy as np
import pytest
import torch

import augnoise
from augnoise.recipes.regularizers import GaussianNoise, WeightNoise

Z = 5.0


def mlp(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))


def test_weight_noise_restores_exactly_and_is_fresh_each_forward():
    net = mlp()
    before = {k: v.detach().clone() for k, v in net.state_dict().items()}
    objects = [id(p) for p in net.parameters()]
    x = torch.randn(8, 4)
    opt = torch.optim.SGD(net.parameters(), lr=0.0)
    outs = set()
    for step in range(10_000):  # no drift however many steps
        with WeightNoise(net, std=0.05, seed=step % 7):
            opt.zero_grad()
            out = net(x)
            out.sum().backward()
            opt.step()
        if step < 7:
            outs.add(out.detach().numpy().tobytes())
    after = net.state_dict()
    assert list(after) == list(before) and all(torch.equal(after[k], before[k]) for k in before)
    assert [id(p) for p in net.parameters()] == objects  # an optimizer's references stay valid
    assert len(outs) == 7  # different noise for different draws
    attached = WeightNoise(net, variance=0.01).attach()
    net.train()
    a, b = net(x), net(x)
    assert not torch.equal(a, b)  # fresh noise per forward
    net.eval()
    assert torch.equal(net(x), net(x))  # inactive in eval mode
    attached.detach()
    assert all(torch.equal(net.state_dict()[k], before[k]) for k in before)


def test_weight_noise_gradients_reach_the_original_parameters():
    net = mlp()
    with WeightNoise(net, std=0.01, params=["2.weight"]):
        net(torch.randn(3, 4)).sum().backward()
    assert net[2].weight.grad is not None and net[0].weight.grad is not None
    with pytest.raises(ValueError, match="no parameter named 'nope'"):
        WeightNoise(net, std=0.1, params=["nope"])
    with pytest.raises(ValueError, match="exactly one of std or variance"):
        WeightNoise(net, std=0.1, variance=0.1)


def test_weight_noise_matches_the_seed_derivation():
    """E[L(W + e)] = L(W) + (eta / 2) E_x ||grad_W f(x)||^2 + O(eta^2) for L = 1/2 (f - y)^2.
    Targets are the clean predictions, so L(W) = 0 and the Hessian term (f - y) tr H vanishes."""
    net = mlp(1)
    x = torch.randn(16, 4, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        y = net(x)
    eta = 1e-4
    grads = []
    for i in range(len(x)):
        net.zero_grad()
        net(x[i : i + 1]).sum().backward()
        grads.append(sum((p.grad ** 2).sum() for p in net.parameters()).item())
    predicted = eta / 2 * float(np.mean(grads))
    losses = []
    with WeightNoise(net, variance=eta, params=lambda n, p: True, seed=11):
        net.train()
        with torch.no_grad():
            for _ in range(4000):
                losses.append((0.5 * (net(x) - y) ** 2).mean().item())
    mc, se = float(np.mean(losses)), float(np.std(losses) / np.sqrt(len(losses)))
    assert abs(mc - predicted) < Z * se, (mc, predicted, se)
    assert se < 0.05 * predicted  # the check is sharp: the standard error is 5% of the effect or less


def test_hidden_unit_noise():
    layer = GaussianNoise(0.3, seed=1)
    x = torch.ones(100_000)
    y = layer(x)
    assert abs((y - x).std().item() - 0.3) < Z * 0.3 / np.sqrt(2 * x.numel())
    m = GaussianNoise(0.3, mode="multiplicative")(torch.full((100_000,), 2.0))
    assert abs(m.std().item() - 0.6) < Z * 0.6 / np.sqrt(2e5) and abs(m.mean().item() - 2.0) < Z * 0.6 / np.sqrt(1e5)
    layer.eval()
    assert torch.equal(layer(x), x)
    rng = torch.get_rng_state()
    GaussianNoise(0.1).train()(x)
    assert torch.equal(torch.get_rng_state(), rng)  # own generator, global one untouched


def test_label_smoothing_and_flip_in_both_stages():
    smooth = augnoise.get_transform("labels.LabelSmoothing")(classes=5, eps=0.2)
    out = augnoise.Pipeline(sample=[smooth], seed=0)({"label": 3}, index=0)["label"]
    assert np.allclose(out, [0.05, 0.05, 0.05, 0.8, 0.05]) and abs(out.sum() - 1) < 1e-6
    p = augnoise.loads("seed: 2\nsample: []\nbatch:\n  - labels.LabelFlip: {classes: 4, rate: 0.25}\n")
    y = torch.arange(40000) % 4
    z = p.apply_batch({"label": y}, range(len(y)))["label"]
    flipped = z != y
    assert abs(flipped.float().mean().item() - 0.25) < Z * np.sqrt(0.25 * 0.75 / len(y))
    moved = (z[flipped] - y[flipped]) % 4
    counts = torch.bincount(moved, minlength=4)[1:].numpy()  # uniform over the other 3 classes
    assert all(abs(c - flipped.sum().item() / 3) < Z * np.sqrt(flipped.sum().item() / 3) for c in counts)
    sample_flip = augnoise.Pipeline(sample=[augnoise.get_transform("labels.LabelFlip")(classes=4, rate=0.25)], seed=3)
    rate = np.mean([sample_flip({"label": 1}, index=i)["label"] != 1 for i in range(4000)])
    assert abs(rate - 0.25) < Z * np.sqrt(0.25 * 0.75 / 4000)
    with pytest.raises(augnoise.InputError, match=r"label 7 is outside \[0, 5\)"):
        augnoise.Pipeline(sample=[smooth], seed=0)({"label": 7}, index=0)


def test_instance_noise_schedule():
    p = augnoise.loads("seed: 1\nsample: []\nbatch:\n  - gan.InstanceNoise: {std: [0.2, 0.05], epochs: 10, schedule: cosine}\n")
    step = p.batch[0]
    assert step.std_at(0) == 0.2 and abs(step.std_at(5) - 0.125) < 1e-12 and step.std_at(10) == step.std_at(50) == 0.05
    assert step.std_at(2) > step.std_at(3) > step.std_at(4)
    x = torch.zeros(64, 3, 16, 16)
    for epoch in (0, 5, 10):
        y = p.apply_batch(x, range(64), epoch=epoch)
        want = step.std_at(epoch)
        assert abs(y.std().item() - want) < Z * want / np.sqrt(2 * y.numel())
    with pytest.raises(augnoise.ConfigError, match=r"needs the epoch: it runs in the batch stage only"):
        augnoise.loads("seed: 1\nsample:\n  - gan.InstanceNoise: {}\n")
