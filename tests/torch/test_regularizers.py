"""Noise inside the network: hidden-unit noise (GaussianNoise) and weight noise (WeightNoise).

Streams are counter-based (site, step, rank): distinct by default, reproducible through
seed_noise, resumable from checkpoints, compiled like eager; weight noise keeps the stored
parameters, its checkpoints plain, one draw per forward, and the seed document's derivation.
Statistical bounds are Z standard errors computed from the sample sizes.
"""
import collections
import io

import numpy as np
import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence

from augnoise.torch import streams
from augnoise.torch.regularizers import GaussianNoise, WeightNoise, seed_noise

Z = 5.0


def init(net, seed):
    """Deterministic parameters from a local generator (the global RNG is not reseeded)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)
    return net


def mlp(seed=0, noise=None):
    mid = [noise] if noise is not None else []
    return init(torch.nn.Sequential(torch.nn.Linear(4, 16), *mid, torch.nn.Tanh(), torch.nn.Linear(16, 1)), seed)


def two_noise_net(seed=0):
    return init(torch.nn.Sequential(torch.nn.Linear(4, 16), GaussianNoise(0.2), torch.nn.Tanh(),
                                    torch.nn.Linear(16, 16), GaussianNoise(0.2, mode="multiplicative"),
                                    torch.nn.Linear(16, 1)), seed)


X = torch.randn(8, 4, generator=torch.Generator().manual_seed(7))


def corr(a, b):
    a, b = a.flatten().double(), b.flatten().double()
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / (a.norm() * b.norm()))


# -- streams: distinct by default, reproducible by seed_noise, rank-aware ---------------------

def test_default_seeds_give_distinct_streams_for_layers_models_and_weight_noise():
    a, b = GaussianNoise(1.0), GaussianNoise(1.0)
    assert a.seed != b.seed  # fresh seeds from OS entropy, recorded on the layer
    x = torch.zeros(20_000)
    na, nb = a(x), b(x)
    assert abs(corr(na, nb)) < Z / np.sqrt(x.numel())  # independent, not merely different
    m1, m2 = two_noise_net(), two_noise_net()  # two default-seeded models, same weights
    assert not torch.equal(m1(X), m2(X))
    for i in (1, 4):  # and every layer inside them differs
        assert not torch.equal(m1[i](torch.ones(1000)), m2[i](torch.ones(1000)))
    w1, w2 = mlp(), mlp()
    with WeightNoise(w1, std=0.1) as n1, WeightNoise(w2, std=0.1) as n2:
        assert n1.seed != n2.seed and not torch.equal(w1(X), w2(X))


def test_seed_noise_reproduces_the_noise_and_separates_layers_and_seeds():
    runs = []
    for seed in (5, 5, 6):
        net = seed_noise(two_noise_net(), seed)
        assert (net[1].seed, net[1].site, net[4].site) == (seed, "1", "4")
        runs.append(torch.stack([net(X) for _ in range(3)]))
    assert torch.equal(runs[0], runs[1])  # two constructions, same seed: the same noise, step by step
    assert not torch.equal(runs[0], runs[2])  # another seed: other noise
    assert not torch.equal(runs[0][0], runs[0][1])  # fresh noise each forward
    net = seed_noise(torch.nn.Sequential(GaussianNoise(1.0), GaussianNoise(1.0)), 5)
    x = torch.zeros(20_000)
    assert abs(corr(net[0](x), net[1](x))) < Z / np.sqrt(x.numel())  # one seed, two sites: independent
    net[0](x)
    seed_noise(net, 5)  # reseeding restarts the stream
    assert net[0].step.item() == 0 and torch.equal(net[0](x), seed_noise(torch.nn.Sequential(GaussianNoise(1.0)), 5)[0](x))
    with pytest.raises(ValueError, match="seed must be an integer"):
        seed_noise(net, -1)


def test_an_explicit_seed_without_a_site_is_a_clear_error():
    net = torch.nn.Sequential(torch.nn.Linear(4, 4), GaussianNoise(0.1, seed=3), GaussianNoise(0.1, seed=3))
    net.eval()
    net(X)  # inactive in eval: nothing drawn, nothing to complain about
    net.train()
    with pytest.raises(RuntimeError, match=r"no site.*seed_noise\(model, seed\).*site="):
        net(X)
    seed_noise(net, 3)
    net(X)
    a, b = GaussianNoise(1.0, seed=3, site="a"), GaussianNoise(1.0, seed=3, site="b")
    assert not torch.equal(a(torch.zeros(100)), b(torch.zeros(100)))


def test_the_rank_changes_the_stream(monkeypatch):
    def draws():
        layer = GaussianNoise(1.0, seed=9, site="h")
        net = mlp(0)
        with WeightNoise(net, std=0.1, seed=9):
            return layer(torch.zeros(1000)), net(X)

    h0, w0 = draws()
    monkeypatch.setattr(streams, "current_rank", lambda: 1)
    h1, w1 = draws()
    monkeypatch.setattr(streams, "current_rank", lambda: 0)
    h0b, w0b = draws()
    assert torch.equal(h0, h0b) and torch.equal(w0, w0b)  # deterministic per rank
    assert not torch.equal(h0, h1) and not torch.equal(w0, w1)
    assert abs(corr(h0, h1)) < Z / np.sqrt(h0.numel())


# -- hidden-unit noise ------------------------------------------------------------------------

def test_hidden_unit_noise_has_the_requested_std_in_both_modes():
    n = 100_000
    layer = GaussianNoise(0.3, seed=1, site="h")
    x = torch.ones(n)
    y = layer(x)
    assert abs((y - x).std().item() - 0.3) < Z * 0.3 / np.sqrt(2 * n)
    assert abs((y - x).mean().item()) < Z * 0.3 / np.sqrt(n)
    m = GaussianNoise(0.3, mode="multiplicative")(torch.full((n,), 2.0))
    assert abs(m.std().item() - 0.6) < Z * 0.6 / np.sqrt(2 * n) and abs(m.mean().item() - 2.0) < Z * 0.6 / np.sqrt(n)
    layer.eval()
    assert torch.equal(layer(x), x) and layer.step.item() == 1  # inactive in eval, no step taken
    with pytest.raises(ValueError, match="mode must be"):
        GaussianNoise(0.1, mode="dropout")


def test_the_noise_is_the_documented_stream(monkeypatch):
    """Eager CPU draws through the numba kernel and the Python Philox; they must be exactly
    streams.normal_like(x, streams.step_key(site_key, step, rank)), the torch-only definition
    that runs on other devices and under torch.compile."""
    monkeypatch.setattr(streams, "current_rank", lambda: 3)

    def torch_route(fn, *args):  # the definition as it runs on GPUs and under torch.compile
        with monkeypatch.context() as m:
            m.setattr(streams, "eager_cpu", lambda t: False)
            return fn(*args)

    for shape, dtype, start in [((), torch.float32, 0), ((7,), torch.float64, 5), ((3, 5, 9), torch.bfloat16, 2**33 + 1),
                                ((1001,), torch.float32, 2**40), ((2, 4, 6), torch.float32, 0)]:
        layer = GaussianNoise(0.7, seed=2**64 - 1, site="s", shared_dims=(1,) if len(shape) == 3 else ())
        layer.step.fill_(start)
        x = torch.randn(shape, generator=torch.Generator().manual_seed(1)).to(dtype)
        key = torch_route(streams.step_key, layer.site_key, torch.tensor(start + 1), 3)
        noise_shape = (shape[0], 1, shape[2]) if len(shape) == 3 else shape
        assert torch.equal(layer(x), x + 0.7 * torch_route(streams.normal_like, x, key, noise_shape)), (shape, dtype)
    net = init(torch.nn.Linear(5, 3), 0)
    seen = []
    with WeightNoise(net, std=0.1, seed=8):
        net.parametrizations.weight[0].register_forward_hook(lambda m, i, o: seen.append((i[0].detach(), o.detach())))
        net(torch.zeros(1, 5))
    site = streams.key_tensor(streams.site_key(8, "weight:weight"))
    (w, noisy), = seen
    key = torch_route(streams.step_key, site, torch.tensor(1), 3)
    assert torch.equal(noisy, w + 0.1 * torch_route(streams.normal_like, w, key))


def test_shared_dims_share_one_value_along_a_dim_and_are_independent_across_the_others():
    x = torch.zeros(64, 50, 32)  # (batch, time, features)
    y = GaussianNoise(0.5, seed=2, site="s", shared_dims=(1,))(x)
    assert torch.equal(y, y[:, :1].expand_as(y))  # constant over time
    v = y[:, 0, :]  # 64 * 32 independent values
    n = v.numel()
    assert abs(v.std().item() - 0.5) < Z * 0.5 / np.sqrt(2 * n)
    assert abs(corr(v[:, :-1], v[:, 1:])) < Z / np.sqrt(n) and abs(corr(v[:-1], v[1:])) < Z / np.sqrt(n)
    assert torch.equal(GaussianNoise(0.5, seed=2, site="s", shared_dims=(-2,))(x), y)  # negative dims
    both = GaussianNoise(0.5, seed=2, site="s", shared_dims=(0, 2))(x)
    assert torch.equal(both, both[:1, :, :1].expand_as(both)) and both[0, :, 0].unique().numel() == 50
    with pytest.raises(ValueError, match=r"shared_dims \(3,\) has dim 3, out of range for an input with 3 dims"):
        GaussianNoise(0.5, shared_dims=(3,))(x)
    with pytest.raises(ValueError, match="out of range"):
        GaussianNoise(0.5, shared_dims=(-4,))(x)


def test_recurrent_outputs_tuples_and_packed_sequences():
    lstm = init(torch.nn.LSTM(3, 8, batch_first=True), 1)
    net = torch.nn.Sequential(lstm, GaussianNoise(0.2, shared_dims=(1,)))
    x = torch.randn(4, 6, 3, generator=torch.Generator().manual_seed(1))
    out, (h, c) = net(x)
    clean, (h0, c0) = lstm(x)
    noise = out - clean
    assert torch.equal(h, h0) and torch.equal(c, c0)  # the rest passed through unchanged
    assert noise.abs().min() > 0 and torch.allclose(noise, noise[:, :1].expand_as(noise), atol=1e-6)
    layer = GaussianNoise(0.2, seed=1, site="p")
    as_list = layer([torch.zeros(5), "kept"])
    assert isinstance(as_list, list) and as_list[1] == "kept" and as_list[0].abs().min() > 0
    Pair = collections.namedtuple("Pair", "a b")
    pair = layer(Pair(torch.zeros(5), torch.ones(2)))
    assert isinstance(pair, Pair) and torch.equal(pair.b, torch.ones(2))
    packed = pack_padded_sequence(x, torch.tensor([6, 5, 3, 2]), batch_first=True)
    p_out, _ = torch.nn.Sequential(lstm, GaussianNoise(0.2, seed=1, site="q"))(packed)
    p_clean, _ = lstm(packed)
    assert torch.equal(p_out.batch_sizes, p_clean.batch_sizes) and (p_out.data - p_clean.data).abs().min() > 0
    with pytest.raises(ValueError, match="shared_dims cannot apply to a PackedSequence"):
        GaussianNoise(0.2, shared_dims=(0,))(packed)


def checkpoint(state):
    """A state dict as written to and read from a file (state_dict() aliases live tensors)."""
    buf = io.BytesIO()
    torch.save(state, buf)
    return torch.load(io.BytesIO(buf.getvalue()), weights_only=True)


def test_hidden_noise_state_resumes_the_exact_stream():
    net = two_noise_net()  # default (fresh) seeds: the buffers carry the stream
    for _ in range(3):
        net(X)
    saved = checkpoint(net.state_dict())
    assert saved["1.step"].item() == 3 and saved["1.site_key"].tolist() != [-1, -1]
    continuing = torch.stack([net(X) for _ in range(3)])
    fresh = two_noise_net()
    assert not torch.equal(fresh(X), continuing[0])  # another stream before loading (the check can fail)
    fresh.load_state_dict(saved)
    assert fresh[1].seed is None and fresh[1].site is None  # the stream is now the checkpoint's
    assert torch.equal(torch.stack([fresh(X) for _ in range(3)]), continuing)


# -- weight noise ---------------------------------------------------------------------------

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
    assert len(outs) == 7  # different noise for different seeds
    attached = WeightNoise(net, variance=0.01).attach()
    net.train()
    a, b = net(x), net(x)
    assert not torch.equal(a, b)  # fresh noise per forward
    net.eval()
    assert torch.equal(net(x), net(x))  # inactive in eval mode
    assert attached.step == 2  # eval forwards take no step
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


def test_weight_noise_has_the_requested_std():
    net = init(torch.nn.Linear(200, 200, bias=False), 0)
    seen = []
    with WeightNoise(net, std=0.02, seed=4):
        net.parametrizations.weight[0].register_forward_hook(lambda m, i, o: seen.append(o.detach() - i[0]))
        net(torch.zeros(1, 200))
    (e,) = seen
    n = e.numel()
    assert abs(e.std().item() - 0.02) < Z * 0.02 / np.sqrt(2 * n) and abs(e.mean().item()) < Z * 0.02 / np.sqrt(n)


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


def test_weight_noise_draws_once_per_lstm_forward():
    lstm = init(torch.nn.LSTM(3, 5, batch_first=True), 2)
    plain = init(torch.nn.LSTM(3, 5, batch_first=True), 2)
    x = torch.randn(2, 4, 3, generator=torch.Generator().manual_seed(0))
    noise = WeightNoise(lstm, std=0.1, seed=1).attach()
    seen = {name: [] for name in ("weight_ih_l0", "weight_hh_l0")}
    for name, acc in seen.items():
        getattr(lstm.parametrizations, name)[0].register_forward_hook(lambda m, i, o, acc=acc: acc.append(o.detach().clone()))
    firsts = []
    for _ in range(2):
        for acc in seen.values():
            acc.clear()
        out, _ = lstm(x)
        for acc in seen.values():
            assert len(acc) >= 2  # the LSTM reads each weight several times per forward...
            assert all(torch.equal(acc[0], a) for a in acc)  # ...and sees one draw
        firsts.append(seen["weight_ih_l0"][0])
        # the output is the LSTM with exactly that draw
        noisy = {n: v[0] for n, v in seen.items()} | {"bias_ih_l0": plain.bias_ih_l0, "bias_hh_l0": plain.bias_hh_l0}
        assert torch.allclose(out, torch.func.functional_call(plain, noisy, (x,))[0], atol=1e-6)
    assert not torch.equal(firsts[0], firsts[1]) and noise.step == 2  # fresh noise on the next forward


def test_checkpoints_have_plain_keys_both_ways():
    net = mlp(0)
    plain_keys = list(net.state_dict())
    noise = WeightNoise(net, std=0.05, seed=3).attach()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        net(X).pow(2).mean().backward()
        opt.step()
    saved = net.state_dict()
    assert list(saved) == plain_keys  # plain names, plain order
    assert torch.equal(saved["0.weight"], net[0].parametrizations.weight.original)  # the clean values
    target = mlp(1)
    target.load_state_dict(saved)  # strict: into the model without weight noise
    net.eval()
    assert torch.equal(target(X), net(X))
    other = mlp(2)
    ids = [id(p) for p in net.parameters()]
    net.load_state_dict(other.state_dict())  # strict: a plain checkpoint into the attached model
    assert [id(p) for p in net.parameters()] == ids and torch.equal(net[0].parametrizations.weight.original, other[0].weight)
    assert torch.equal(net(X), other(X))
    noise.detach()
    assert list(net.state_dict()) == plain_keys
    # nested: noise on a submodule, checkpoint from the parent
    outer = torch.nn.Sequential(mlp(0), torch.nn.Linear(1, 1))
    outer_keys = list(outer.state_dict())
    with WeightNoise(outer[0], std=0.05):
        assert list(outer.state_dict()) == outer_keys
        copy = torch.nn.Sequential(mlp(3), torch.nn.Linear(1, 1))
        copy.load_state_dict(outer.state_dict())
        outer.load_state_dict(copy.state_dict())


def test_torch_save_of_the_whole_model_inside_detached():
    net = mlp(0, noise=GaussianNoise(0.1))
    noise = WeightNoise(net, std=0.05).attach()
    net(X)
    buf = io.BytesIO()
    with pytest.raises(RuntimeError, match="parametrized"):
        torch.save(net, buf)  # torch refuses to pickle parametrized modules
    with noise.detached() as model:
        assert model is net and not hasattr(net[0], "parametrizations")
        buf = io.BytesIO()
        torch.save(net, buf)
    assert hasattr(net[0], "parametrizations") and noise.step == 1  # attached again, counter kept
    loaded = torch.load(io.BytesIO(buf.getvalue()), weights_only=False)
    net.eval()
    loaded.eval()
    assert torch.equal(loaded(X), net(X))


def test_weight_noise_state_resumes_the_exact_stream():
    net = mlp(0)
    noise = WeightNoise(net, std=0.05).attach()  # a fresh seed
    for _ in range(4):
        net(X)
    model_state, noise_state = checkpoint(net.state_dict()), noise.state_dict()
    assert noise_state == {"seed": noise.seed, "step": 4}
    continuing = torch.stack([net(X) for _ in range(3)])
    fresh = mlp(5)
    resumed = WeightNoise(fresh, std=0.05).attach()
    fresh.load_state_dict(model_state)
    assert not torch.equal(fresh(X), continuing[0])  # a different stream until its state is loaded
    resumed.load_state_dict(noise_state)
    assert torch.equal(torch.stack([fresh(X) for _ in range(3)]), continuing)
    later = mlp(6)  # state loaded before attaching works as well
    late = WeightNoise(later, std=0.05)
    late.load_state_dict(noise_state)
    later.load_state_dict(model_state)
    late.attach()
    assert torch.equal(torch.stack([later(X) for _ in range(3)]), continuing)


def test_the_global_random_state_is_untouched():
    net = mlp(0, noise=GaussianNoise(0.1))
    torch_state, np_state = torch.get_rng_state(), np.random.get_state()
    layers = [GaussianNoise(0.1), GaussianNoise(0.1, mode="multiplicative", shared_dims=(0,))]
    with WeightNoise(net, std=0.05):
        net(X).sum().backward()
        for layer in layers:
            layer(torch.zeros(10, 3))
    assert torch.equal(torch.get_rng_state(), torch_state)
    after = np.random.get_state()
    assert after[0] == np_state[0] and np.array_equal(after[1], np_state[1]) and after[2:] == np_state[2:]


def test_compile_fullgraph_matches_eager():
    def build():
        net = mlp(0, noise=GaussianNoise(0.1))
        return net, WeightNoise(net, std=0.05).attach()

    eager, e_noise = build()
    model, m_noise = build()
    model.load_state_dict(eager.state_dict())  # the same hidden-noise stream
    m_noise.load_state_dict(e_noise.state_dict())  # the same weight-noise stream
    compiled = torch.compile(model, fullgraph=True)
    try:
        first = compiled(X)
    except torch._dynamo.exc.BackendCompilerFailed as exc:  # no working C++ compiler for inductor
        first_line = (str(exc).strip().splitlines() or [""])[0][:200]
        pytest.skip(f"torch.compile backend (inductor) unavailable on this machine: {type(exc).__name__}: {first_line}")
    outs = [first] + [compiled(X) for _ in range(2)]
    want = [eager(X) for _ in range(3)]
    for got, ref in zip(outs, want):
        assert torch.allclose(got, ref, rtol=1e-5, atol=1e-6), (got - ref).abs().max()
    assert not torch.allclose(outs[0], outs[1])  # noise is fresh each step in the compiled model too
    assert m_noise.step == 3 and model[1].step.item() == 3  # one step per compiled forward
