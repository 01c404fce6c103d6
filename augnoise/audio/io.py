"""Audio files through soundfile: read as (C, N) keeping PCM depth, write in the same format."""
from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.errors import InputError
from ..core.files import atomic_write

AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".aiff", ".aif", ".au", ".mp3"}

#: soundfile subtype -> the dtype we read it as (others read as float32)
_SUBTYPE_DTYPE = {"PCM_16": "int16", "PCM_S8": "int16", "PCM_U8": "int16", "PCM_24": "int32", "PCM_32": "int32"}


@dataclass(frozen=True)
class AudioInfo:
    sample_rate: int
    format: str
    subtype: str
    channels: int
    frames: int


def read_audio(path: str | os.PathLike[str]) -> tuple[np.ndarray, AudioInfo]:
    """Read an audio file as ``(C, N)`` (int16 / int32 for PCM, float32 otherwise)."""
    import soundfile as sf

    try:
        info = sf.info(str(path))
        dtype = _SUBTYPE_DTYPE.get(info.subtype, "float32")
        data, rate = sf.read(str(path), dtype=dtype, always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError) as err:
        raise InputError(f"{path}: not a readable audio file ({err})") from None
    if data.size == 0:
        raise InputError(f"{path}: audio file holds no samples")
    meta = AudioInfo(int(rate), info.format, info.subtype, int(info.channels), int(info.frames))
    return np.ascontiguousarray(data.T), meta


def write_audio(path: str | os.PathLike[str], audio: np.ndarray, info: AudioInfo) -> Path:
    """Write ``(C, N)`` or ``(N,)`` audio atomically with ``info``'s rate, format and subtype."""
    import soundfile as sf

    buf = io.BytesIO()
    data = audio.T if audio.ndim == 2 else audio
    try:
        sf.write(buf, data, info.sample_rate, format=info.format, subtype=info.subtype)
    except (sf.LibsndfileError, RuntimeError, ValueError) as err:
        raise InputError(f"{path}: cannot encode audio as {info.format}/{info.subtype} ({err})") from None
    return atomic_write(path, buf.getvalue())


def spectrogram_png(path: str | os.PathLike[str], clips: list[np.ndarray], titles: list[str], sample_rate: int) -> Path:
    """One spectrogram per clip (channel 0), stacked, on a shared dB colour scale."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy.signal import spectrogram

    from .checks import to_unit

    specs = []
    for clip in clips:
        x = to_unit(clip[None])[0, 0].astype(np.float64)
        nper = int(min(512, max(16, 2 ** int(np.log2(max(x.size, 16))) // 4)))
        f, t, s = spectrogram(x, fs=sample_rate, nperseg=min(nper, x.size), noverlap=None, scaling="spectrum")
        specs.append((f, t, 10 * np.log10(s + 1e-12)))
    vmax = max(float(s.max()) for _, _, s in specs)
    fig, axes = plt.subplots(len(clips), 1, figsize=(9, 2.0 * len(clips) + 0.6), sharex=True, squeeze=False)
    for ax, (f, t, s), title in zip(axes[:, 0], specs, titles):
        mesh = ax.pcolormesh(t, f / 1000.0, s, shading="auto", cmap="magma", vmin=vmax - 90, vmax=vmax)
        ax.set_ylabel("kHz")
        ax.set_title(title, fontsize=8, loc="left")
    axes[-1, 0].set_xlabel("time (s)")
    fig.colorbar(mesh, ax=axes[:, 0], label="power (dB)", fraction=0.03)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return atomic_write(path, buf.getvalue())
