"""Audio files through soundfile: read as (C, N) keeping PCM depth, write in the same format."""
from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.errors import InputError, escape
from ..core.files import atomic_write, open_regular

AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".aiff", ".aif", ".au", ".mp3"}

#: lowest sample rate (Hz) a file's header may declare
MIN_SAMPLE_RATE = 1
#: highest sample rate (Hz) a file's header, or a sample's ``sample_rate``, may declare (the
#: highest rate of common audio hardware); a WAV header claiming 400 MHz is refused, not resampled
MAX_SAMPLE_RATE = 384_000
#: most samples (frames x channels) one file may decode to, at its own rate or after resampling:
#: 2**28 = 268,435,456 samples, 1 GiB as float32, about 46 minutes of 48 kHz stereo. Checked from
#: the header before anything is decoded, so an absurd header costs nothing.
MAX_SAMPLES = 2**28

#: soundfile subtype -> the dtype we read it as (others read as float32)
_SUBTYPE_DTYPE = {"PCM_16": "int16", "PCM_S8": "int16", "PCM_U8": "int16", "PCM_24": "int32", "PCM_32": "int32"}


@dataclass(frozen=True)
class AudioInfo:
    sample_rate: int
    format: str
    subtype: str
    channels: int
    frames: int


def header_problem(sample_rate: int, frames: int, channels: int) -> str | None:
    """Why a file with this header must not be decoded (a one-line reason), or None when its
    rate lies in ``MIN_SAMPLE_RATE..MAX_SAMPLE_RATE`` and it decodes to at most ``MAX_SAMPLES``."""
    if not MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE:
        return (f"the header declares a sample rate of {sample_rate} Hz, outside "
                f"{MIN_SAMPLE_RATE}..{MAX_SAMPLE_RATE} Hz (a corrupt or hostile header)")
    if channels < 1 or frames < 0:
        return f"the header declares {channels} channels and {frames} frames"
    if frames * channels > MAX_SAMPLES:
        return (f"the header declares {frames} frames x {channels} channels = {frames * channels} samples; "
                f"the limit is {MAX_SAMPLES} (2**28) samples")
    return None


def _reason(err: BaseException) -> str:
    """One short line for a decoder's exception (MemoryError and friends carry no text)."""
    why = getattr(err, "error_string", None) or (err.strerror if isinstance(err, OSError) else None) or str(err)
    text = str(why).strip().splitlines()
    return escape(text[0] if text else type(err).__name__, 200)


def read_audio(path: str | os.PathLike[str]) -> tuple[np.ndarray, AudioInfo]:
    """Read an audio file as ``(C, N)`` (int16 / int32 for PCM, float32 otherwise). Only a
    regular file is opened (a FIFO never hangs), and its header is checked before decoding
    (:func:`header_problem`); every failure is one :class:`InputError` line naming the file."""
    import soundfile as sf

    shown = escape(os.fspath(path))
    try:
        fd = open_regular(path)
    except OSError as err:
        raise InputError(f"{shown}: not a readable audio file ({_reason(err)})") from None
    try:
        with sf.SoundFile(fd, closefd=False) as fh:
            rate, frames, channels = int(fh.samplerate), int(fh.frames), int(fh.channels)
            problem = header_problem(rate, frames, channels)
            if problem is not None:
                raise InputError(f"{shown}: {problem}")
            info = AudioInfo(rate, fh.format, fh.subtype, channels, frames)
            data = fh.read(dtype=_SUBTYPE_DTYPE.get(info.subtype, "float32"), always_2d=True)
    except InputError:
        raise
    except Exception as err:  # libsndfile, numpy allocation, overflow on absurd headers
        raise InputError(f"{shown}: not a readable audio file ({_reason(err)})") from None
    finally:
        os.close(fd)
    if data.size == 0:
        raise InputError(f"{shown}: audio file holds no samples")
    if data.shape[0] != info.frames:  # a header that over-states the data: report what was read
        info = AudioInfo(info.sample_rate, info.format, info.subtype, info.channels, int(data.shape[0]))
    return np.ascontiguousarray(data.T), info


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
    """Spectrograms of every clip, one row per channel (stereo: two rows per clip), stacked, on
    one dB colour scale. Silence (zero power) is drawn in the darkest colour; when every clip is
    silent the scale tops at -60 dB so nothing looks loud."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy.signal import spectrogram

    from .checks import to_unit

    rows = []
    for clip, title in zip(clips, titles):
        u = to_unit(clip[None])[0].astype(np.float64)  # (channels, n)
        for ch in range(u.shape[0]):
            x = u[ch]
            nper = int(min(512, max(16, 2 ** int(np.log2(max(x.size, 16))) // 4)))
            f, t, s = spectrogram(x, fs=sample_rate, nperseg=min(nper, x.size), noverlap=None, scaling="spectrum")
            with np.errstate(divide="ignore"):
                db = 10 * np.log10(s)  # -inf where silent: below the scale, the darkest colour
            rows.append((f, t, db, title if u.shape[0] == 1 else f"{title} [ch {ch}]"))
    finite = [float(d[np.isfinite(d)].max()) for _, _, d, _ in rows if np.isfinite(d).any()]
    vmax = max(finite) if finite else -60.0
    fig, axes = plt.subplots(len(rows), 1, figsize=(9, 2.0 * len(rows) + 0.6), sharex=True, squeeze=False)
    cmap = matplotlib.colormaps["magma"].copy()
    cmap.set_under(cmap(0.0))
    for ax, (f, t, db, title) in zip(axes[:, 0], rows):
        mesh = ax.pcolormesh(t, f / 1000.0, np.where(np.isfinite(db), db, vmax - 200), shading="auto", cmap=cmap,
                             vmin=vmax - 90, vmax=vmax)
        ax.set_ylabel("kHz")
        ax.set_title(title, fontsize=8, loc="left")
    axes[-1, 0].set_xlabel("time (s)")
    fig.colorbar(mesh, ax=axes[:, 0], label="power (dB)", fraction=0.03)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return atomic_write(path, buf.getvalue())
