"""Regenerate the sample files in samples/ (deterministic; run from the repo root).

    python samples/make_samples.py
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent


def colour_scene(size: int = 256) -> np.ndarray:
    """A small RGB scene with smooth areas (where noise shows) and fine detail."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    img = np.zeros((size, size, 3), np.float32)
    img[..., 0] = 0.35 + 0.3 * y  # sky: blue at the top fading to pale
    img[..., 1] = 0.55 + 0.3 * y
    img[..., 2] = 0.95 - 0.1 * y
    hill = 0.62 + 0.08 * np.sin(6.0 * x + 1.0) + 0.03 * np.sin(23.0 * x)
    ground = y > hill
    img[ground] = np.stack([0.2 + 0.2 * y, 0.55 - 0.2 * y, 0.15 + 0 * y], -1)[ground]
    sun = (x - 0.78) ** 2 + (y - 0.2) ** 2 < 0.09**2
    img[sun] = (1.0, 0.85, 0.2)
    out = (img * 255 + 0.5).astype(np.uint8)
    # a house with a checkered wall: fine detail
    x0, y0, w, h = 40, 130, 80, 60
    cb = ((np.indices((h, w)) // 4).sum(0) % 2).astype(bool)
    wall = out[y0 : y0 + h, x0 : x0 + w]
    wall[cb] = (200, 60, 50)
    wall[~cb] = (240, 220, 200)
    roof = np.array([[x0 - 8, y0], [x0 + w + 8, y0], [x0 + w // 2, y0 - 40]], np.int32)
    cv2.fillPoly(out, [roof], (90, 40, 30))
    cv2.putText(out, "augnoise", (120, 240), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (255, 255, 255), 2, cv2.LINE_AA)
    return out


def gray_chart(size: int = 256) -> np.ndarray:
    """A grayscale test chart: zone plate, a ramp and flat patches at 0, 64, 128, 192, 255."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    r2 = ((x - size / 2) ** 2 + (y - size / 2) ** 2) / size
    img = 0.5 + 0.5 * np.cos(np.pi * r2 * 0.5)
    img[: size // 8] = x[: size // 8] / (size - 1)  # ramp
    for k, level in enumerate((0, 64, 128, 192, 255)):
        img[-size // 8 :, k * size // 5 : (k + 1) * size // 5] = level / 255
    return (img * 255 + 0.5).astype(np.uint8)


def chirp_tones(rate: int = 16000, seconds: float = 2.0) -> np.ndarray:
    """Stereo int16 (N, 2): a 200 Hz -> 4 kHz chirp over a harmonic A3 tone (220 Hz with
    harmonics) and a short note pattern; the right channel is the same 20 dB quieter, so
    per-channel SNR handling is audible and measurable."""
    t = np.arange(int(rate * seconds)) / rate
    f0, f1 = 200.0, 4000.0
    k = (f1 / f0) ** (1 / seconds)
    chirp = np.sin(2 * np.pi * f0 * (k**t - 1) / np.log(k))
    tone = sum(np.sin(2 * np.pi * 220 * h * t) / h for h in range(1, 6))
    notes = np.zeros_like(t)
    for i, f in enumerate((523.25, 659.25, 783.99, 1046.5)):
        on = (t >= 0.25 + 0.4 * i) & (t < 0.55 + 0.4 * i)
        notes[on] = np.sin(2 * np.pi * f * t[on]) * np.hanning(on.sum())
    left = 0.25 * chirp + 0.12 * tone + 0.3 * notes
    left *= 0.8 / np.abs(left).max()
    right = left * 0.1
    return np.round(np.stack([left, right], axis=1) * 32767).astype(np.int16)


def hum_and_hiss(rate: int = 8000, seconds: float = 3.0) -> np.ndarray:
    """Mono float32: 50 Hz mains hum with harmonics, pinkish hiss and a few clicks, at 8 kHz
    (so mixing it into 16 kHz audio exercises resampling)."""
    rng = np.random.default_rng(2024)
    n = int(rate * seconds)
    t = np.arange(n) / rate
    hum = sum(np.sin(2 * np.pi * 50 * h * t + h) / h**1.5 for h in range(1, 8))
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(spec.size, dtype=float)
    f[0] = 1
    hiss = np.fft.irfft(spec / np.sqrt(f), n)
    hiss /= np.abs(hiss).max()
    clicks = np.zeros(n)
    clicks[rng.integers(0, n, 12)] = rng.choice([-1.0, 1.0], 12)
    x = 0.4 * hum / np.abs(hum).max() + 0.4 * hiss + 0.5 * clicks
    return (0.9 * x / np.abs(x).max()).astype(np.float32)


def patients(rows: int = 200) -> str:
    """A small mixed-kind table: integer age and visits, continuous income and bmi, binary
    smoker, categorical blood type (strings), with a few missing cells."""
    rng = np.random.default_rng(7)
    age = rng.integers(18, 90, rows).astype(float)
    income = np.round(np.exp(rng.normal(10.5, 0.5, rows)), 2)
    bmi = np.round(rng.normal(26, 4, rows), 1)
    smoker = (rng.random(rows) < 0.25).astype(int)
    blood = rng.choice(["A", "B", "AB", "O"], rows, p=[0.4, 0.1, 0.05, 0.45])
    visits = rng.poisson(3, rows)
    age[rng.choice(rows, 6, replace=False)] = np.nan
    income[rng.choice(rows, 8, replace=False)] = np.nan
    lines = ["age,income,bmi,smoker,blood_type,visits"]
    for i in range(rows):
        a = "" if np.isnan(age[i]) else str(int(age[i]))
        inc = "" if np.isnan(income[i]) else f"{income[i]:.2f}"
        lines.append(f"{a},{inc},{bmi[i]:.1f},{smoker[i]},{blood[i]},{visits[i]}")
    return "\n".join(lines) + "\n"


def main() -> None:
    (HERE / "patients.csv").write_text(patients())
    import soundfile as sf

    sf.write(HERE / "chirp_tones.wav", chirp_tones(), 16000, subtype="PCM_16")
    # noise files live beside the pipelines that name them (files a pipeline names must stay
    # inside its folder)
    noise_dir = HERE.parent / "pipelines" / "noise"
    noise_dir.mkdir(exist_ok=True)
    sf.write(noise_dir / "hum_hiss.flac", hum_and_hiss(), 8000, subtype="PCM_16")
    cv2.imwrite(str(HERE / "scene.png"), cv2.cvtColor(colour_scene(), cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(HERE / "chart_gray.png"), gray_chart())
    for p in sorted([*HERE.glob("*.png"), *HERE.glob("*.wav"), *HERE.glob("*.csv"), *noise_dir.glob("*")]):
        print(f"{p.name}: {p.stat().st_size} bytes")


if __name__ == "__main__":
    main()
