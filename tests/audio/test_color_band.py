"""audio.ColorNoise band, slope range and A-weighting (issue 15, part 4).

Measurements use the clip's own DFT (Parseval: exact, no window, no estimator variance), so
band energy and SNR are checked to float rounding. The slope is fitted to the periodogram of
one clip; its tolerance comes from the number of bins (see ``slope_sigma``).
"""
import numpy as np
import pytest
import torch

import augnoise
from augnoise import InputError, ParamError
from augnoise.audio import ColorNoise
from augnoise.audio.kernels import A_POLES, a_weighting_db
from augnoise.core import keys
from augnoise.core.kernels import kernel_for

RATE = 16000


def tone(n=RATE, rate=RATE, level=0.3, channels=1):
    """A 1 kHz + 100 Hz signal; channel c is 20*c dB quieter."""
    t = np.arange(n) / rate
    x = level * (np.sin(2 * np.pi * 1000 * t) + 0.5 * np.sin(2 * np.pi * 100 * t))
    return np.stack([x * 10.0 ** (-c) for c in range(channels)]).astype(np.float32)


def one_sided_power(z, rate):
    """``(frequencies, power per bin)`` of each row of ``z``: |X_k|^2 with the one-sided factors,
    over N^2, so the bins sum to the mean square (Parseval)."""
    z = np.atleast_2d(z).astype(np.float64)
    n = z.shape[-1]
    spec = np.fft.rfft(z, axis=-1)
    p = spec.real**2 + spec.imag**2
    p[:, 1:(n + 1) // 2] *= 2
    return np.fft.rfftfreq(n, 1.0 / rate), p / n**2


def run(t, x, rate=RATE, index=0, trace=None):
    p = augnoise.Pipeline(sample=[t], seed=11)
    return p({"audio": x, "sample_rate": rate}, index=index, trace=trace)["audio"]


# -- band --------------------------------------------------------------------------------------

@pytest.mark.parametrize("color", ["white", "pink", "brown", "violet"])
@pytest.mark.parametrize("n", [RATE, 4 * RATE + 7])  # an odd length too (no fast-length crop)
def test_default_band_leaves_no_power_below_20_hz(color, n):
    x = tone(n, channels=2)
    noise = run(ColorNoise(snr_db=10, color=color, clip=False), x).astype(np.float64) - x
    f, p = one_sided_power(noise, RATE)
    below = p[:, f < 20].sum(1) / p.sum(1)
    assert (below < 1e-9).all(), below  # float32 rounding of x + noise is ~1e-14 of the noise


def test_old_band_puts_brown_power_below_20_hz():
    """What the default changes: 0.4's brown noise (band [0, null]) is mostly infrasound."""
    x = tone(4 * RATE)
    for b in (ColorNoise(snr_db=10, color="brown", band=[0, None], clip=False),
              ColorNoise(snr_db=10, color="brown", clip=False)):
        fracs = []
        for i in range(4):
            f, p = one_sided_power(run(b, x, index=i).astype(np.float64) - x, RATE)
            fracs.append(p[:, f < 20].sum() / p.sum())
        if b.params.band[0] == 0:
            assert min(fracs) > 0.9
        else:
            assert max(fracs) < 1e-9


def test_band_upper_edge_and_odd_rate():
    rate = 22050
    x = tone(rate + 3, rate=rate, channels=2)
    noise = run(ColorNoise(snr_db=0, color="pink", band=[300, 3400], clip=False), x, rate=rate).astype(np.float64) - x
    f, p = one_sided_power(noise, rate)
    outside = p[:, (f < 300) | (f > 3400)].sum(1) / p.sum(1)
    assert (outside < 1e-9).all()
    # inside the band every bin carries noise (a 1/f weighting, not a notch)
    assert (p[:, (f >= 300) & (f <= 3400)] > 0).all()


@pytest.mark.parametrize("color, snr", [("brown", 10.0), ("pink", -5.0), ("blue", 25.0)])
def test_snr_holds_against_the_in_band_noise_per_channel(color, snr):
    """Signal power (all of it) over the noise power at >= 20 Hz, per channel: the drawn SNR.
    The DFT measure is exact, so the tolerance is float32 rounding (1e-3 dB is ~1e-4 relative)."""
    x = tone(2 * RATE + 1, channels=2)  # the second channel 20 dB quieter
    noise = run(ColorNoise(snr_db=snr, color=color, clip=False), x).astype(np.float64) - x
    f, p = one_sided_power(noise, RATE)
    in_band = p[:, f >= 20].sum(1)
    measured = 10 * np.log10((x.astype(np.float64) ** 2).mean(1) / in_band)
    assert np.allclose(measured, snr, atol=1e-3), measured


# -- slope range ---------------------------------------------------------------------------------

def slope_fit(noise, rate, lo=20.0):
    """Least-squares slope of ln(periodogram) against ln(f) over the in-band bins (Nyquist bin
    left out: it has one real degree of freedom), and its standard error. Each bin is
    |w_k G_k|^2 with G_k complex Gaussian: ln|G_k|^2 is ln 2 + ln(Exp(1)), whose variance is
    pi^2/6, independent across bins, so the slope's standard error is
    sqrt(pi^2/6 / sum((ln f - mean)^2)), fixed by the number and spread of the bins."""
    n = noise.shape[-1]
    spec = np.fft.rfft(noise.astype(np.float64))
    f = np.fft.rfftfreq(n, 1.0 / rate)
    keep = (f >= lo) & (np.arange(f.size) < (n + 1) // 2)
    lx, ly = np.log(f[keep]), np.log(np.abs(spec[keep]) ** 2)
    slope = np.polyfit(lx, ly, 1)[0]
    sigma = np.sqrt(np.pi**2 / 6 / ((lx - lx.mean()) ** 2).sum())
    return slope, sigma


def test_exponent_range_is_drawn_per_call_and_the_slope_matches_the_draw():
    t = ColorNoise(snr_db=20, exponent=[-2, 2], color="brown", clip=False)  # exponent wins over color
    x = tone(RATE)
    drawn = []
    for i in range(6):
        trace = []
        noise = run(t, x, index=i, trace=trace)[0].astype(np.float64) - x[0]
        b = trace[0][1]["exponent"]
        drawn.append(b)
        slope, sigma = slope_fit(noise, RATE)
        assert sigma < 0.02  # 16,000 bins from 20 Hz to 8 kHz
        assert abs(slope - (-b)) < 5 * sigma, (b, slope, sigma)
    assert all(-2 <= b <= 2 for b in drawn) and len(set(drawn)) == 6 and np.ptp(drawn) > 1


def test_fixed_exponent_and_named_colours_give_their_slopes():
    x = tone(RATE)
    for kw, b in (({"exponent": 1.5}, 1.5), ({"color": "violet"}, -2.0), ({"color": 0.5}, 0.5), ({}, 1.0)):
        noise = run(ColorNoise(snr_db=20, clip=False, **kw), x)[0].astype(np.float64) - x[0]
        slope, sigma = slope_fit(noise, RATE)
        assert abs(slope + b) < 5 * sigma, (kw, slope)


def test_exponent_draws_agree_between_the_stages():
    t = ColorNoise(snr_db=[0, 20], exponent=[-1, 2])
    p = augnoise.Pipeline(sample=[t], seed=5)
    tree = p._trees[keys.SAMPLE_STAGE]
    idx = np.array([0, 3, 9], np.uint64)
    zeros = np.zeros(3, np.uint64)
    rb = keys.batch_rand(tree, 5, keys.SAMPLE_STAGE, idx, zeros, zeros)[0]
    rb.below(t.p)
    batch = t.draw(rb)
    for j, i in enumerate(idx):
        r = keys.sample_rand(tree, 5, keys.SAMPLE_STAGE, 0, int(i))[0]
        r.below(t.p)
        one = t.draw(r)
        assert one["exponent"] == batch["exponent"][j] and one["key"] == int(batch["key"][j])


# -- A-weighting -----------------------------------------------------------------------------------

@pytest.mark.parametrize("band, db", [(0, 0.0), (-10, -19.1), (10, -2.5), (-15, -39.4), (-12, -26.2),
                                      (-6, -8.6), (-3, -3.2), (3, 1.2), (6, 1.0), (9, -1.1)])
def test_a_weighting_matches_the_iec_61672_table(band, db):
    """IEC 61672-1 table 3 at the exact base-10 band frequencies 1000 * 10**(band/10) Hz
    (nominally 1 kHz, 100 Hz, 10 kHz, 31.5, 63, 250, 500 Hz, 2, 4, 8 kHz)."""
    f = 1000.0 * 10 ** (band / 10)
    assert abs(float(a_weighting_db(f)) - db) < 0.05  # the table's values are rounded to 0.1 dB
    assert abs(float(a_weighting_db(1000.0))) < 1e-9


def a_weighted_power(z, rate):
    """A-weighted mean square per row, computed here from the IEC formula (poles as published)."""
    f1, f2, f3, f4 = 20.598997, 107.65265, 737.86223, 12194.217
    assert (f1, f2, f3, f4) == A_POLES
    f, p = one_sided_power(z, rate)

    def ra(f):
        return f4**2 * f**4 / ((f**2 + f1**2) * np.sqrt((f**2 + f2**2) * (f**2 + f3**2)) * (f**2 + f4**2))

    return (p * (ra(f) / ra(1000.0)) ** 2).sum(1)


@pytest.mark.parametrize("rate", [16000, 44100])
def test_a_weighted_snr_of_the_output(rate):
    x = tone(rate // 2 + 5, rate=rate, channels=2)
    t = ColorNoise(snr_db=12, color="brown", weighting="A", clip=False)
    noise = run(t, x, rate=rate).astype(np.float64) - x
    weighted = 10 * np.log10(a_weighted_power(x, rate) / a_weighted_power(noise, rate))
    assert np.allclose(weighted, 12, atol=1e-3), weighted
    # brown noise is mostly low frequency, which A-weighting discounts: unweighted, it is far louder
    plain = 10 * np.log10((x.astype(np.float64) ** 2).mean(1) / (noise**2).mean(1))
    assert (plain < 12 - 3).all(), plain


def test_a_weighting_with_the_old_band():
    x = tone(RATE, channels=1)
    noise = run(ColorNoise(snr_db=3, color="pink", band=[0, None], weighting="A", clip=False), x).astype(np.float64) - x
    assert abs(10 * np.log10(a_weighted_power(x, RATE) / a_weighted_power(noise, RATE))[0] - 3) < 1e-3


# -- backends --------------------------------------------------------------------------------------

@pytest.mark.parametrize("params", [
    {"snr_db": [0, 20], "exponent": [-2, 2]},
    {"snr_db": 5, "color": "brown", "band": [50, 5000], "weighting": "A", "per_channel": False},
    {"snr_db": 5, "exponent": [0, 0.5], "band": [0, None]},
])
def test_torch_kernel_equals_numpy_kernel_with_one_rate_per_clip(params):
    t = ColorNoise(**params)
    rates = np.array([8000, 16000, 44100, 22050], np.int64)
    x = np.stack([tone(1201, rate=int(r), channels=2) for r in rates])
    p = augnoise.Pipeline(batch=[t], seed=3)
    idx = np.arange(4, dtype=np.uint64)
    zeros = np.zeros(4, np.uint64)
    r = keys.batch_rand(p._trees[keys.BATCH_STAGE], 3, keys.BATCH_STAGE, idx, zeros, zeros)[0]
    r.below(t.p)
    drawn = {**t.draw(r), **t.inputs({"audio": x, "sample_rate": rates}, batched=True)}
    y_np = kernel_for(ColorNoise, "numpy")(t, x, drawn, None)
    y_t = kernel_for(ColorNoise, "torch")(t, torch.from_numpy(x), drawn, None).numpy()
    assert y_np.dtype == y_t.dtype == np.float32
    assert np.allclose(y_np, y_t, rtol=0, atol=1e-5)
    # each clip of the batch equals that clip alone (its own rate)
    for b in range(4):
        one = {k: (v[b] if isinstance(v, np.ndarray) and v.ndim == 1 else v) for k, v in drawn.items()}
        assert np.array_equal(kernel_for(ColorNoise, "numpy")(t, x[b:b + 1], one, None)[0], y_np[b])


# -- parameters and errors ------------------------------------------------------------------------

@pytest.mark.parametrize("band, msg", [
    ([30, 20], "band: lo must be < hi, got [30, 20]"),
    ([20, 20], "band: lo must be < hi, got [20, 20]"),
    ([-1, None], "band: lo must be within [0, 192000] Hz, got -1"),
    ([float("nan"), None], "band: lo must be finite, got nan"),
    ([20, 1e9], "band: hi must be within [0, 192000] Hz, got 1000000000.0"),
    ([20], "band: must be [lo_hz, hi_hz] (hi_hz null for the Nyquist frequency), got [20]"),
    ("low", "band: must be [lo_hz, hi_hz] (hi_hz null for the Nyquist frequency), got 'low'"),
    ([True, None], "band: lo must be a number of Hz, got True"),
])
def test_band_errors(band, msg):
    with pytest.raises(ParamError) as info:
        ColorNoise(band=band)
    assert msg in str(info.value) and "\n" not in str(info.value)


def test_other_param_errors_and_defaults():
    with pytest.raises(ParamError, match=r"weighting: must be one of 'none' or 'A', got 'B'"):
        ColorNoise(weighting="B")
    with pytest.raises(ParamError, match=r"exponent: lo must be <= hi, got \[2, 1\]"):
        ColorNoise(exponent=[2, 1])
    with pytest.raises(ParamError, match=r"exponent: hi must be <= 4, got 5"):
        ColorNoise(exponent=[0, 5])
    t = ColorNoise()
    assert t.params.band == [20.0, None] and t.params.weighting == "none" and t.exponent_param == 1.0
    assert ColorNoise(color="brown", exponent=[0, 1]).exponent_param == [0, 1]
    assert t.fields() == {"audio", "sample_rate"}
    assert ColorNoise(band=[0, None]).fields() == {"audio"}
    assert ColorNoise(band=[0, None], weighting="A").fields() == {"audio", "sample_rate"}


def test_yaml_round_trip_of_the_new_parameters():
    text = ("seed: 2\nsample:\n  - audio.ColorNoise: {snr_db: 10, exponent: [0.5, 1.5], band: [40, null], "
            "weighting: A}\n")
    p = augnoise.loads(text)
    q = augnoise.loads(p.dumps())
    x = tone(3000)
    s = {"audio": x, "sample_rate": RATE}
    assert np.array_equal(p(s, index=4)["audio"], q(s, index=4)["audio"])
    assert q.sample[0].params.band == [40, None] and q.sample[0].params.weighting == "A"


def test_sample_rate_errors_are_input_errors_naming_the_band():
    x = tone(1000)
    with pytest.raises(InputError, match=r"needs a positive integer 'sample_rate'"):
        augnoise.Pipeline(sample=[ColorNoise(snr_db=10)], seed=0)({"audio": x}, index=0)
    # the 0.4 band needs no rate
    y = augnoise.Pipeline(sample=[ColorNoise(snr_db=10, band=[0, None])], seed=0)({"audio": x}, index=0)["audio"]
    assert y.shape == x.shape and not np.array_equal(y, x)
    with pytest.raises(InputError, match=r"band: lower edge 5000 Hz is not below the Nyquist frequency 4000 Hz "
                                         r"of sample_rate 8000$"):
        run(ColorNoise(snr_db=10, band=[5000, None]), x, rate=8000)
    with pytest.raises(InputError, match=r"band: \[100, 101\] Hz holds no frequency bin of a 1000-sample clip at "
                                         r"sample_rate 16000 \(bins every 16 Hz\)$"):
        run(ColorNoise(snr_db=10, band=[100, 101]), x)
    # an upper edge above Nyquist means Nyquist
    f, p = one_sided_power(run(ColorNoise(snr_db=10, band=[20, 96000], clip=False), x).astype(np.float64) - x, RATE)
    assert p[0, -1] > 0
