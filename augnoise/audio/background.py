"""audio.BackgroundNoise: real noise recordings mixed in at an exact SNR."""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from pydantic import Field, WithJsonSchema
from pydantic.functional_validators import BeforeValidator

from ..core.errors import InputError, ParamError
from ..core.files import resolve_path
from ..core.kernels import col, kernel
from ..core.params import RangeParam
from ..core.philox import stream_words
from ..core.transform import Example
from .base import AudioParams, AudioTransform, example_audio
from .checks import from_unit, to_unit
from .kernels import mix_at_snr

NOISE_SUFFIXES = {".wav", ".flac", ".ogg"}
#: files up to this long are decoded once per worker and cached; longer ones are read by segment
CACHE_SECONDS = 30.0
#: tries to find a non-silent segment before giving up
SEGMENT_TRIES = 8


def _check_paths(v: Any) -> Any:
    items = [v] if isinstance(v, str) else v
    if not isinstance(items, list) or not items or not all(isinstance(p, str) and p for p in items):
        raise ValueError(f"must be a file or folder path, or a non-empty list of them, got {v!r}")
    return v


Paths = Annotated[
    Any,
    BeforeValidator(_check_paths),
    WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}]}),
]


@dataclass(frozen=True)
class NoiseFile:
    path: str
    sample_rate: int
    frames: int
    channels: int
    mtime_ns: int


def _scan(paths: list[str]) -> list[NoiseFile]:
    """Resolve files and folders, check every file is readable and not silent."""
    import soundfile as sf

    files: list[Path] = []
    for raw in paths:
        p = resolve_path(raw)
        if p.is_dir():
            found = sorted(q for q in p.rglob("*") if q.suffix.lower() in NOISE_SUFFIXES and q.is_file())
            if not found:
                raise ValueError(f"folder {raw!r} holds no {'/'.join(sorted(NOISE_SUFFIXES))} files")
            files += found
        elif p.is_file():
            files.append(p)
        else:
            raise ValueError(f"{raw!r} does not exist (resolved to {p})")
    out = []
    for f in files:
        try:
            info = sf.info(str(f))
            peak = 0.0
            for block in sf.blocks(str(f), blocksize=1 << 16, dtype="float32", always_2d=True):
                peak = max(peak, float(np.abs(block).max(initial=0.0)))
        except (sf.LibsndfileError, RuntimeError, OSError) as err:
            raise ValueError(f"cannot read noise file {str(f)!r}: {err}") from None
        if info.frames == 0 or peak == 0.0:
            raise ValueError(f"noise file {str(f)!r} is silent (no non-zero sample)")
        out.append(NoiseFile(str(f), int(info.samplerate), int(info.frames), int(info.channels), os.stat(f).st_mtime_ns))
    return out


@functools.lru_cache(maxsize=64)
def _decoded(entry: NoiseFile, rate: int) -> np.ndarray:
    """Whole file as (C, M) float32 at ``rate``; cached per process (each DataLoader worker)."""
    import soundfile as sf

    data, _ = sf.read(entry.path, dtype="float32", always_2d=True)
    return _resample(data, entry.sample_rate, rate)


#: crossfade at the loop seam when a file is shorter than the clip (seconds)
LOOP_FADE_SECONDS = 0.02


@functools.lru_cache(maxsize=64)
def _looped(entry: NoiseFile, rate: int) -> np.ndarray:
    """One period of the file made seamless (see :func:`loop_period`), cached per process."""
    return loop_period(_decoded(entry, rate), rate)


def loop_period(data: np.ndarray, rate: int) -> np.ndarray:
    """One period of ``data`` made seamless: its last L samples are crossfaded (equal power,
    for uncorrelated noise) into its first L, so looping adds no click. Period M - L."""
    m = data.shape[1]
    fade = min(int(LOOP_FADE_SECONDS * rate), m // 4)
    if fade < 2:
        return data
    period = m - fade
    theta = (np.arange(fade, dtype=np.float32) + 0.5) / fade * (np.pi / 2)
    out = data[:, :period].copy()
    out[:, :fade] = data[:, :fade] * np.sin(theta) + data[:, period:] * np.cos(theta)
    return out


def _resample(data: np.ndarray, src: int, dst: int) -> np.ndarray:
    """(M, C) float32 -> (C, M') float32 at ``dst`` (soxr, high quality)."""
    if src != dst:
        import soxr

        data = soxr.resample(data, src, dst, quality="HQ")
    return np.ascontiguousarray(data.T, dtype=np.float32)


def is_long(entry: NoiseFile) -> bool:
    """Files longer than ``CACHE_SECONDS`` are read by segment instead of decoded whole."""
    return entry.frames / entry.sample_rate > CACHE_SECONDS


def _start(key: int, attempt: int, span: int) -> int:
    """A uniform start in [0, span) for ``attempt``: a 64-bit word pair of stream 1 of the key."""
    hi, lo = stream_words(key, 2 * attempt, 2, stream=1)
    return ((hi << 32 | lo) * span) >> 64


def _segment(entry: NoiseFile, n: int, rate: int, key: int, attempt: int) -> np.ndarray:
    """``n`` frames of noise at ``rate``: a random crop, or the file looped from a random start."""
    if not is_long(entry):
        data = _decoded(entry, rate)
        m = data.shape[1]
        if m >= n:
            start = _start(key, attempt, m - n + 1)
            return data[:, start : start + n]
        loop = _looped(entry, rate)
        start = _start(key, attempt, loop.shape[1])
        return loop[:, (start + np.arange(n)) % loop.shape[1]]
    import soundfile as sf

    need = int(np.ceil(n * entry.sample_rate / rate)) + 64  # a margin for the resampler
    need = min(need, entry.frames)
    start = _start(key, attempt, entry.frames - need + 1)
    with sf.SoundFile(entry.path) as fh:  # read only the needed part of a long file
        fh.seek(start)
        data = fh.read(need, dtype="float32", always_2d=True)
    seg = _resample(data, entry.sample_rate, rate)
    if seg.shape[1] < n:
        seg = seg[:, np.arange(n) % seg.shape[1]]
    return seg[:, :n]


class BackgroundNoise(AudioTransform):
    """Mix in a real noise recording at ``snr_db`` (exact, per channel, as in audio.GaussianSNR).

    ``paths`` is a file, a folder (searched for .wav/.flac/.ogg) or a list of them; relative
    paths are relative to the pipeline file. Every file is checked when the pipeline loads:
    unreadable or silent files are errors. For each call one file is drawn, then a random
    segment of the clip's length (looped from a random start if the file is shorter),
    resampled to the sample's ``sample_rate`` with soxr when the rates differ; a file shorter than
    the clip loops with a 20 ms equal-power crossfade at the seam, so looping adds no click. Mono noise goes
    to every channel; noise with the clip's channel count maps channel to channel; any other
    count is mixed down to mono first. Files up to 30 s are decoded once per worker process and
    cached; longer files are read by segment.
    """

    name = "audio.BackgroundNoise"
    exact_backends = False  # float64 reductions / FFT / transcendentals: equal up to rounding
    needs_rate = True

    class Params(AudioParams):
        paths: Paths = Field(..., description="noise file(s) or folder(s); relative to the pipeline file")
        snr_db: RangeParam(ge=-40, le=120, unit="dB") = Field([5.0, 20.0], description="signal-to-noise ratio in dB (RMS)")
        per_channel: bool = Field(True, description="hold the SNR on each channel (false: over all channels)")

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        paths = self.params.paths
        try:
            self.files = _scan([paths] if isinstance(paths, str) else list(paths))
        except ValueError as err:
            raise ParamError(self.name, [("paths", str(err))]) from None

    def draw(self, r: Any) -> dict[str, Any]:
        index = r.integers(len(self.files))
        names = np.array([Path(f.path).name for f in self.files])
        return {"snr_db": r.value(self.params.snr_db), "index": index, "file": names[index], "key": r.key()}

    def noise_for(self, entry: NoiseFile, n: int, channels: int, rate: int, key: int) -> np.ndarray:
        """``(channels, n)`` noise from ``entry`` for one clip: a non-silent segment mapped to
        the clip's channels."""
        for attempt in range(SEGMENT_TRIES):
            seg = _segment(entry, n, rate, key, attempt)
            if np.any(seg):
                break
        else:
            raise InputError(f"{SEGMENT_TRIES} random segments of {entry.path!r} were all silent")
        if seg.shape[0] != channels:
            seg = seg.mean(axis=0, keepdims=True) if seg.shape[0] != 1 else seg
            seg = np.broadcast_to(seg, (channels, seg.shape[1]))
        return seg


def _example_params() -> dict[str, Any]:
    """A noise folder for the conformance harness: two short generated recordings."""
    folder = _example_folder()
    return {"paths": str(folder), "snr_db": [5, 15]}


@functools.lru_cache(maxsize=1)
def _example_folder() -> Path:
    import tempfile

    import soundfile as sf

    from ..core.philox import standard_normal

    folder = Path(tempfile.mkdtemp(prefix="augnoise-example-noise-"))
    sf.write(str(folder / "hiss.wav"), 0.1 * standard_normal(3000, 1), 8000, subtype="FLOAT")
    sf.write(str(folder / "hum.flac"), 0.2 * np.sin(np.arange(500) / 8000 * 2 * np.pi * 60), 16000)
    return folder


BackgroundNoise.examples = (
    Example(_example_params, example_audio(np.float32, n=1200, rate=8000)),
    Example(lambda: {**_example_params(), "per_channel": False}, example_audio(np.int16, channels=2, n=700, rate=8000)),
)


@kernel(BackgroundNoise, "numpy")
def background(t: BackgroundNoise, x: np.ndarray, params: dict[str, Any], ctx: Any) -> np.ndarray:
    u = to_unit(x)
    b, c, n = u.shape
    rates = col(params["sample_rate"], np.int64)
    rates = np.broadcast_to(rates, (b,)) if rates.size == 1 else rates
    index, keys = col(params["index"], np.int64), col(params["key"], np.uint64)
    z = np.stack([t.noise_for(t.files[int(index[i])], n, c, int(rates[i]), int(keys[i])) for i in range(b)])
    return from_unit(mix_at_snr(u, z, col(params["snr_db"]), t.params.per_channel), x, t.params.clip)
