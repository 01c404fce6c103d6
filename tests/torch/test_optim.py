"""Gradient noise and parameter noise (SGLD) as optimiser hooks: the variances they promise,
independent streams per parameter / step / seed / rank, exact resume, and SGLD sampling the
posterior of a Bayesian linear regression."""
from __future__ import annotations

import io
import math
import random

import numpy as np
import pytest
import torch

from augnoise.torch import optim as optim_mod
from augnoise.torch.optim import GradientNoise, ParameterNoise
from augnoise.torch.streams import key_tensor, normal_like, site_key, step_key


@pytest.fixture(autouse=True)
def one_thread():
    """These tensors are small: on a shared 2-core machine intra-op threads only add waiting."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def zero_grad_step(opt: torch.optim.Optimizer) -> None:
    """One optimiser step with every gradient exactly zero (through a loss, as in training)."""
    opt.zero_grad(set_to_none=True)
    loss = sum((p * 0).sum() for g in opt.param_groups for p in g["params"])
    loss.backward()
    opt.step()


def corr(a: torch.Tensor, b: torch.Tensor) -> float:
    a = a.double().reshape(-1) - a.double().mean()
    b = b.double().reshape(-1) - b.double().mean()
    return float((a @ b) / torch.sqrt((a @ a) * (b @ b)))


def expected_noise(seed: int, path: str, step: int, like: torch.Tensor, rank: int = 0) -> torch.Tensor:
    """The documented key convention, spelled out with the public stream functions."""
    key = step_key(key_tensor(site_key(seed, path)), torch.tensor(step, dtype=torch.int64), rank)
    return normal_like(like, key)


# -- GradientNoise: the schedule -------------------------------------------------------------
N_BIG = 200_000
# The sample variance of n standard normals has relative sd sqrt(2 / (n - 1)) (the table
# normals have kurtosis 2.9992, so (mu4 - 1) / n = 1.9992 / n): 0.00316 at n = 2e5; 5 sd = 1.6%.
VAR_TOL = 5 * math.sqrt(2 / (N_BIG - 1))


def check_variance(z: torch.Tensor, var: float) -> None:
    z = z.double()
    n = z.numel()
    assert abs(float(z.mean())) <= 5 * math.sqrt(var / n)
    assert abs(float(z.var()) / var - 1) <= VAR_TOL, (float(z.var()), var)


@pytest.mark.parametrize("eta,gamma", [(0.3, 0.55), (1.0, 0.0), (0.01, 1.0)])
def test_gradient_noise_variance_follows_schedule(eta, gamma):
    p = torch.nn.Parameter(torch.zeros(N_BIG))
    opt = torch.optim.SGD([p], lr=0.1)
    noise = GradientNoise(opt, eta=eta, gamma=gamma, seed=11)
    # the bound (1.6%) tells neighbouring steps apart: at gamma = 0.55 the variances of t = 0 and
    # t = 1 differ by 2**0.55 - 1 = 46%, so a schedule off by one step fails
    for t in range(4):  # t = 0, 1, 2, 3 in order
        assert noise.step == t
        zero_grad_step(opt)
        check_variance(p.grad, eta / (1 + t) ** gamma)
    for t in (99, 9_999, 10**6):  # far along the schedule: jump the counter as a resume would
        noise.load_state_dict({"seed": 11, "step": t})
        assert noise.variance() == eta / (1 + t) ** gamma
        zero_grad_step(opt)
        check_variance(p.grad, eta / (1 + t) ** gamma)
        assert noise.step == t + 1


# -- keys --------------------------------------------------------------------------------------
def test_noise_follows_the_documented_key_convention():
    a = torch.nn.Parameter(torch.zeros(7, 5))
    b = torch.nn.Parameter(torch.zeros(3, dtype=torch.float64))
    c = torch.nn.Parameter(torch.zeros(9, dtype=torch.bfloat16))
    opt = torch.optim.SGD([{"params": [a, b]}, {"params": [c]}], lr=0.0)
    noise = GradientNoise(opt, eta=1.0, gamma=0.0, seed=2024)
    for t in range(2):
        zero_grad_step(opt)
        for path, p in (("grad:0:0", a), ("grad:0:1", b), ("grad:1:0", c)):
            assert torch.equal(p.grad, expected_noise(2024, path, t, p)), (path, t)
    noise.detach()
    pn = ParameterNoise(opt, std=1.0, seed=5)
    zero_grad_step(opt)  # lr = 0: the parameters move by the noise alone
    for path, p in (("param:0:0", a), ("param:0:1", b), ("param:1:0", c)):
        assert torch.equal(p.detach(), expected_noise(5, path, 0, p)), path
    assert pn.step == 1


def test_batched_draw_matches_normal_like_bit_for_bit(monkeypatch):
    # all sizes around the 8-normals-per-Philox-block boundary, empty and large, in one call
    # and chunked (a tiny chunk forces one tensor per call and a lone oversize tensor)
    shapes = [(0,), (1,), (2,), (3,), (7,), (8,), (9,), (15,), (16,), (17,), (4, 5), (1000,), (3, 3, 3)]
    like = [torch.zeros(s, dtype=torch.float32 if i % 2 else torch.float64) for i, s in enumerate(shapes)]
    sites = torch.stack([key_tensor(site_key(99, f"x:{i}")) for i in range(len(like))])
    for step, rank in ((0, 0), (5, 0), (2**40 + 3, 2)):
        keys = optim_mod._step_keys(sites, step, rank)
        for i in range(len(like)):
            assert torch.equal(keys[i: i + 1], step_key(sites[i], torch.tensor(step), rank))
        want = [normal_like(x, keys[i: i + 1]) for i, x in enumerate(like)]  # the numba route on CPU
        monkeypatch.setattr(optim_mod, "eager_cpu", lambda t: False)  # the batched torch route, as on GPUs
        for chunk in (1 << 22, 16):
            monkeypatch.setattr(optim_mod, "_CHUNK", chunk)
            got = optim_mod._normals(keys, like)
            assert all(torch.equal(g, w) and g.dtype == w.dtype for g, w in zip(got, want))


# -- independence ------------------------------------------------------------------------------
N_IND = 100_000
# the sample correlation of n independent pairs has sd 1 / sqrt(n): 0.0032; 5 sd = 0.016
CORR_TOL = 5 / math.sqrt(N_IND)


def test_noise_is_independent_across_parameters_groups_and_steps():
    ps = [torch.nn.Parameter(torch.zeros(N_IND)) for _ in range(3)]
    opt = torch.optim.SGD([{"params": ps[:2]}, {"params": ps[2:]}], lr=0.0)
    GradientNoise(opt, eta=1.0, gamma=0.0, seed=3)
    draws = []
    for _ in range(2):
        zero_grad_step(opt)
        draws += [p.grad.clone() for p in ps]  # (g, j) = (0, 0), (0, 1), (1, 0) at steps 0, 1
    for i in range(len(draws)):
        for j in range(i):
            assert abs(corr(draws[i], draws[j])) <= CORR_TOL, (i, j)


def test_gradient_and_parameter_noise_streams_differ_under_one_seed():
    p = torch.nn.Parameter(torch.zeros(N_IND))
    opt = torch.optim.SGD([p], lr=0.0)
    GradientNoise(opt, eta=1.0, gamma=0.0, seed=8)
    ParameterNoise(opt, std=1.0, seed=8)
    zero_grad_step(opt)
    assert abs(corr(p.grad, p.detach())) <= CORR_TOL


def run_grad_noise(seed, steps=2, n=1000, **kw):
    p = torch.nn.Parameter(torch.zeros(n))
    opt = torch.optim.SGD([p], lr=0.0)
    noise = GradientNoise(opt, eta=1.0, seed=seed, **kw)
    out = []
    for _ in range(steps):
        zero_grad_step(opt)
        out.append(p.grad.clone())
    return noise, out


def test_same_seed_same_noise_different_seed_different():
    _, a = run_grad_noise(17)
    _, b = run_grad_noise(17)
    _, c = run_grad_noise(18)
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert all(not torch.equal(x, y) for x, y in zip(a, c))
    na, _ = run_grad_noise(None)
    nb, _ = run_grad_noise(None)
    assert isinstance(na.seed, int) and na.seed != nb.seed  # fresh seeds, recorded


def test_ranks_draw_the_same_noise_unless_sharded(monkeypatch):
    _, base = run_grad_noise(21, n=N_IND)
    monkeypatch.setattr(optim_mod, "current_rank", lambda: 1)
    _, replicated = run_grad_noise(21, n=N_IND)
    assert all(torch.equal(x, y) for x, y in zip(base, replicated))  # DDP replicas stay equal
    _, sharded = run_grad_noise(21, n=N_IND, sharded=True)
    p = torch.zeros(N_IND)
    assert torch.equal(sharded[0], expected_noise(21, "grad:0:0", 0, p, rank=1))
    assert abs(corr(sharded[0], base[0])) <= CORR_TOL
    monkeypatch.setattr(optim_mod, "current_rank", lambda: 0)
    _, sharded0 = run_grad_noise(21, n=N_IND, sharded=True)
    assert all(torch.equal(x, y) for x, y in zip(base, sharded0))


# -- state, skipping, hooks, global state -------------------------------------------------------
def train(model, opt, steps, gen):
    out = []
    for _ in range(steps):
        x = torch.randn(16, 4, generator=gen, dtype=torch.float64)
        y = torch.randn(16, 2, generator=gen, dtype=torch.float64)
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        opt.step()
        out.append([p.detach().clone() for p in model.parameters()])
    return out


def make(seed_model=0, seed_noise=None):
    model = torch.nn.utils.skip_init(torch.nn.Linear, 4, 2, dtype=torch.float64)  # no draw from the global RNG
    with torch.no_grad():
        w = torch.randn(2, 4, generator=torch.Generator().manual_seed(seed_model), dtype=torch.float64)
        model.weight.copy_(w)
        model.bias.zero_()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    gn = GradientNoise(opt, eta=0.1, seed=seed_noise)
    pn = ParameterNoise(opt, std=0.01, seed=None if seed_noise is None else seed_noise + 1)
    return model, opt, gn, pn


def test_state_dict_resume_continues_the_exact_stream():
    model, opt, _, _ = make(seed_noise=40)
    full = train(model, opt, 6, torch.Generator().manual_seed(1))

    model, opt, gn, pn = make(seed_noise=40)
    gen = torch.Generator().manual_seed(1)
    first = train(model, opt, 3, gen)
    buf = io.BytesIO()
    torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "gn": gn.state_dict(), "pn": pn.state_dict()}, buf)
    assert gn.state_dict() == {"seed": 40, "step": 3} and pn.state_dict() == {"seed": 41, "step": 3}

    buf.seek(0)
    saved = torch.load(buf)
    model2, opt2, gn2, pn2 = make(seed_model=7, seed_noise=None)  # other weights, fresh seeds
    model2.load_state_dict(saved["model"])
    opt2.load_state_dict(saved["opt"])
    gn2.load_state_dict(saved["gn"])
    pn2.load_state_dict(saved["pn"])
    rest = train(model2, opt2, 3, gen)
    for got, want in zip(first + rest, full):
        assert all(torch.equal(a, b) for a, b in zip(got, want))


def test_global_random_state_untouched():
    torch_state, np_state, py_state = torch.get_rng_state(), np.random.get_state(), random.getstate()
    model, opt, _, _ = make(seed_noise=None)  # fresh seeds come from OS entropy
    train(model, opt, 2, torch.Generator().manual_seed(3))
    sg = ParameterNoise(torch.optim.SGD([torch.nn.Parameter(torch.zeros(5))], lr=0.1), sgld=True, seed=None)
    zero_grad_step(sg.optimizer)
    assert torch.equal(torch.get_rng_state(), torch_state)
    after = np.random.get_state()
    assert after[0] == np_state[0] and np.array_equal(after[1], np_state[1]) and after[2:] == np_state[2:]
    assert random.getstate() == py_state


def test_parameters_without_gradient_are_skipped_and_positions_kept():
    a, b, c = (torch.nn.Parameter(torch.zeros(10, dtype=torch.float64)) for _ in range(3))
    opt = torch.optim.SGD([a, b, c], lr=0.0)
    GradientNoise(opt, eta=1.0, seed=4)
    ParameterNoise(opt, std=1.0, seed=5)
    opt.zero_grad(set_to_none=True)
    (a.sum() * 0 + c.sum() * 0).backward()  # b takes no part: b.grad stays None
    opt.step()
    assert b.grad is None and torch.equal(b.detach(), torch.zeros(10, dtype=torch.float64))
    # c is still parameter 2 of group 0: skipping b does not shift its stream
    assert torch.equal(c.grad, expected_noise(4, "grad:0:2", 0, c))
    assert torch.equal(c.detach(), expected_noise(5, "param:0:2", 0, c))


def test_attach_detach_and_context_manager():
    p = torch.nn.Parameter(torch.zeros(100))
    opt = torch.optim.SGD([p], lr=0.0)
    noise = GradientNoise(opt, eta=1.0, gamma=0.0, seed=6)
    assert noise.attached
    zero_grad_step(opt)
    assert noise.step == 1 and p.grad.abs().sum() > 0
    noise.detach()
    zero_grad_step(opt)
    assert noise.step == 1 and torch.equal(p.grad, torch.zeros(100))
    with noise:
        zero_grad_step(opt)
        assert torch.equal(p.grad, expected_noise(6, "grad:0:0", 1, p))
    assert not noise.attached and noise.step == 2
    with GradientNoise(opt, eta=1.0, seed=7) as other:
        assert other.attached
        with pytest.raises(ValueError, match="already attached"):
            noise.attach()
    assert not other.attached
    noise.attach()
    assert noise.attached


def test_second_noise_of_one_kind_on_one_optimizer_is_refused():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(3))], lr=0.1)
    first = GradientNoise(opt, eta=1.0, seed=1)
    with pytest.raises(ValueError, match="another GradientNoise is already attached"):
        GradientNoise(opt, eta=1.0, seed=1)
    first.attach()  # attaching the attached one is a no-op
    first.detach()
    second = GradientNoise(opt, eta=1.0, seed=2)
    with pytest.raises(ValueError, match="already attached"):
        first.attach()
    second.detach()
    ParameterNoise(opt, std=0.1, seed=3)  # another kind is fine


# -- ParameterNoise -----------------------------------------------------------------------------
@pytest.mark.parametrize("std", [0.05, 1.0])
def test_parameter_noise_has_the_requested_std(std):
    p = torch.nn.Parameter(torch.zeros(N_BIG))
    opt = torch.optim.SGD([p], lr=0.1)  # zero gradients: SGD leaves p, the hook adds noise
    ParameterNoise(opt, std=std, seed=12)
    before = p.detach().clone()
    for _ in range(3):
        zero_grad_step(opt)
        check_variance(p.detach() - before, std**2)
        before = p.detach().clone()


def test_sgld_noise_variance_follows_each_groups_current_lr():
    a, b = torch.nn.Parameter(torch.zeros(N_BIG)), torch.nn.Parameter(torch.zeros(N_BIG))
    opt = torch.optim.SGD([{"params": [a], "lr": 0.01}, {"params": [b], "lr": 0.04}], lr=0.01)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.1)
    T = 0.5
    ParameterNoise(opt, sgld=True, temperature=T, seed=13)
    for lrs in ((0.01, 0.04), (0.001, 0.004)):
        before = [a.detach().clone(), b.detach().clone()]
        zero_grad_step(opt)
        for p, x0, lr in zip((a, b), before, lrs):
            check_variance(p.detach() - x0, 2 * lr * T)
        sched.step()


def test_sgld_samples_the_posterior_of_bayesian_linear_regression():
    """SGD + ParameterNoise(sgld=True) on the negative log posterior of a Bayesian linear
    regression: after burn-in, the samples' mean and covariance are the closed-form posterior's.

    Model: y = X w + N(0, sigma^2), prior w ~ N(0, tau^2 I). Posterior precision
    A = X^T X / sigma^2 + I / tau^2, Sigma = A^-1, mu = Sigma X^T y / sigma^2, and
    U(w) = ||y - X w||^2 / (2 sigma^2) + ||w||^2 / (2 tau^2) = (w - mu)^T A (w - mu) / 2 + const.
    C independent chains are the rows of one (C, d) parameter (U sums over them).

    The recursion is linear: e = w - mu, e' = M e + sqrt(2 lr) xi with M = I - lr A. In the
    eigenbasis of A (eigenvalues lam_i) each coordinate is an AR(1) with rho_i = 1 - lr lam_i
    and stationary variance s_i = 2 lr / (1 - rho_i^2) = 1 / (lam_i (1 - lr lam_i / 2)):
    * the stationary mean is mu exactly (no discretisation bias);
    * the stationary covariance is S = Q diag(s) Q^T = Sigma (I - lr A / 2)^-1, so the
      step-size bias S - Sigma = Q diag(lr / (2 - lr lam)) Q^T ~ lr / 2 I (computed exactly);
    * the time average over K steps of an AR(1) has variance (c(0) / K) f(r, K) with
      f(r, K) = (1 + r) / (1 - r) - 2 r (1 - r^K) / (K (1 - r)^2), r = rho (means) or
      rho_i rho_j (products of coordinates), which gives the standard errors below;
    * the burn-in transient is M^k e_0, averaged over the window: computed, and required tiny.
    """
    rng = np.random.default_rng(3)
    n, d, sigma, tau = 50, 3, 1.0, 1.0
    X = rng.standard_normal((n, d)) @ np.array([[1.0, 0.4, 0.0], [0.0, 1.0, 0.4], [0.0, 0.0, 1.0]])
    y = X @ np.array([1.0, -0.5, 0.25]) + sigma * rng.standard_normal(n)
    A = X.T @ X / sigma**2 + np.eye(d) / tau**2
    Sigma = np.linalg.inv(A)
    mu = Sigma @ X.T @ y / sigma**2
    lam, Q = np.linalg.eigh(A)  # lam = 33.5, 63.9, 87.6: posterior sds 0.133, 0.138, 0.142

    C, B, K = 1000, 1000, 2000  # chains, burn-in steps, collected steps
    lr = 0.02 / lam[-1]  # lr lam in [0.0077, 0.02]: the variance bias lr lam / 2 is <= 1%
    rho = 1 - lr * lam
    s = 1 / (lam * (1 - lr * lam / 2))
    S = Q @ np.diag(s) @ Q.T

    def f(r, k):
        return (1 + r) / (1 - r) - 2 * r * (1 - r**k) / (k * (1 - r) ** 2)

    # standard errors of the pooled mean and of the covariance around mu (C K samples)
    se_mean = np.sqrt(np.diag(Q @ np.diag(s * f(rho, K)) @ Q.T) / (C * K))
    g = s[:, None] * s[None, :] * f(rho[:, None] * rho[None, :], K)
    se_cov = np.sqrt(np.einsum("ij,pi,qj,pi,qj->pq", g, Q, Q, Q, Q)
                     + np.einsum("ij,pi,qj,pj,qi->pq", g, Q, Q, Q, Q)) / np.sqrt(C * K)
    tol_mean, tol_cov = 5 * se_mean, 5 * se_cov

    # the step-size bias is below a quarter of the covariance tolerance (its largest ratio is
    # 0.15 here: bias 1.15e-4 vs tolerance ~7e-4), and the burn-in transients (chains start at
    # 0, mu is 6.8 posterior sds away) are below 1% of the tolerances
    assert np.all(np.abs(S - Sigma) <= tol_cov / 4)
    e0 = Q.T @ (0 - mu)
    window = rho ** (B + 1) * (1 - rho**K) / (K * (1 - rho))
    assert np.all(np.abs(Q @ (window * e0)) <= tol_mean / 100)
    r2 = rho[:, None] * rho[None, :]
    D = np.outer(e0, e0) - np.diag(s)
    assert np.all(np.abs(Q @ (D * r2 ** (B + 1) * (1 - r2**K) / (K * (1 - r2))) @ Q.T) <= tol_cov / 100)

    At = torch.tensor(A)
    bt = torch.tensor(A @ mu)  # = X^T y / sigma^2
    w = torch.nn.Parameter(torch.zeros(C, d, dtype=torch.float64))
    opt = torch.optim.SGD([w], lr=float(lr))
    ParameterNoise(opt, sgld=True, seed=7)
    s1 = torch.zeros(C, d, dtype=torch.float64)
    s2 = torch.zeros(C, d, d, dtype=torch.float64)
    mu_t = torch.tensor(mu)
    for k in range(B + K):
        opt.zero_grad()
        U = 0.5 * ((w @ At) * w).sum() - (w * bt).sum()  # U(w) up to a constant, summed over chains
        U.backward()
        opt.step()
        if k >= B:
            with torch.no_grad():
                e = w - mu_t
                s1 += w
                s2 += e[:, :, None] * e[:, None, :]
    s1, s2 = s1.numpy(), s2.numpy()
    mean = s1.sum(0) / (C * K)
    cov = s2.sum(0) / (C * K)  # the second moment around the known mu (mean checked apart)

    err_mean, err_cov = np.abs(mean - mu), np.abs(cov - Sigma)
    print("mean error / tolerance", err_mean / tol_mean)
    print("cov error / tolerance", err_cov / tol_cov)
    assert np.all(err_mean <= tol_mean), (mean, mu, tol_mean)
    assert np.all(err_cov <= tol_cov), (cov, Sigma, tol_cov)

    # The standard errors above assume independent chains. Checked: the spread of G = 50
    # groups of 20 chains gives an empirical standard error whose ratio to the computed one is
    # sqrt(chi2_49 / 49): sd 0.10, so 5 sd is [0.5, 1.5]. Noise shared between chains would
    # make the groups agree (ratio near 0); noise correlated over steps, a larger ratio.
    G = 50
    gm = s1.reshape(G, C // G, d).sum(1) / (C // G * K)
    gc = s2.reshape(G, C // G, d, d).sum(1) / (C // G * K)
    ratio_mean = gm.std(0, ddof=1) / np.sqrt(G) / se_mean
    ratio_var = np.diagonal(gc.std(0, ddof=1) / np.sqrt(G) / se_cov)
    print("empirical / computed standard error", ratio_mean, ratio_var)
    assert np.all((ratio_mean >= 0.5) & (ratio_mean <= 1.5)), ratio_mean
    assert np.all((ratio_var >= 0.5) & (ratio_var <= 1.5)), ratio_var


# -- refusals -----------------------------------------------------------------------------------
class NoLR(torch.optim.Optimizer):
    """A (custom) optimiser without a learning rate."""

    def __init__(self, params):
        super().__init__(params, {"scale": 1.0})

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.sub_(p.grad.sign() * group["scale"] * 1e-3)


def params():
    return [torch.nn.Parameter(torch.zeros(3))]


def test_refusals():
    sgd = torch.optim.SGD(params(), lr=0.1)
    with pytest.raises(ValueError, match="either std .* or sgld=True .*, not both"):
        ParameterNoise(sgd, std=0.1, sgld=True)
    with pytest.raises(ValueError, match="give std .* or sgld=True"):
        ParameterNoise(sgd)
    with pytest.raises(ValueError, match="needs a learning rate 'lr' in every parameter group; group 0 of NoLR"):
        ParameterNoise(NoLR(params()), sgld=True)
    with pytest.raises(ValueError, match="momentum=0"):
        ParameterNoise(torch.optim.SGD(params(), lr=0.1, momentum=0.9), sgld=True)
    with pytest.raises(ValueError, match="maximize=True"):
        ParameterNoise(torch.optim.SGD(params(), lr=0.1, maximize=True), sgld=True)
    with pytest.raises(ValueError, match="Adam preconditions"):
        ParameterNoise(torch.optim.Adam(params(), lr=0.1), sgld=True)
    with pytest.raises(ValueError, match="temperature applies only with sgld=True"):
        ParameterNoise(sgd, std=0.1, temperature=2.0)
    for bad in (-0.1, float("nan"), float("inf"), "0.1", True):
        with pytest.raises(ValueError, match="eta must be a finite number >= 0"):
            GradientNoise(sgd, eta=bad)
        with pytest.raises(ValueError, match="std must be a finite number >= 0"):
            ParameterNoise(sgd, std=bad)
    with pytest.raises(ValueError, match="gamma must be"):
        GradientNoise(sgd, eta=0.1, gamma=-1.0)
    with pytest.raises(ValueError, match="temperature must be"):
        ParameterNoise(sgd, sgld=True, temperature=-1.0)
    with pytest.raises(TypeError, match="LBFGS"):
        GradientNoise(torch.optim.LBFGS(params()), eta=0.1)
    with pytest.raises(TypeError, match="torch.optim.Optimizer"):
        GradientNoise(object(), eta=0.1)
    for seed in (-1, 2**64, 1.5, "1", True):
        with pytest.raises(ValueError, match="seed must be"):
            GradientNoise(sgd, eta=0.1, seed=seed)
    with pytest.raises(ValueError, match="step must be"):
        GradientNoise(sgd, eta=0.1, step=-1)
    noise = GradientNoise(sgd, eta=0.1, seed=1)
    for state in ({"seed": 1}, {"seed": 1, "step": 0, "eta": 2}, {"seed": None, "step": 0}, {"seed": 1, "step": -3}, [1, 2]):
        with pytest.raises(ValueError):
            noise.load_state_dict(state)
    assert noise.state_dict() == {"seed": 1, "step": 0}  # a refused state changes nothing


def test_sgld_refuses_momentum_set_after_construction():
    opt = torch.optim.SGD(params(), lr=0.1)
    ParameterNoise(opt, sgld=True, seed=1)
    opt.param_groups[0]["momentum"] = 0.9
    with pytest.raises(ValueError, match="momentum=0"):
        zero_grad_step(opt)


def test_sparse_gradients_are_refused():
    emb = torch.nn.Embedding(10, 3, sparse=True)
    opt = torch.optim.SGD(emb.parameters(), lr=0.1)
    GradientNoise(opt, eta=0.1, seed=1)
    emb(torch.tensor([1, 2])).sum().backward()
    with pytest.raises(TypeError, match="sparse"):
        opt.step()
