"""Rows of ``augnoise bench noises``: audio.ShortNoises vs audiomentations AddShortNoises.

Both get the same three noise files (generated here: 0.1, 0.3 and 0.5 s of Gaussian noise at
16 kHz, float32), a float32 mono 16 kHz tone of 1 s and 4 s, relative level SNR 0..20 dB against
the whole clip (AddShortNoises' default ``relative_to_whole_input``), raised fades on both sides
and about two noises per second. AddShortNoises places a noise, waits for it to end, then pauses
``uniform(min, max)_time_between_sounds``: with files of mean 0.3 s and pauses of 0.1..0.3 s
(mean 0.2 s) one cycle lasts 0.5 s on average, i.e. 2 noises per second; bursts are switched off
(``burst_probability`` 1e-9, it must be > 0). :func:`peer_rate` measures the rate it really
gives, printed in the input column. The synthetic row times augnoise's white bursts (0.1..0.5 s)
against the same peer with files (it has no synthetic source).
"""
from __future__ import annotations

import random
import tempfile
from pathlib import Path

import numpy as np

SR = 16000
FADE_IN = [0.005, 0.01]
FADE_OUT = [0.01, 0.02]


def _files() -> str:
    import soundfile as sf

    folder = Path(tempfile.mkdtemp(prefix="augnoise-bench-short-"))
    rng = np.random.default_rng(0)
    for i, seconds in enumerate((0.1, 0.3, 0.5)):
        sf.write(str(folder / f"noise{i}.wav"), (0.1 * rng.standard_normal(int(seconds * SR))).astype(np.float32),
                 SR, subtype="FLOAT")
    return str(folder)


def peer_rate(peer, seconds: float, trials: int = 400) -> float:
    """Noises per second AddShortNoises places inside a clip (its own draws, seeded)."""
    random.seed(0)
    x = np.zeros(int(seconds * SR), np.float32)
    total = 0
    for _ in range(trials):
        peer.randomize_parameters(x, SR)
        total += sum(1 for s in peer.parameters["sounds"] if s["end"] > 0 and s["start"] < seconds)
    return total / trials / seconds


def rows(rounds, budget, interleaved, Row):
    import audiomentations as am

    import augnoise
    from augnoise.audio.short import ShortNoises

    folder = _files()
    peer = am.AddShortNoises(sounds_path=folder, min_snr_db=0, max_snr_db=20, min_time_between_sounds=0.1,
                             max_time_between_sounds=0.3, burst_probability=1e-9, min_fade_in_time=FADE_IN[0],
                             max_fade_in_time=FADE_IN[1], min_fade_out_time=FADE_OUT[0],
                             max_fade_out_time=FADE_OUT[1], noise_rms="relative_to_whole_input", p=1.0)
    common = {"level": {"mode": "relative", "snr_db": [0, 20]}, "fade_in": FADE_IN, "fade_out": FADE_OUT,
              "clip": False}
    sources = {"3 files": {"paths": folder}, "white bursts 0.1-0.5 s": {"synthetic": {"color": "white",
                                                                                      "duration": [0.1, 0.5]}}}
    peer_name = "AddShortNoises (3 files, pauses 0.1-0.3 s, no bursts, fades)"
    for label, source in sources.items():
        for seconds in (1.0, 4.0):
            # the rate AddShortNoises really gives on this clip length (its start offset adds some
            # on short clips), so both place the same expected number of noises
            got = round(peer_rate(peer, seconds, trials=100 if budget < 1 else 400), 2)
            pipe = augnoise.Pipeline(sample=[ShortNoises(**source, rate=got, **common)], seed=0)
            t = np.arange(int(seconds * SR)) / SR
            x = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
            sample = {"audio": x, "sample_rate": SR}
            pr, ours = interleaved(lambda i, x=x: peer(x, SR), lambda i, p=pipe, s=sample: p(s, index=i), rounds, budget)
            yield Row(f"audio.ShortNoises ({label}, SNR 0-20 dB, fades)", peer_name,
                      f"{seconds:g} s 16 kHz mono float32, {got:.2f} noises/s", pr, ours, "clips/s")
