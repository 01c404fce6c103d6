"""bench noises, part "background": audio.BackgroundNoise at an absolute level vs audiomentations
AddBackgroundNoise(noise_rms="absolute") on the same noise files (3 files of 2 s at 16 kHz,
written to a temp folder), float32 mono 16 kHz clips."""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Iterator

import numpy as np


def _noise_folder() -> Path:
    import soundfile as sf

    from augnoise.core.philox import standard_normal

    d = Path(tempfile.mkdtemp(prefix="augnoise-bench-background-"))
    for k in range(3):
        sf.write(str(d / f"noise{k}.wav"), (0.1 * standard_normal(32000, 10 + k)).astype(np.float32), 16000,
                 subtype="FLOAT")
    return d


def rows(rounds: int, budget: float, interleaved: Any, Row: Any) -> Iterator[Any]:
    import audiomentations as AM

    import augnoise
    from augnoise.audio import BackgroundNoise

    folder = _noise_folder()
    peer = AM.AddBackgroundNoise(sounds_path=str(folder), noise_rms="absolute", min_absolute_rms_db=-40.0,
                                 max_absolute_rms_db=-20.0, p=1.0)
    pipe = augnoise.Pipeline(sample=[BackgroundNoise(paths=str(folder), level={"mode": "absolute",
                                                                                "rms_db": [-40, -20]})], seed=0)
    for seconds in (1, 4):
        x = (0.3 * np.sin(np.arange(16000 * seconds) / 9)).astype(np.float32)
        sample = {"audio": x, "sample_rate": 16000}
        rp, ro = interleaved(lambda i: peer(samples=x, sample_rate=16000), lambda i: pipe(sample, index=i),
                             rounds, budget)
        yield Row("audio.BackgroundNoise (level absolute, -40..-20 dBFS)",
                  "AddBackgroundNoise (noise_rms absolute, -40..-20 dB)", f"{seconds} s 16 kHz mono float32, 3 files",
                  rp, ro, "clips/s")
