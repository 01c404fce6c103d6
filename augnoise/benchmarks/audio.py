"""augnoise bench audio: GaussianSNR and ColorNoise vs audiomentations AddGaussianSNR and
AddColorNoise, on 1 s 16 kHz mono and 10 s 44.1 kHz stereo float32, one thread each.

Rounds are interleaved and the median round is reported; augnoise runs through a Pipeline
(keyed generator per sample included). The same run measures what each library delivers:
the SNR on each channel of a stereo clip whose right channel is 20 dB quieter, and the
spectral slope of the pink noise; then (:func:`fidelity`, also ``python benchmarks/audio.py
--fidelity`` alone) how each library's SNR is defined on that stereo clip, what clipping does
to the measured SNR at 0 dB on a full-scale tone, and the fraction of colour-noise power below
20 Hz (audiomentations ``AddColorNoise``, augnoise 0.4 ``band: [0, null]``, augnoise 0.5 default
band from 20 Hz). audiomentations draws from numpy's and Python's global generators: they are
seeded here so the figures repeat.
"""
from __future__ import annotations

import sys

import numpy as np

from ._common import machine, median, rate, single_thread

SNR = 20.0
PINK_DB_PER_OCTAVE = -10 * np.log10(2)  # -3.01


def clip(seconds: float, sr: int, channels: int) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    x = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.1 * np.sin(2 * np.pi * 3000 * t)
    levels = [1.0, 0.1][:channels]  # second channel 20 dB quieter
    out = np.stack([x * g for g in levels]).astype(np.float32)
    return out[0] if channels == 1 else out


def snr_per_channel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    x2, n2 = np.atleast_2d(x).astype(np.float64), np.atleast_2d(y - x).astype(np.float64)
    return 10 * np.log10((x2**2).sum(1) / (n2**2).sum(1))


def slope(noise: np.ndarray, sr: int) -> float:
    from scipy.signal import welch

    f, p = welch(np.atleast_2d(noise)[0].astype(np.float64), fs=sr, nperseg=8192)
    band = (f >= 50) & (f <= 8000)
    return float(np.polyfit(np.log2(f[band]), 10 * np.log10(p[band]), 1)[0])


def main(quick: bool = False) -> int:
    single_thread()
    import audiomentations as am

    import augnoise
    from augnoise.audio import ColorNoise, GaussianSNR

    rounds, budget = (3, 0.2) if quick else (7, 1.5)
    ours = {
        "GaussianSNR": augnoise.Pipeline(sample=[GaussianSNR(snr_db=SNR, clip=False)], seed=0),
        "ColorNoise (pink)": augnoise.Pipeline(sample=[ColorNoise(snr_db=SNR, color="pink", clip=False)], seed=0),
    }
    peers = {
        "GaussianSNR": am.AddGaussianSNR(min_snr_db=SNR, max_snr_db=SNR, p=1.0),
        "ColorNoise (pink)": am.AddColorNoise(min_snr_db=SNR, max_snr_db=SNR, min_f_decay=PINK_DB_PER_OCTAVE,
                                              max_f_decay=PINK_DB_PER_OCTAVE, p=1.0),
    }
    peer_names = {"GaussianSNR": "AddGaussianSNR", "ColorNoise (pink)": "AddColorNoise"}
    cases = [("1 s 16 kHz mono", 1.0, 16000, 1), ("10 s 44.1 kHz stereo", 10.0, 44100, 2)]

    print(f"augnoise bench audio: SNR {SNR} dB, float32, one thread")
    print(f"machine: {machine()}")
    print()
    print("| transform | clip | audiomentations (clips/s) | augnoise (clips/s) | ratio |")
    print("|---|---|---:|---:|---:|")
    for name, pipe in ours.items():
        peer = peers[name]
        for label, seconds, sr, ch in cases:
            x = clip(seconds, sr, ch)
            sample = {"audio": x, "sample_rate": sr}
            probe = rate(lambda i: peer(x, sample_rate=sr), 2, 1)[0]
            calls = max(2, int(probe * budget / rounds))
            ra, ro = [], []
            for _ in range(rounds):
                ra += rate(lambda i: peer(x, sample_rate=sr), calls, 1)
                ro += rate(lambda i: pipe(sample, index=i), calls, 1)
            a, o = median(ra), median(ro)
            print(f"| {name} vs {peer_names[name]} | {label} | {a:,.1f} | {o:,.1f} | {o / a:.2f}x |")

    print()
    print(f"Delivered SNR per channel (requested {SNR} dB; stereo 10 s 44.1 kHz, right channel 20 dB quieter)")
    print("and spectral slope of the pink noise (target -3.01 dB/octave), same run:")
    print()
    print("| transform | library | SNR left (dB) | SNR right (dB) | slope (dB/oct) |")
    print("|---|---|---:|---:|---:|")
    x = clip(10.0, 44100, 2)
    for name, pipe in ours.items():
        for lib, y in (("audiomentations", peers[name](x, sample_rate=44100)),
                       ("augnoise", pipe({"audio": x, "sample_rate": 44100}, index=0)["audio"])):
            s = snr_per_channel(x, y)
            sl = f"{slope(y - x, 44100):+.2f}" if "Color" in name else "-"
            print(f"| {name} | {lib} | {s[0]:.2f} | {s[1]:.2f} | {sl} |")
    fidelity(quick)
    return 0


def power_below(noise: np.ndarray, sr: int, hz: float = 20.0) -> float:
    """Fraction of the power of ``noise`` (``(C, N)`` or ``(N,)``) in DFT bins below ``hz``
    (exact by Parseval: the clip's own DFT, one-sided factors, no window)."""
    z = np.atleast_2d(noise).astype(np.float64)
    n = z.shape[-1]
    spec = np.fft.rfft(z, axis=-1)
    p = spec.real**2 + spec.imag**2
    p[:, 1:(n + 1) // 2] *= 2  # one-sided: every bin but DC and (even n) Nyquist counts twice
    f = np.fft.rfftfreq(n, 1.0 / sr)
    return float(p[:, f < hz].sum() / p.sum())


def fidelity(quick: bool = False) -> dict[str, float]:
    """Print (and return) the figures docs/benchmarks.md quotes about audiomentations 0.43 and augnoise:
    per-channel SNR definitions, clipping at 0 dB, colour-noise power below 20 Hz."""
    import random

    import audiomentations as am

    import augnoise
    from augnoise.audio import ColorNoise, GaussianSNR

    out: dict[str, float] = {}
    np.random.seed(0)
    random.seed(0)
    sr = 44100
    x = clip(10.0, sr, 2)
    print()
    print(f"How the SNR is defined (requested {SNR} dB; 10 s 44.1 kHz stereo, right channel 20 dB quieter):")
    print()
    print("| computation | SNR left (dB) | SNR right (dB) |")
    print("|---|---:|---:|")
    ms = (x.astype(np.float64) ** 2).mean(1)
    rows = {
        "audiomentations AddGaussianSNR (measured)": snr_per_channel(
            x, am.AddGaussianSNR(min_snr_db=SNR, max_snr_db=SNR, p=1.0)(x, sample_rate=sr)),
        "noise RMS from the mean of the channel RMS values (formula)": 10 * np.log10(
            ms / (np.sqrt(ms).mean() * 10 ** (-SNR / 20)) ** 2),
        "noise RMS from the RMS over all channels (formula)": 10 * np.log10(ms / (ms.mean() * 10 ** (-SNR / 10))),
        "augnoise GaussianSNR per_channel: false (measured)": snr_per_channel(
            x, augnoise.Pipeline(sample=[GaussianSNR(snr_db=SNR, per_channel=False, clip=False)], seed=0)(
                {"audio": x}, index=0)["audio"]),
        "augnoise GaussianSNR per_channel: true (measured)": snr_per_channel(
            x, augnoise.Pipeline(sample=[GaussianSNR(snr_db=SNR, clip=False)], seed=0)({"audio": x}, index=0)["audio"]),
    }
    for label, s in rows.items():
        print(f"| {label} | {s[0]:.2f} | {s[1]:.2f} |")
        out[f"snr {label} left"], out[f"snr {label} right"] = float(s[0]), float(s[1])

    print()
    print("Clipping at 0 dB SNR on a full-scale 440 Hz tone (1 s 16 kHz mono), SNR measured on the output:")
    print()
    print("| computation | peak | measured SNR (dB) |")
    print("|---|---:|---:|")
    t = np.arange(16000) / 16000
    tone = np.sin(2 * np.pi * 440 * t).astype(np.float32)
    cases = {
        "audiomentations AddGaussianSNR (no clipping)": am.AddGaussianSNR(min_snr_db=0.0, max_snr_db=0.0, p=1.0)(tone, sample_rate=16000),
    }
    for mode in (False, True, "rescale"):
        cases[f"augnoise GaussianSNR clip: {str(mode).lower()}"] = augnoise.Pipeline(
            sample=[GaussianSNR(snr_db=0, clip=mode)], seed=0)({"audio": tone}, index=0)["audio"]
    for label, y in cases.items():
        if "rescale" in label:  # rescaling scales signal and noise alike: the SNR is against the scaled tone
            peak = float(np.abs(cases["augnoise GaussianSNR clip: false"]).max())
            s = snr_per_channel(tone / peak, y)[0]
        else:
            s = snr_per_channel(tone, y)[0]
        print(f"| {label} | {float(np.abs(y).max()):.2f} | {s:+.2f} |")
        out[f"clip {label}"] = float(s)
    clipped = augnoise.Pipeline(sample=[GaussianSNR(snr_db=0)], seed=0)
    spread = [snr_per_channel(tone, clipped({"audio": tone}, index=i)["audio"])[0] for i in range(8)]
    print(f"\nclip: true over 8 draws (indices 0-7): {min(spread):+.2f} to {max(spread):+.2f} dB, "
          f"mean {np.mean(spread):+.2f} dB")
    out["clip true mean of 8"] = float(np.mean(spread))

    print()
    print("Colour noise: fraction of its power below 20 Hz (16 kHz mono, mean over "
          f"{4 if quick else 16} clips; the in-band level is how far the >= 20 Hz noise lies below the requested level):")
    print()
    print("| colour | clip | audiomentations AddColorNoise | augnoise band [0, null] (0.4) | augnoise default band [20, null] (0.5) |")
    print("|---|---|---:|---:|---:|")
    sr = 16000
    reps = 4 if quick else 16
    for colour, decay in (("pink", -10 * np.log10(2)), ("brown", -20 * np.log10(2))):
        for seconds in (1.0, 4.0):
            n = int(seconds * sr)
            tone = (0.3 * np.sin(2 * np.pi * 1000 * np.arange(n) / sr)).astype(np.float32)
            peer = am.AddColorNoise(min_snr_db=SNR, max_snr_db=SNR, min_f_decay=decay, max_f_decay=decay, p=1.0)
            old = augnoise.Pipeline(sample=[ColorNoise(snr_db=SNR, color=colour, band=[0, None], clip=False)], seed=0)
            new = augnoise.Pipeline(sample=[ColorNoise(snr_db=SNR, color=colour, clip=False)], seed=0)
            fracs = [
                np.mean([power_below(peer(tone, sample_rate=sr) - tone, sr) for _ in range(reps)]),
                np.mean([power_below(old({"audio": tone, "sample_rate": sr}, index=i)["audio"] - tone, sr) for i in range(reps)]),
                np.mean([power_below(new({"audio": tone, "sample_rate": sr}, index=i)["audio"] - tone, sr) for i in range(reps)]),
            ]
            cells = [f"{100 * f:.1f}% ({10 * np.log10(max(1 - f, 1e-300)):+.1f} dB)" if f > 1e-6 else f"{f:.1e} ({0:+.1f} dB)"
                     for f in fracs]
            print(f"| {colour} | {seconds:g} s | " + " | ".join(cells) + " |")
            for lib, f in zip(("audiomentations", "augnoise 0.4", "augnoise 0.5"), fracs):
                out[f"below20 {colour} {seconds:g}s {lib}"] = float(f)
    return out


if __name__ == "__main__":
    if "--fidelity" in sys.argv:
        single_thread()
        fidelity(quick="--quick" in sys.argv)
        sys.exit(0)
    sys.exit(main(quick="--quick" in sys.argv))
