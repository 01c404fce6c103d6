"""augnoise bench audio: GaussianSNR and ColorNoise vs audiomentations AddGaussianSNR and
AddColorNoise, on 1 s 16 kHz mono and 10 s 44.1 kHz stereo float32, one thread each.

Rounds are interleaved and the median round is reported; augnoise runs through a Pipeline
(keyed generator per sample included). The same run measures what each library delivers:
the SNR on each channel of a stereo clip whose right channel is 20 dB quieter, and the
spectral slope of the pink noise.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.append(str(Path(__file__).resolve().parent))  # after site-packages: ray.py must not shadow ray
from _common import machine, median, rate, single_thread  # noqa: E402

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
    return 0


if __name__ == "__main__":
    sys.exit(main(quick="--quick" in sys.argv))
