"""audio.ShortNoises: counts and placement statistics, per-noise levels, fades, ducking, cached
decoding, backends and keys, parameter errors. Fixed keys and indices throughout; statistical
tolerances are 5-6 standard deviations of the sampling distribution (derived where used)."""
import itertools
import math

import numpy as np
import pytest
import soundfile as sf
import torch
from scipy import stats

import augnoise
from augnoise.audio import background
from augnoise.audio.short import MAX_EVENTS, ShortNoises, envelope
from augnoise.core import keys as K
from augnoise.core.kernels import kernel_for

SR = 16000


def draws(t, m, seed=7):
    """The drawn values of ``t`` for indices 0..m-1 (the sample stage's keys, as the pipeline draws them)."""
    tree = K.Tree([t])
    r = K.batch_rand(tree, seed, K.SAMPLE_STAGE, np.arange(m, dtype=np.uint64), np.zeros(m, np.uint64),
                     np.zeros(m, np.uint64))[0]
    r.below(t.p)
    return t.draw(r)


def apply(t, x, key, count=0, noise_rate=0.0, rate=SR):
    return t.apply(x, {"count": count, "rate": noise_rate, "key": key, "sample_rate": rate})


def tone(n, level=0.3, f=440.0):
    return (level * np.sin(2 * np.pi * f * np.arange(n) / SR)).astype(np.float32)


@pytest.fixture(scope="module")
def noise_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("short-noises")
    rng = np.random.default_rng(3)
    sf.write(d / "a.wav", (0.2 * rng.standard_normal(1600)).astype(np.float32), SR, subtype="FLOAT")
    sf.write(d / "b.flac", (0.1 * rng.standard_normal((4000, 2))).astype(np.float32), 8000)
    return d


# -- counts and placement -----------------------------------------------------------------------
@pytest.mark.parametrize("rate, m", [(3.0, 20000), (100.0, 2000)], ids=["lam6", "lam200-chunked"])
def test_poisson_count_mean_and_variance(rate, m):
    t = ShortNoises(synthetic={}, rate=rate)
    d = draws(t, m)
    n = 2 * SR  # lam = rate * 2 s
    assert np.all(d["count"] == 0) and np.all(d["rate"] == rate)
    counts = np.array([t.count_for(n, SR, k, 0, rate) for k in d["key"].tolist()])
    lam = rate * 2
    # mean: sd sqrt(lam / m); sample variance of a Poisson: sd ~ sqrt((lam + 2 lam^2) / m) (mu4 = lam + 3 lam^2)
    assert abs(counts.mean() - lam) < 5 * math.sqrt(lam / m)
    assert abs(counts.var(ddof=1) - lam) < 5 * math.sqrt((lam + 2 * lam**2) / m)


def test_count_mode_is_uniform_over_lo_hi():
    t = ShortNoises(synthetic={}, count=[2, 5])
    d = draws(t, 8000)
    assert np.all(d["rate"] == 0)  # count alone: no Poisson part
    counts = np.array([t.count_for(SR, SR, k, c, 0.0) for k, c in zip(d["key"].tolist(), d["count"].tolist())])
    assert counts.min() == 2 and counts.max() == 5
    freq = np.bincount(counts - 2, minlength=4)
    chi2 = float(((freq - 2000) ** 2 / 2000).sum())
    assert chi2 < stats.chi2.ppf(1 - 1e-6, 3)  # 3 degrees of freedom, false alarm 1e-6


def test_rate_and_count_together_add_up():
    t = ShortNoises(synthetic={}, rate=3, count=2)
    d = draws(t, 4000)
    counts = np.array([t.count_for(2 * SR, SR, k, c, r) for k, c, r in
                       zip(d["key"].tolist(), d["count"].tolist(), d["rate"].tolist())])
    assert counts.min() >= 2 and abs(counts.mean() - 8) < 5 * math.sqrt(6 / 4000)  # 2 + Poisson(6)


def test_starts_are_uniform_and_the_test_can_fail():
    t = ShortNoises(synthetic={"duration": 0.01}, count=4)
    n = 3 * SR
    d = draws(t, 2000)
    starts = np.array([s for k in d["key"].tolist() for s in t.events(n, SR, k, 4).start]) / n
    assert starts.size == 8000 and starts.min() >= 0 and starts.max() < 1
    assert stats.kstest(starts, "uniform").pvalue > 1e-4
    assert stats.kstest(starts**1.1, "uniform").pvalue < 1e-6  # a 10% distortion is caught


def _disjoint(ev, n):
    spans = sorted((s, min(s + L, n)) for s, L in zip(ev.start, ev.length))
    return all(a[1] < b[0] for a, b in itertools.pairwise(spans))


def test_silent_input_absolute_level_each_noise_where_the_plan_says():
    t = ShortNoises(synthetic={"color": "pink", "duration": [0.05, 0.2]}, count=3,
                    level={"mode": "absolute", "rms_db": [-40, -20]})
    n = 2 * SR
    x = np.zeros(n, np.float32)
    checked = 0
    for key in range(40):
        ev = t.events(n, SR, key, 3)
        if not _disjoint(ev, n):
            continue
        y = apply(t, x, key, 3)
        mask = np.zeros(n, bool)
        for s, L, lv in zip(ev.start, ev.length, ev.level):
            e = min(s + L, n)
            mask[s:e] = True
            rms = math.sqrt(float(np.mean(y[s:e].astype(np.float64) ** 2)))
            assert abs(20 * math.log10(rms) - lv) < 1e-4  # the requested RMS of this noise (float32 rounding)
        assert np.array_equal(y != 0, mask)  # non-zero exactly on the planned spans
        checked += 1
    assert checked >= 10


def test_relative_level_per_noise_and_per_channel(noise_dir):
    t = ShortNoises(paths=str(noise_dir), count=2, level={"mode": "relative", "snr_db": [0, 20]}, clip=False)
    n = 3 * SR
    x = np.stack([tone(n), tone(n, level=0.003, f=300)])  # second channel 40 dB quieter
    checked = 0
    for key in range(30):
        ev = t.events(n, SR, key, 2)
        if not _disjoint(ev, n):
            continue
        y = apply(t, x, key, 2).astype(np.float64)
        sig = (x.astype(np.float64) ** 2).mean(axis=1)
        for s, L, lv in zip(ev.start, ev.length, ev.level):
            e = min(s + L, n)
            noise = ((y - x)[:, s:e] ** 2).mean(axis=1)
            assert np.allclose(10 * np.log10(sig / noise), lv, atol=1e-3)  # on each channel
        checked += 1
    assert checked >= 10


def test_fades_are_raised_cosine():
    t = ShortNoises(synthetic={"duration": 0.1}, count=1, fade_in=0.01, fade_out=0.02,
                    level={"mode": "absolute", "rms_db": -30})
    n = SR
    key = next(k for k in range(50) if t.events(n, SR, k, 1).start[0] < n - 1700)  # the whole burst in the clip
    ev = t.events(n, SR, key, 1)
    s, L = ev.start[0], ev.length[0]
    assert (L, ev.fade_in[0], ev.fade_out[0]) == (1600, 160, 320)
    y = apply(t, np.zeros(n, np.float32), key, 1)
    z = t.snippet(ev, 0, L, SR)[0]
    env = y[s:s + L] / z
    env /= env[800]  # the plateau is the level gain
    k = np.arange(160)
    assert np.allclose(env[:160], np.sin(np.pi / 2 * (k + 0.5) / 160) ** 2, atol=1e-5)
    k = np.arange(320)
    assert np.allclose(env[-320:], np.sin(np.pi / 2 * (k + 0.5) / 320)[::-1] ** 2, atol=1e-5)
    assert np.allclose(env[160:-320], 1, atol=1e-5)
    assert np.allclose(envelope(L, 160, 320, L), env, atol=1e-5)  # the documented helper is the shape used


def test_ducking_gain_under_noises_only_and_noise_not_ducked():
    kw = {"synthetic": {"duration": 0.2}, "count": 2, "fade_in": 0.01, "fade_out": 0.01, "clip": False,
          "level": {"mode": "absolute", "rms_db": -30}}
    plain, ducked = ShortNoises(**kw), ShortNoises(**kw, duck_db=-12)
    n = 2 * SR
    x = tone(n)
    for key in range(5):
        ev = ducked.events(n, SR, key, 2)
        noise = apply(plain, x, key, 2) - x
        y = apply(ducked, x, key, 2)
        inside = np.zeros(n, bool)
        plateau = np.zeros(n, bool)
        for s, L, fi, fo in zip(ev.start, ev.length, ev.fade_in, ev.fade_out):
            inside[s:min(s + L, n)] = True
            plateau[s + fi:min(s + L - fo, n)] = True
        assert np.array_equal(y[~inside], x[~inside])  # untouched elsewhere
        gain = (y - noise)[plateau] / x[plateau]
        ok = np.abs(x[plateau]) > 1e-2
        assert np.allclose(gain[ok], 10 ** (-12 / 20), atol=1e-4)  # signal at duck_db, noise itself unchanged
        edge = inside & ~plateau
        g = ((y - noise)[edge] / x[edge])[np.abs(x[edge]) > 1e-2]
        assert g.min() > 10 ** (-12 / 20) - 1e-4 and g.max() < 1 + 1e-4  # ramped with the fades


# -- files -----------------------------------------------------------------------------------------
def test_file_decodes_once_per_process(noise_dir, monkeypatch):
    background._decoded.cache_clear()
    reads = []
    real = background._read
    monkeypatch.setattr(background, "_read", lambda e, s, c: reads.append(e.path) or real(e, s, c))
    t = ShortNoises(paths=str(noise_dir), count=3)
    for key in range(10):
        apply(t, tone(SR), key, 3)
    assert sorted(reads) == sorted({f.path for f in t.files})  # each file read (decoded) exactly once


def test_long_file_needs_max_duration_and_is_read_by_segment(tmp_path, monkeypatch):
    sf.write(tmp_path / "long.wav", (0.1 * np.random.default_rng(0).standard_normal(31 * 4000)).astype(np.float32), 4000)
    with pytest.raises(augnoise.ParamError, match="max_duration: noise file .* is longer than 30 s; set max_duration"):
        ShortNoises(paths=str(tmp_path / "long.wav"))
    t = ShortNoises(paths=str(tmp_path / "long.wav"), max_duration=0.25, count=2,
                    level={"mode": "absolute", "rms_db": -30})
    monkeypatch.setattr(background, "_decoded", lambda *a: (_ for _ in ()).throw(AssertionError("decoded whole")))
    y = apply(t, np.zeros(SR, np.float32), 5, 2, rate=8000)
    ev = t.events(SR, 8000, 5, 2)
    assert ev.length == [2000, 2000] and np.count_nonzero(y) > 0


# -- backends and keys --------------------------------------------------------------------------
@pytest.mark.parametrize("kw, channels", [
    ({"synthetic": {"color": "brown", "duration": [0.02, 0.3]}, "rate": 6, "duck_db": [-20, 0]}, 2),
    ({"paths": "DIR", "count": [0, 6], "level": {"mode": "absolute", "rms_db": [-30, -10]}, "per_channel": False}, 2),
    ({"paths": "DIR", "rate": 5, "duck_db": -6}, 1),
])
def test_numpy_and_torch_kernels_agree(kw, channels, noise_dir):
    kw = {k: (str(noise_dir) if v == "DIR" else v) for k, v in kw.items()}
    t = ShortNoises(**kw)
    d = draws(t, 6)
    params = {**d, "sample_rate": np.full(6, SR, np.int64)}
    x = np.stack([np.stack([tone(SR, 0.3 / (c + 1), 200 + 100 * c) for c in range(channels)])] * 6)
    a = kernel_for(ShortNoises, "numpy")(t, x, params, None)
    b = kernel_for(ShortNoises, "torch")(t, torch.from_numpy(x), params, None).numpy()
    assert b.dtype == a.dtype and np.allclose(a, b, rtol=0, atol=2e-6)  # float32 sums in another order
    assert not np.array_equal(a, x)


def test_keys_same_index_same_bytes_different_indices_differ(noise_dir):
    p = augnoise.Pipeline(sample=[ShortNoises(paths=str(noise_dir), count=2)], seed=3)
    s = {"audio": tone(SR), "sample_rate": SR}
    outs = [p(s, index=i)["audio"].tobytes() for i in range(6)]
    assert len(set(outs)) == 6 and outs[2] == p(s, index=2)["audio"].tobytes()


def test_sample_and_batch_stage_agree(noise_dir):
    step = ShortNoises(paths=str(noise_dir), rate=4, duck_db=-6)
    p = augnoise.Pipeline(batch=[step], seed=5)
    x = np.stack([tone(SR)] * 4)
    out = p.apply_batch({"audio": torch.from_numpy(x), "sample_rate": torch.full((4,), SR)}, [0, 1, 2, 3])
    rands = K.sample_rand(p._trees[K.BATCH_STAGE], 5, K.BATCH_STAGE, 0, 2)
    one = step.run({"audio": x[2], "sample_rate": SR}, rands[0], p._context(K.BATCH_STAGE, epoch=0, index=2, occurrence=0))
    assert np.array_equal(out["audio"][2].numpy(), one["audio"])


# -- errors --------------------------------------------------------------------------------------
@pytest.mark.parametrize("kw, msg", [
    ({}, "audio.ShortNoises: paths: give exactly one of paths or synthetic"),
    ({"paths": "DIR", "synthetic": {}}, "paths: give exactly one of paths or synthetic"),
    ({"synthetic": {}, "duck_db": 3}, "duck_db: must be <= 0, got 3"),
    ({"synthetic": {"color": "red"}}, "synthetic.color: "),
    ({"synthetic": {"duration": 0}}, "synthetic.duration: must be > 0, got 0"),
    ({"synthetic": {}, "count": MAX_EVENTS + 1}, f"count: must be <= {MAX_EVENTS}"),
    ({"synthetic": {}, "rate": -1}, "rate: must be >= 0"),
    ({"synthetic": {}, "fade_in": [0.2, 0.1]}, "fade_in: lo must be <= hi"),
    ({"synthetic": {}, "max_duration": 0}, "max_duration: must be > 0"),
    ({"synthetic": {}, "level": {"mode": "absolute", "rms_db": 3}}, "level.absolute.rms_db: must be <= 0"),
])
def test_bad_parameters_are_located_one_line_errors(kw, msg, noise_dir):
    kw = {k: (str(noise_dir) if v == "DIR" else v) for k, v in kw.items()}
    with pytest.raises(augnoise.ParamError) as info:
        ShortNoises(**kw)
    text = str(info.value)
    assert msg in text and "\n" not in text


def test_too_high_a_mean_count_is_an_input_error():
    t = ShortNoises(synthetic={}, rate=1000)
    with pytest.raises(augnoise.InputError, match="asks for 1000 noises on average; the limit is 768"):
        apply(t, tone(SR), 1, 0, 1000.0)
