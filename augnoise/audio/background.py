"""audio.BackgroundNoise: real noise recordings mixed in at an exact SNR."""
from __future__ import annotations

import functools
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from pydantic import Field, WithJsonSchema
from pydantic.functional_validators import BeforeValidator

from ..core.errors import InputError, ParamError, escape, locate
from ..core.files import UNREADABLE, PathRefused, open_regular, resolve_path
from ..core.kernels import col, kernel
from ..core.params import RangeParam
from ..core.philox import stream_words
from ..core.transform import Example, Step
from .base import AudioParams, AudioTransform, example_audio
from .checks import from_unit, to_unit
from .io import MAX_SAMPLE_RATE, MAX_SAMPLES, MIN_SAMPLE_RATE, header_problem
from .kernels import mean_square, mix_at_snr
from .level import Absolute, Level, absolute_gains

def _check_noise_steps(v: Any) -> Any:
    if isinstance(v, tuple):
        v = list(v)
    if not isinstance(v, list) or not v:
        raise ValueError("must be a non-empty list of steps")
    return v


#: noise_transform: a list of steps (built from YAML by the loader, located there)
NoiseSteps = Annotated[list, BeforeValidator(_check_noise_steps),
                      WithJsonSchema({"type": "array", "minItems": 1, "items": {"type": "object", "title": "step"}})]

NOISE_SUFFIXES = {".wav", ".flac", ".ogg"}
#: files up to this long are decoded once per worker and cached; longer ones are read by segment
CACHE_SECONDS = 30.0
#: tries to find a non-silent segment before giving up
SEGMENT_TRIES = 8
#: most noise files one BackgroundNoise step may use (all of its ``paths`` entries together);
#: a folder walk stops as soon as it finds one more
MAX_NOISE_FILES = 10_000
#: most folder entries (files, folders, links of any name) one step's folder walks may examine;
#: the walk stops there, so ``paths: /`` (in Python, unconfined) fails within seconds
MAX_WALK_ENTRIES = 100_000
#: frames read per block by the load-time peak scan are this many samples over the channels
SCAN_BLOCK_SAMPLES = 1 << 20


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
    #: the name messages use: the path as written in the pipeline (plus the part inside a folder)
    shown: str = ""


def _q(name: str) -> str:
    """A user-written path quoted for a message: one printable, bounded line."""
    return f"'{escape(name)}'"


def _named(entry: NoiseFile) -> str:
    return _q(entry.shown or entry.path)


def _confined(path: str | os.PathLike[str], shown: str) -> Path:
    """``resolve_path`` with a refusal naming the path as written (never the resolved one)."""
    try:
        return resolve_path(path)
    except PathRefused as err:
        msg, text = str(err), repr(os.fspath(path))
        rest = msg[len(text):] if msg.startswith(text) else f": {msg}"
        raise ValueError(f"{_q(shown)}{rest}") from None


class _Budget:
    """What the folder walks of one step may still examine and collect."""

    def __init__(self) -> None:
        self.examined = 0
        self.files = 0

    def entry(self, shown: str) -> None:
        self.examined += 1
        if self.examined > MAX_WALK_ENTRIES:
            raise ValueError(f"folder {_q(shown)}: the walk stopped after {MAX_WALK_ENTRIES} entries, the limit "
                             f"for one step's folders; name a smaller folder")

    def file(self, shown: str) -> None:
        self.files += 1
        if self.files > MAX_NOISE_FILES:
            raise ValueError(f"{_q(shown)}: more than {MAX_NOISE_FILES} noise files, the limit for one step "
                             f"(all paths entries together)")


def _walk(root: Path, raw: str, budget: _Budget) -> list[tuple[Path, str]]:
    """Noise files under the folder ``root`` (written ``raw``), sorted by path, each with the name
    messages use. Only regular files are taken (FIFOs, sockets, devices, dangling links are
    skipped, never opened); a link must point inside the allowed folders (``resolve_path``),
    a folder reached twice (a link loop) is walked once, and ``budget`` bounds the walk."""
    found: list[tuple[Path, str]] = []
    seen: set[tuple[int, int]] = set()
    try:
        st = os.stat(root)
    except (OSError, ValueError):
        raise ValueError(f"{_q(raw)}: {UNREADABLE}") from None
    seen.add((st.st_dev, st.st_ino))
    stack: list[tuple[Path, str]] = [(root, raw.rstrip("/\\") or raw)]
    while stack:
        folder, shown = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = []
                for e in it:
                    budget.entry(raw)
                    entries.append(e)
        except OSError:
            raise ValueError(f"{_q(shown)}: {UNREADABLE}") from None
        for e in sorted(entries, key=lambda e: e.name):
            name = f"{shown}/{e.name}"
            try:
                link = e.is_symlink()
            except OSError:
                continue
            noise = os.path.splitext(e.name)[1].lower() in NOISE_SUFFIXES
            if link:  # its target must lie inside the allowed folders too
                _confined(e.path if os.path.isabs(e.path) else os.path.join(os.getcwd(), e.path), name)
            elif not noise:
                try:  # the type from the folder listing: no system call for most entries
                    if not e.is_dir(follow_symlinks=False):
                        continue
                except OSError:
                    continue
            try:
                st = os.stat(e.path)  # follows links; never opens anything
            except (OSError, ValueError):  # dangling link, link loop, vanished
                continue
            if stat.S_ISDIR(st.st_mode):
                if (st.st_dev, st.st_ino) not in seen:
                    seen.add((st.st_dev, st.st_ino))
                    stack.append((Path(e.path), name))
            elif stat.S_ISREG(st.st_mode) and noise:
                budget.file(raw)
                found.append((Path(e.path), name))
    return sorted(found)


def _collect(paths: list[str]) -> list[tuple[Path, str]]:
    """Every noise file the ``paths`` entries name, with the names messages use."""
    budget = _Budget()
    files: list[tuple[Path, str]] = []
    for raw in paths:
        p = _confined(raw, raw)
        try:
            mode = os.stat(p).st_mode
        except (OSError, ValueError):
            mode = 0
        if stat.S_ISDIR(mode):
            found = _walk(p, raw, budget)
            if not found:
                raise ValueError(f"folder {_q(raw)} holds no {'/'.join(sorted(NOISE_SUFFIXES))} files")
            files += found
        elif stat.S_ISREG(mode):
            budget.file(raw)
            files.append((p, raw))
        else:  # missing, FIFO, socket, device: one message, nothing opened
            raise ValueError(f"{_q(raw)}: {UNREADABLE}")
    return files


class _Refused(Exception):
    """A header outside the bounds (kept apart from the decoder's own exceptions)."""


def _probe(path: Path, shown: str) -> NoiseFile:
    """Open one noise file (regular files only), check its header bounds before decoding, and
    scan it in blocks for a non-zero sample."""
    import soundfile as sf

    try:
        fd = open_regular(path)
    except OSError:
        raise ValueError(f"{_q(shown)}: {UNREADABLE}") from None
    try:
        with sf.SoundFile(fd, closefd=False) as fh:
            rate, frames, channels = int(fh.samplerate), int(fh.frames), int(fh.channels)
            problem = header_problem(rate, frames, channels)
            if problem is not None:
                raise _Refused(f"noise file {_q(shown)}: {problem}")
            peak, seen = 0.0, 0
            for block in fh.blocks(blocksize=max(1, SCAN_BLOCK_SAMPLES // channels), dtype="float32", always_2d=True):
                seen += block.shape[0]
                if seen * channels > MAX_SAMPLES:
                    raise _Refused(f"noise file {_q(shown)}: decodes to more than {MAX_SAMPLES} (2**28) samples")
                peak = max(peak, float(np.abs(block).max(initial=0.0)))
        mtime = os.fstat(fd).st_mtime_ns
    except _Refused as err:
        raise ValueError(str(err)) from None
    except Exception:  # libsndfile (unknown format...), overflow or allocation failure on odd headers
        raise ValueError(f"{_q(shown)}: {UNREADABLE}") from None
    finally:
        os.close(fd)
    if frames == 0 or peak == 0.0:
        raise ValueError(f"noise file {_q(shown)} is silent (no non-zero sample)")
    return NoiseFile(str(path), rate, frames, channels, mtime, shown)


def _scan(paths: list[str]) -> list[NoiseFile]:
    """Resolve files and folders (confined while a YAML pipeline loads), check every file is a
    regular, readable audio file within the header bounds, and not silent."""
    return [_probe(p, shown) for p, shown in _collect(paths)]


def _check_rate(rate: int) -> None:
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise InputError(f"sample_rate {rate} is outside {MIN_SAMPLE_RATE}..{MAX_SAMPLE_RATE} Hz")


def _read(entry: NoiseFile, start: int, count: int) -> np.ndarray:
    """``count`` frames of ``entry`` from ``start`` as (count, C) float32; the file must still be a
    regular file with the header seen at load time."""
    import soundfile as sf

    try:
        fd = open_regular(entry.path)
    except OSError:
        raise InputError(f"noise file {_named(entry)}: {UNREADABLE}") from None
    try:
        with sf.SoundFile(fd, closefd=False) as fh:
            if (int(fh.samplerate), int(fh.frames), int(fh.channels)) != (entry.sample_rate, entry.frames, entry.channels):
                raise _Refused(f"noise file {_named(entry)} changed since the pipeline was loaded")
            if start:
                fh.seek(start)
            return fh.read(count, dtype="float32", always_2d=True)
    except _Refused as err:
        raise InputError(str(err)) from None
    except Exception:
        raise InputError(f"noise file {_named(entry)}: {UNREADABLE}") from None
    finally:
        os.close(fd)


def _check_size(name: str, frames: int, channels: int, src: int, dst: int) -> None:
    """Refuse a resample whose output (frames x channels at ``dst``) would exceed MAX_SAMPLES."""
    out = -(-frames * dst // src)
    if out * channels > MAX_SAMPLES:
        raise InputError(f"{name} resampled from {src} Hz to {dst} Hz would hold {out * channels} samples; "
                         f"the limit is {MAX_SAMPLES} (2**28)")


@functools.lru_cache(maxsize=64)
def _decoded(entry: NoiseFile, rate: int) -> np.ndarray:
    """Whole file as (C, M) float32 at ``rate``; cached per process (each DataLoader worker).
    The rate and the resampled size are checked before the file is read."""
    _check_rate(rate)
    name = f"noise file {_named(entry)}"
    _check_size(name, entry.frames, entry.channels, entry.sample_rate, rate)
    return _resample(_read(entry, 0, entry.frames), entry.sample_rate, rate, name)


#: crossfade at the loop seam when a file is shorter than the clip (seconds)
LOOP_FADE_SECONDS = 0.02


@functools.lru_cache(maxsize=64)
@functools.lru_cache(maxsize=64)
def _looped(entry: NoiseFile, rate: int) -> np.ndarray:
    """One period of the file made seamless (see :func:`loop_period`), cached per process
    (read-only)."""
    period = loop_period(_decoded(entry, rate), rate)
    period.flags.writeable = False
    return period


def _wrapped(period: np.ndarray, start: int, n: int) -> np.ndarray:
    """``period[:, (start + arange(n)) % M]`` by slices: the tail from ``start``, whole periods,
    then the head."""
    m = period.shape[1]
    out = np.empty((period.shape[0], n), period.dtype)
    first = min(m - start, n)
    out[:, :first] = period[:, start:start + first]
    done = first
    while done < n:
        k = min(m, n - done)
        out[:, done:done + k] = period[:, :k]
        done += k
    return out


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


def _resample(data: np.ndarray, src: int, dst: int, name: str = "noise") -> np.ndarray:
    """(M, C) float32 -> (C, M') float32 at ``dst`` (soxr, high quality). Both rates must lie in
    ``MIN_SAMPLE_RATE..MAX_SAMPLE_RATE`` and the output hold at most ``MAX_SAMPLES`` samples."""
    if src != dst:
        _check_rate(src)
        _check_rate(dst)
        _check_size(name, data.shape[0], data.shape[1], src, dst)
        import soxr

        try:
            data = soxr.resample(data, src, dst, quality="HQ")
        except Exception as err:  # soxr's own limits, allocation
            raise InputError(f"{name}: cannot resample from {src} Hz to {dst} Hz ({type(err).__name__})") from None
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
        return _wrapped(loop, _start(key, attempt, loop.shape[1]), n)
    need = int(np.ceil(n * entry.sample_rate / rate)) + 64  # a margin for the resampler
    need = min(need, entry.frames)
    start = _start(key, attempt, entry.frames - need + 1)
    data = _read(entry, start, need)  # only the needed part of a long file
    seg = _resample(data, entry.sample_rate, rate, f"noise file {_named(entry)}")
    if seg.shape[1] < n:
        seg = seg[:, np.arange(n) % seg.shape[1]]
    return seg[:, :n]


class BackgroundNoise(AudioTransform):
    """Mix in a real noise recording at ``snr_db`` (exact, per channel, as in audio.GaussianSNR),
    or at an absolute level: ``level: {mode: absolute, rms_db: [lo, hi]}`` scales the noise
    segment to that RMS in dBFS (0 dB = RMS 1.0, per channel unless ``per_channel: false``)
    whatever the signal, so silent input gets noise too (``snr_db`` is short for
    ``level: {mode: relative, snr_db: ...}``; give one of them).

    ``paths`` is a file, a folder (searched for .wav/.flac/.ogg) or a list of them; relative
    paths are relative to the pipeline file, and a pipeline loaded from YAML may only name files
    inside its own folder (links included) unless the caller allows more
    (``augnoise.load(..., allow_paths=[...])``, ``--allow-path``). Every file is checked when the
    pipeline loads: a missing, unreadable, non-regular or unrecognised file is one message
    (``missing or unreadable``), silent files are errors, and headers outside
    1..384,000 Hz or over 2**28 decoded samples are refused before decoding. Folder walks take
    regular files only (FIFOs and devices are never opened), walk a link loop once, and stop
    at 10,000 noise files or 100,000 examined entries per step.

    For each call one file is drawn, then a random segment of the clip's length (looped from a
    random start if the file is shorter), resampled to the sample's ``sample_rate`` with soxr
    when the rates differ (both rates within 1..384,000 Hz, the result at most 2**28 samples); a
    file shorter than the clip loops with a 20 ms equal-power crossfade at the seam, so looping
    adds no click. Mono noise goes to every channel; noise with the clip's channel count maps channel to channel; any other
    count is mixed down to mono first. Files up to 30 s are decoded once per worker process and
    cached; longer files are read by segment.
    """

    name = "audio.BackgroundNoise"
    exact_backends = False  # float64 reductions / FFT / transcendentals: equal up to rounding
    needs_rate = True
    nested_steps = ("noise_transform",)  # built by the YAML loader as sub-steps k.1, k.2, ...

    class Params(AudioParams):
        paths: Paths = Field(..., description="noise file(s) or folder(s); relative to the pipeline file")
        snr_db: RangeParam(ge=-40, le=120, unit="dB") = Field([5.0, 20.0], description="signal-to-noise ratio in dB (RMS); short for level: {mode: relative, snr_db: ...}")
        level: Level | None = Field(None, description="{mode: relative, snr_db} or {mode: absolute, rms_db} (noise RMS in dBFS)")
        per_channel: bool = Field(True, description="hold the level on each channel (false: over all channels)")
        noise_transform: NoiseSteps | None = Field(None, description="audio steps applied to the noise before it is leveled and mixed (sub-steps k.1, k.2, ...)")

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        if self.params.level is not None and "snr_db" in self.params.model_fields_set:
            raise ParamError(self.name, [("level", "give snr_db or level, not both (snr_db is short for "
                                                   "level: {mode: relative, snr_db: ...})")])
        #: the noise_transform steps: children of this step in the key tree (paths k.1, k.2, ...)
        self.transforms: list[Step] = [_as_step(self.name, j, c) for j, c in enumerate(self.params.noise_transform or [])]
        for j, child in enumerate(self.transforms):
            for node in child.walk():
                if node.children():
                    continue
                if getattr(node, "modality", None) != "audio" or node.field != "audio":
                    raise ParamError(self.name, [("noise_transform", f"step {j + 1} ({node.name}): only audio steps on "
                                                                     "the field audio apply to the noise")])
        paths = self.params.paths
        try:
            self.files = _scan([paths] if isinstance(paths, str) else list(paths))
        except ValueError as err:
            raise ParamError(self.name, [("paths", str(err))]) from None
        self._names = np.array([Path(f.path).name for f in self.files])

    def draw(self, r: Any) -> dict[str, Any]:
        index = r.integers(len(self.files))
        names = self._names
        level = self.params.level
        if isinstance(level, Absolute):
            drawn = {"rms_db": r.value(level.rms_db)}
        else:
            drawn = {"snr_db": r.value(self.params.snr_db if level is None else level.snr_db)}
        return {**drawn, "index": index, "file": names[index], "key": r.key()}

    def children(self) -> list[Step]:
        return self.transforms

    def to_config(self) -> dict[str, Any]:
        cfg = super().to_config()
        if self.transforms:
            cfg[self.name]["noise_transform"] = [t.to_config() for t in self.transforms]
        return cfg

    def noise_stack(self, params: dict[str, Any], b: int, c: int, n: int) -> np.ndarray:
        """``(b, c, n)`` float32 noise for a batch (before levels): each clip's segment."""
        rates = col(params["sample_rate"], np.int64)
        rates = np.broadcast_to(rates, (b,)) if rates.size == 1 else rates
        index, keys = col(params["index"], np.int64), col(params["key"], np.uint64)
        return np.stack([self.noise_for(self.files[int(index[i])], n, c, int(rates[i]), int(keys[i]))
                         for i in range(b)]).astype(np.float32, copy=False)

    def _transformed(self, x: Any, params: dict[str, Any], data: dict[str, Any], r: Any, gate: Any,
                     ctx: Any) -> tuple[Any, list[Any]]:
        """The noise of a batch (``x``: the batch as given) after the noise_transform steps, each
        run as a sub-step ``k.j`` on ``{audio: noise, sample_rate: ...}`` (the batch stage's
        ``run_batch`` with ``gate``, or the sample stage's ``run`` when ``gate`` is None), and the
        sub-steps' trace entries (previews show them after this step's own)."""
        b, n = x.shape[0], x.shape[-1]
        c = 1 if x.ndim == 2 else x.shape[1]
        z: Any = self.noise_stack(params, b, c, n)
        if not isinstance(x, np.ndarray):  # a tensor: the children run on the data's device
            import torch

            z = torch.from_numpy(z).to(x.device)
        noise: dict[str, Any] = {"audio": z if gate is not None else z[0]}
        if "sample_rate" in data:
            noise["sample_rate"] = data["sample_rate"]
        trace = getattr(ctx, "trace", None)
        start = len(trace) if trace is not None else 0
        for j, child in enumerate(self.transforms):
            try:
                noise = child.run_batch(noise, r.child(j), gate, ctx) if gate is not None else \
                    child.run(noise, r.child(j), ctx)
            except InputError as err:
                raise locate(err, j + 1, child.name) from None
        sub = []
        if trace is not None:  # the sub-steps' drawn values, said to be on the noise (shown after this step's own)
            sub = [(f"{name} (on the noise)", vals) for name, vals in trace[start:]]
            del trace[start:]
        out = noise["audio"] if gate is not None else noise["audio"][None]
        floating = out.dtype.kind == "f" if isinstance(out, np.ndarray) else out.dtype.is_floating_point
        if tuple(out.shape) != (b, c, n) or not floating:
            raise InputError(f"noise_transform changed the noise from {(b, c, n)} float to {tuple(out.shape)} "
                             f"{out.dtype}: its steps must keep the shape")
        return out, sub

    def run(self, sample: dict[str, Any], r: Any, ctx: Any) -> dict[str, Any]:
        if not self.transforms:
            return super().run(sample, r, ctx)
        field = self.field
        if field not in sample:
            raise InputError(f"sample has no field {field!r} (fields: {', '.join(map(str, sample)) or 'none'})")
        if not r.below(self.p):
            return sample
        x = self.check(sample[field], ctx=ctx)
        drawn = self.drawn(r)
        params = {**drawn, **self.inputs(sample)}
        xb = x[None]
        params["noise"], sub = self._transformed(xb if xb.ndim == 3 else xb[:, None], params, sample, r, None, ctx)
        out = dict(sample)
        out[field] = self.apply(x, params, ctx)
        if ctx.trace is not None:
            from ..core.transform import trace_values

            ctx.trace.append((self.name, trace_values(drawn)))
            ctx.trace.extend(sub)
        return out

    def run_batch(self, data: dict[str, Any], r: Any, gate: np.ndarray, ctx: Any) -> dict[str, Any]:
        if not self.transforms:
            return super().run_batch(data, r, gate, ctx)
        from ..core.arrays import put_rows, take_rows
        from ..core.kernels import run_kernel

        field = self.field
        if field not in data:
            raise InputError(f"batch has no field {field!r} (fields: {', '.join(map(str, data)) or 'none'})")
        x = data[field]
        n = r.size
        if not hasattr(x, "shape") or x.ndim < 2 or x.shape[0] != n:
            raise InputError(f"field {field!r} must be an array with one row per sample ({n})")
        applied = gate & r.below(self.p)
        params = self.drawn(r)
        params.update(self.inputs(data, batched=True))
        x = self.check(x, batched=True, ctx=ctx)
        noise, _ = self._transformed(x if x.ndim == 3 else x[:, None], params, data, r, applied, ctx)
        sel = np.flatnonzero(applied)
        if sel.size == 0:
            return data
        out = dict(data)
        if sel.size == n:
            out[field] = run_kernel(self, x, {**params, "noise": noise}, ctx)
        else:
            part = {k: v[sel] if isinstance(v, np.ndarray) and v.ndim == 1 else v for k, v in params.items()}
            part["noise"] = noise[sel] if isinstance(noise, np.ndarray) else noise[_index(sel, noise)]
            out[field] = put_rows(x, sel, run_kernel(self, take_rows(x, sel), part, ctx.rows(sel)))
        return out

    def noise_for(self, entry: NoiseFile, n: int, channels: int, rate: int, key: int) -> np.ndarray:
        """``(channels, n)`` noise from ``entry`` for one clip: a non-silent segment mapped to
        the clip's channels."""
        _check_rate(rate)
        if n * max(channels, entry.channels) > MAX_SAMPLES:
            raise InputError(f"a clip of {n} frames needs more than {MAX_SAMPLES} (2**28) samples of noise")
        for attempt in range(SEGMENT_TRIES):
            seg = _segment(entry, n, rate, key, attempt)
            if np.any(seg):
                break
        else:
            raise InputError(f"{SEGMENT_TRIES} random segments of {_named(entry)} were all silent")
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
    Example(lambda: {"paths": str(_example_folder()), "level": {"mode": "absolute", "rms_db": [-40, -20]}},
            example_audio(np.float32, channels=2, n=900, rate=8000)),
    Example(lambda: {**_example_params(), "noise_transform": [_gaussian()(std=[0.01, 0.05], clip=False)]},
            example_audio(np.float32, channels=2, n=800, rate=8000)),
)


def _gaussian() -> Any:
    from .gaussian import GaussianNoise

    return GaussianNoise


def _as_step(name: str, j: int, item: Any) -> Step:
    """A noise_transform item: a step, or its single-key mapping (as ``to_config`` gives)."""
    if isinstance(item, Step):
        return item
    if isinstance(item, dict) and len(item) == 1:
        from ..core.config import from_data
        from ..core.errors import ConfigError

        try:
            return from_data({"sample": [item]}).sample[0]
        except ConfigError as err:
            first = err.problems[0]
            where = first.where.replace("step 1", f"step {j + 1}", 1) or f"step {j + 1}"
            field = f"{first.field}: " if first.field else ""
            raise ParamError(name, [("noise_transform", f"{where}: {field}{first.message}")]) from None
    raise ParamError(name, [("noise_transform", f"items must be steps, got {type(item).__name__}")])


def _index(sel: np.ndarray, like: Any) -> Any:
    import torch

    return torch.from_numpy(sel).to(like.device)


@kernel(BackgroundNoise, "numpy")
def background(t: BackgroundNoise, x: np.ndarray, params: dict[str, Any], ctx: Any) -> np.ndarray:
    u = to_unit(x)
    b, c, n = u.shape
    if "noise" in params:  # after noise_transform (see BackgroundNoise.run)
        z = np.asarray(params["noise"].cpu() if hasattr(params["noise"], "cpu") else params["noise"])
    else:
        rates = col(params["sample_rate"], np.int64)
        rates = np.broadcast_to(rates, (b,)) if rates.size == 1 else rates
        index, keys = col(params["index"], np.int64), col(params["key"], np.uint64)
        z = np.stack([t.noise_for(t.files[int(index[i])], n, c, int(rates[i]), int(keys[i])) for i in range(b)])
    if "rms_db" in params:  # absolute: the noise's own RMS, whatever the signal (silence included)
        g = absolute_gains(mean_square(z), col(params["rms_db"]), t.params.per_channel).astype(u.dtype)
        return from_unit(u + g[:, :, None] * z.astype(u.dtype, copy=False), x, t.params.clip)
    return from_unit(mix_at_snr(u, z, col(params["snr_db"]), t.params.per_channel), x, t.params.clip)
