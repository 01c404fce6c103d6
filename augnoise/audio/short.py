"""audio.ShortNoises: transient noises (files or synthetic bursts) placed at random times, each at
its own level, with fades and optional ducking of the signal under them.

The event plan of a clip (count, starts, sources, crops, levels, fades, ducking) is a function of
the clip's 64-bit kernel key, its length and its sample rate only, computed on the host by
:meth:`ShortNoises.events`; the numpy and the torch kernel render the same plan.

Key streams (Philox words of the kernel key K, :func:`augnoise.core.philox.uniform32`):

* stream 0: the Poisson part of the count, two words per chunk of mean <= 64 (inversion);
* stream 1: eight words per event j at 8j..8j+7: start (w0, w1: 53 bits), file (w2), crop
  offset or burst duration (w3), level (w4), fade-in (w5), fade-out (w6), ducking (w7); a 32-bit
  word is the uniform (w + 0.5) / 2**32;
* stream 2: two words per event, the 64-bit key of a synthetic burst's samples (the
  ``audio.ColorNoise`` synthesis of :func:`augnoise.audio.kernels.color_noise`).
"""
from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema
from pydantic.functional_validators import BeforeValidator

from ..core.errors import InputError, ParamError
from ..core.kernels import col, kernel
from ..core.params import RangeParam, show
from ..core.transform import Example
from .background import (
    CACHE_SECONDS,
    NoiseFile,
    Paths,
    _check_rate,
    _decoded,
    _named,
    _read,
    _resample,
    _scan,
    is_long,
)
from .base import AudioParams, AudioTransform, example_audio
from .checks import from_unit, to_unit
from .kernels import color_noise, mean_square
from .level import Level, Relative

#: most noises in one clip (a larger Poisson draw is capped, see MAX_MEAN_EVENTS)
MAX_EVENTS = 1024
#: largest mean count rate * seconds a clip may ask for: P(Poisson(768) > 1024) = 6.4e-19
MAX_MEAN_EVENTS = 768.0
#: longest synthetic burst, crop (max_duration) and fade, in seconds
MAX_NOISE_SECONDS = CACHE_SECONDS
MAX_FADE_SECONDS = 10.0
#: the exponent b (PSD ~ 1/f**b) of each synthetic colour, as audio.ColorNoise defines it
BURST_COLORS = {"white": 0.0, "pink": 1.0, "brown": 2.0}
_POISSON_CHUNK = 64.0
_INV32 = 1.0 / 4294967296.0
_INV53 = 1.0 / 9007199254740992.0


class Synthetic(BaseModel):
    """Gaussian bursts generated from the key: ``{color: white | pink | brown, duration: [lo, hi]}``."""

    model_config = ConfigDict(extra="forbid")
    color: Literal["white", "pink", "brown"] = Field("white", description="spectrum of the bursts (1/f**b)")
    duration: RangeParam(gt=0, le=MAX_NOISE_SECONDS, unit="s") = Field(
        [0.05, 0.3], description="length of each burst in seconds, drawn per burst")


def _check_seconds(v: Any) -> Any:
    if v is None:
        return v
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ValueError(f"must be a finite number of seconds, got {show(v)}")
    if not 0 < v <= MAX_NOISE_SECONDS:
        raise ValueError(f"must be > 0 and <= {MAX_NOISE_SECONDS:g} s, got {show(v)}")
    return v


MaxDuration = Annotated[Any, BeforeValidator(_check_seconds),
                        WithJsonSchema({"anyOf": [{"type": "number", "exclusiveMinimum": 0,
                                                   "maximum": MAX_NOISE_SECONDS}, {"type": "null"}]})]


class Events(NamedTuple):
    """The plan of one clip: one entry per noise (lists of length E, Python numbers)."""

    start: list  # first sample in the clip, in [0, N): floor(u64 * N / 2**64), exact
    length: list  # full length of the noise in samples (the clip's end may cut it)
    source: list  # file index (-1: a synthetic burst)
    offset: list  # first frame of the file's segment at the sample rate
    fade_in: list  # samples
    fade_out: list  # samples
    level: list  # snr_db (relative) or rms_db (absolute)
    duck: list  # duck_db (<= 0)
    key: list  # 64-bit key of a synthetic burst's samples


_FILL: list = []


def _u32(key: int, count: int, stream: int) -> list:
    """Words 0..count-1 of ``stream`` of ``key`` as Python ints (:func:`augnoise.core.philox.uniform32`)."""
    if not _FILL:
        from ..core._philox_numba import uniform32_into

        _FILL.append(uniform32_into)
    out = np.empty(count, np.uint32)
    _FILL[0](out, np.uint64(key), stream)
    return out.tolist()


def _span(v: Any) -> tuple[float, float]:
    """A range parameter as ``(lo, hi)`` (a fixed value: ``(v, v)``)."""
    return (float(v[0]), float(v[1])) if isinstance(v, (list, tuple)) else (float(v), float(v))


def poisson(lam: float, key: int) -> int:
    """A Poisson(``lam``) count from stream 0 of ``key``: the sum of ceil(lam / 64) inversions of
    mean <= 64 (each from one 53-bit uniform), capped at MAX_EVENTS."""
    if lam <= 0:
        return 0
    chunks = max(1, math.ceil(lam / _POISSON_CHUNK))
    part = lam / chunks
    w = _u32(key, 2 * chunks, 0)
    p0, total = math.exp(-part), 0
    for c in range(chunks):
        u = ((w[2 * c] << 32 | w[2 * c + 1]) >> 11) * _INV53
        k, p, f = 0, p0, p0
        while u >= f and k < MAX_EVENTS:
            k += 1
            p *= part / k
            f += p
        total += k
    return min(total, MAX_EVENTS)


@functools.lru_cache(maxsize=512)
def _ramp(f: int) -> np.ndarray:
    """A raised-cosine fade-in of ``f`` samples: sin(pi/2 * (k + 0.5) / f)**2 (never exactly 0)."""
    r = (np.sin(np.pi / 2 * (np.arange(f) + 0.5) / f) ** 2).astype(np.float32)
    r.setflags(write=False)
    return r


def envelope(length: int, fade_in: int, fade_out: int, m: int) -> np.ndarray:
    """The first ``m`` samples of a noise's gain curve: raised-cosine fade-in over ``fade_in``
    samples, 1, raised-cosine fade-out over the last ``fade_out`` of ``length`` samples."""
    env = np.ones(m, np.float32)
    if fade_in:
        k = min(fade_in, m)
        env[:k] = _ramp(fade_in)[:k]
    if fade_out and length - fade_out < m:
        a = length - fade_out
        env[a:m] = _ramp(fade_out)[::-1][: m - a]
    return env


class ShortNoises(AudioTransform):
    """Add short noises -- files (``paths``) or synthetic Gaussian bursts (``synthetic``) -- at
    random times: ``rate`` noises per second (a Poisson count) and/or ``count`` noises per clip
    (given together they add up; neither: rate 1/s); starts are uniform over the clip, and a
    noise running past the clip's end is cut there.

    Each noise draws its own level (``level``: relative = SNR of the whole clip's signal RMS to
    the noise's RMS over its own in-clip samples after fades, per channel unless ``per_channel``
    is false; absolute = the noise's own RMS in dBFS, so silent input gets noise too), fades
    (raised cosine, each at most half the noise) and ducking (``duck_db``: the signal's gain
    under the noise, ramped with the noise's fades; overlapping noises take the lowest gain; the
    noises themselves are never ducked). Files follow ``audio.BackgroundNoise``'s file policy
    and are decoded once per process at each sample rate; ``max_duration`` crops a random
    segment (needed for files over 30 s). Mono noise goes to every channel, a file with the
    clip's channel count maps channel to channel, others are mixed to mono.
    """

    name = "audio.ShortNoises"
    exact_backends = False  # float64 reductions in another order: equal to float rounding
    needs_rate = True

    class Params(AudioParams):
        paths: Paths | None = Field(None, description="noise file(s) or folder(s); relative to the pipeline file")
        synthetic: Synthetic | None = Field(None, description="{color, duration}: Gaussian bursts instead of files")
        rate: RangeParam(ge=0, le=1000, unit="1/s") | None = Field(
            None, description="mean noises per second (Poisson), drawn per call; default 1 when count is not given")
        count: RangeParam(ge=0, le=MAX_EVENTS, integer=True) | None = Field(
            None, description="noises per clip, drawn per call (added to rate's Poisson count when both are given)")
        level: Level = Field(default_factory=lambda: Relative(snr_db=[0.0, 20.0]),
                             description="{mode: relative, snr_db} or {mode: absolute, rms_db}; drawn per noise")
        fade_in: RangeParam(ge=0, le=MAX_FADE_SECONDS, unit="s") = Field(0.01, description="seconds, per noise")
        fade_out: RangeParam(ge=0, le=MAX_FADE_SECONDS, unit="s") = Field(0.01, description="seconds, per noise")
        duck_db: RangeParam(ge=-120, le=0, unit="dB") = Field(0.0, description="signal gain under each noise (0: off)")
        max_duration: MaxDuration = Field(None, description="seconds: longer files are cropped at random")
        per_channel: bool = Field(True, description="relative level per channel (false: over all channels)")

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        q = self.params
        if (q.paths is None) == (q.synthetic is None):
            raise ParamError(self.name, [("paths", "give exactly one of paths or synthetic")])
        self.files: list[NoiseFile] = []
        if q.paths is not None:
            try:
                self.files = _scan([q.paths] if isinstance(q.paths, str) else list(q.paths))
            except ValueError as err:
                raise ParamError(self.name, [("paths", str(err))]) from None
            longs = [f for f in self.files if is_long(f)]
            if longs and q.max_duration is None:
                msg = f"noise file {_named(longs[0])} is longer than {CACHE_SECONDS:g} s; set max_duration to crop it"
                raise ParamError(self.name, [("max_duration", msg)])

    def draw(self, r: Any) -> dict[str, Any]:
        q = self.params
        rate = q.rate if q.rate is not None else (0.0 if q.count is not None else 1.0)
        return {"count": r.int_value(0 if q.count is None else q.count), "rate": r.value(rate), "key": r.key()}

    # -- the plan ------------------------------------------------------------------------------
    def count_for(self, n: int, rate: int, key: int, count: int, noise_rate: float) -> int:
        """The number of noises of an ``n``-sample clip at ``rate`` Hz: the drawn ``count`` plus a
        Poisson(noise_rate * n / rate) count from the key, at most MAX_EVENTS."""
        lam = float(noise_rate) * n / rate
        if lam > MAX_MEAN_EVENTS:
            raise InputError(f"rate {float(noise_rate):g}/s on a {n / rate:g} s clip asks for {lam:g} noises on average; "
                             f"the limit is {MAX_MEAN_EVENTS:g} per clip (split the clip or lower the rate)")
        return min(MAX_EVENTS, int(count) + poisson(lam, key))

    def events(self, n: int, rate: int, key: int, count: int = 0, noise_rate: float = 0.0) -> Events:
        """The plan of one ``n``-sample clip at ``rate`` Hz from its kernel ``key`` and its drawn
        ``count`` and ``noise_rate`` (see the module doc)."""
        _check_rate(rate)
        q = self.params
        e = self.count_for(n, rate, key, count, noise_rate)
        w = _u32(key, 8 * e, 1)
        lv = q.level.snr_db if isinstance(q.level, Relative) else q.level.rms_db
        pick = [_span(v) for v in (lv, q.fade_in, q.fade_out, q.duck_db)]
        ev: Events = Events([], [], [], [], [], [], [], [], [])
        nf = len(self.files)
        cap = max(1, round(q.max_duration * rate)) if q.max_duration is not None else None
        skeys = _u32(key, 2 * e, 2) if not nf else []
        for j in range(e):
            w0, w1, w2, w3, w4, w5, w6, w7 = w[8 * j:8 * j + 8]
            ev.start.append((w0 << 32 | w1) * n >> 64)
            if nf:
                src = w2 * nf >> 32
                full = self._frames(self.files[src], rate)
                length = full if cap is None else min(full, cap)
                ev.offset.append(w3 * (full - length + 1) >> 32)
                ev.key.append(0)
            else:
                src = -1
                lo, hi = _span(q.synthetic.duration)
                length = max(1, round((lo + (hi - lo) * (w3 + 0.5) * _INV32) * rate))
                ev.offset.append(0)
                ev.key.append(skeys[2 * j] << 32 | skeys[2 * j + 1])
            ev.source.append(src)
            ev.length.append(length)
            (l0, l1), (i0, i1), (o0, o1), (d0, d1) = pick
            ev.level.append(l0 + (l1 - l0) * (w4 + 0.5) * _INV32)
            ev.fade_in.append(min(round((i0 + (i1 - i0) * (w5 + 0.5) * _INV32) * rate), length // 2))
            ev.fade_out.append(min(round((o0 + (o1 - o0) * (w6 + 0.5) * _INV32) * rate), length // 2))
            ev.duck.append(d0 + (d1 - d0) * (w7 + 0.5) * _INV32)
        return ev

    @staticmethod
    def _frames(entry: NoiseFile, rate: int) -> int:
        if is_long(entry):  # read by segment: its length at ``rate`` (max_duration is set)
            return int(entry.frames * rate // entry.sample_rate)
        return int(_decoded(entry, rate).shape[1])

    def snippet(self, ev: Events, j: int, m: int, rate: int) -> np.ndarray:
        """The first ``m`` samples of noise ``j`` (before fades and level), ``(channels, m)`` float32
        at the file's channel count (1 for synthetic bursts); may be a read-only view."""
        s = int(ev.source[j])
        if s < 0:
            return color_noise(1, m, BURST_COLORS[self.params.synthetic.color], int(ev.key[j]))
        entry, off = self.files[s], int(ev.offset[j])
        if is_long(entry):
            first = off * entry.sample_rate // rate
            need = min(entry.frames - first, math.ceil(m * entry.sample_rate / rate) + 64)
            seg = _resample(_read(entry, first, need), entry.sample_rate, rate, f"noise file {_named(entry)}")
            if seg.shape[1] < m:
                seg = np.pad(seg, ((0, 0), (0, m - seg.shape[1])))
            return seg[:, :m]
        return _decoded(entry, rate)[:, off:off + m]

    @property
    def relative(self) -> bool:
        return isinstance(self.params.level, Relative)


def gains(sig_ms: Any, noise_ms: Any, value: Any, relative: bool, per_channel: bool) -> Any:
    """``(E, C)`` float64 gains of noises of mean square ``noise_ms`` ``(E, C)`` on signals of mean
    square ``sig_ms`` ``(E, C)`` at ``value`` ``(E,)`` (SNR dB when ``relative``, else RMS dBFS);
    0 where the noise (or, relative, the signal) is silent. numpy or torch alike."""
    if not per_channel:
        sig_ms = sig_ms.mean(1, keepdims=True) + 0 * sig_ms if isinstance(sig_ms, np.ndarray) else \
            sig_ms.mean(1, keepdim=True) + 0 * sig_ms
        noise_ms = noise_ms.mean(1, keepdims=True) + 0 * noise_ms if isinstance(noise_ms, np.ndarray) else \
            noise_ms.mean(1, keepdim=True) + 0 * noise_ms
    if relative:
        ok = (sig_ms > 0) & (noise_ms > 0)
        return (sig_ms / (noise_ms * ok + ~ok) * ok) ** 0.5 * (10.0 ** (-value / 20.0))[:, None]
    ok = noise_ms > 0
    return (1.0 / (noise_ms * ok + ~ok) * ok) ** 0.5 * (10.0 ** (value / 20.0))[:, None]


def _gains(sig: list, ms: list, value: float, relative: bool, per_channel: bool) -> list:
    """:func:`gains` of one noise in plain Python floats (``sig``, ``ms``: one value per channel)."""
    if not per_channel:
        sig, ms = [sum(sig) / len(sig)] * len(sig), [sum(ms) / len(ms)] * len(ms)
    if relative:
        f = 10.0 ** (-value / 20.0)
        return [math.sqrt(a / z) * f if a > 0 and z > 0 else 0.0 for a, z in zip(sig, ms)]
    f = 10.0 ** (value / 20.0)
    return [f / math.sqrt(z) if z > 0 else 0.0 for z in ms]


def _clip_values(params: dict[str, Any], t: ShortNoises, b: int) -> tuple[list, list, list, list]:
    def per_clip(v: Any, dtype: Any) -> list:
        a = col(v, dtype).tolist()
        return a * b if len(a) == 1 else a

    return (per_clip(params["sample_rate"], np.int64),
            per_clip(params["count"], np.int64), per_clip(params["rate"], np.float64),
            per_clip(params["key"], np.uint64))


@kernel(ShortNoises, "numpy")
def short_noises(t: ShortNoises, x: np.ndarray, params: dict[str, Any], ctx: Any) -> np.ndarray:
    u = to_unit(x)
    b, c, n = u.shape
    rates, counts, noise_rates, keys = _clip_values(params, t, b)
    sig = mean_square(u) if t.relative else np.ones((b, c))
    relative, per_channel = t.relative, t.params.per_channel
    y = np.empty(u.shape, u.dtype)
    for i in range(b):
        rate = rates[i]
        ev = t.events(n, rate, keys[i], counts[i], noise_rates[i])
        noise = np.zeros((c, n), u.dtype)
        sig_i = sig[i].tolist()
        duck = None
        starts, lengths, fis, fos, levels, ducks = ev.start, ev.length, ev.fade_in, ev.fade_out, ev.level, ev.duck
        for j in range(len(starts)):
            s, length = starts[j], lengths[j]
            m = min(length, n - s)
            z = t.snippet(ev, j, m, rate)
            if z.shape[0] not in (1, c):
                z = z.mean(axis=0, keepdims=True)
            env = envelope(length, fis[j], fos[j], m)
            w = z * env
            w64 = w.astype(np.float64)
            ms = [float(np.dot(r, r)) / m for r in w64]
            g = _gains(sig_i, ms * c if len(ms) == 1 else ms, levels[j], relative, per_channel)
            gw = w * np.float32(g[0]) if c == 1 or g.count(g[0]) == c else np.array(g, np.float32)[:, None] * w
            noise[:, s:s + m] += gw.astype(u.dtype, copy=False)
            if ducks[j] < 0:
                if duck is None:
                    duck = np.ones(n, np.float32)
                dk = np.float32(1) - np.float32(1 - 10.0 ** (ducks[j] / 20.0)) * env
                np.minimum(duck[s:s + m], dk, out=duck[s:s + m])
        if duck is None:
            np.add(u[i], noise, out=y[i])
        else:
            np.add(u[i] * duck.astype(u.dtype, copy=False), noise, out=y[i])
    return from_unit(y, x, t.params.clip)


_BANK: dict[tuple, Any] = {}
_BANK_SIZE = 64


def _bank(entry: NoiseFile, rate: int, device: Any) -> Any:
    """A file decoded at ``rate`` (the numpy kernel's cached array) as a tensor on ``device``, once."""
    import torch

    k = (entry, rate, str(device))
    if k not in _BANK:
        if len(_BANK) >= _BANK_SIZE:
            _BANK.pop(next(iter(_BANK)))
        _BANK[k] = torch.from_numpy(_decoded(entry, rate)).to(device)
    return _BANK[k]


@kernel(ShortNoises, "torch")
def short_noises_torch(t: ShortNoises, x: Any, params: dict[str, Any], ctx: Any) -> Any:
    """The numpy kernel's plan (host), its snippets (files from a per-device bank, synthetic bursts
    copied over), then fades, levels, mixing and ducking on the device, all clips at once."""
    import torch

    from .torch_kernels import _finish, _unit

    u = _unit(x)
    b, c, n = u.shape
    dev = u.device
    rates, counts, noise_rates, keys = _clip_values(params, t, b)
    pieces, envs, lens, clip_of, starts, levels, ducks = [], [], [], [], [], [], []
    for i in range(b):
        rate = rates[i]
        ev = t.events(n, rate, keys[i], counts[i], noise_rates[i])
        for j in range(len(ev.start)):
            s, length = int(ev.start[j]), int(ev.length[j])
            m = min(length, n - s)
            src = int(ev.source[j])
            if src >= 0 and not is_long(t.files[src]):
                off = int(ev.offset[j])
                z = _bank(t.files[src], rate, dev)[:, off:off + m]
            else:
                z = torch.from_numpy(np.ascontiguousarray(t.snippet(ev, j, m, rate))).to(dev)
            if z.shape[0] not in (1, c):
                z = z.mean(dim=0, keepdim=True)
            pieces.append(z.expand(c, m))
            envs.append(envelope(length, int(ev.fade_in[j]), int(ev.fade_out[j]), m))
            lens.append(m)
            clip_of.append(i)
            starts.append(s)
            levels.append(ev.level[j])
            ducks.append(ev.duck[j])
    if not pieces:
        return _finish(u.clone(), x, t.params.clip)
    e = len(pieces)
    lens_np = np.array(lens, np.int64)
    seg_np = np.repeat(np.arange(e), lens_np)
    first = np.cumsum(lens_np) - lens_np
    dest_np = np.repeat(np.array(clip_of, np.int64) * n + np.array(starts, np.int64) - first, lens_np) + np.arange(seg_np.size)
    env_np = np.concatenate(envs)
    seg, dest = torch.from_numpy(seg_np).to(dev), torch.from_numpy(dest_np).to(dev)
    env = torch.from_numpy(env_np).to(dev)
    w = torch.cat(pieces, dim=1).to(torch.float32) * env  # (C, T)
    lens_t = torch.from_numpy(lens_np).to(dev, torch.float64)
    ms = torch.zeros(e, c, dtype=torch.float64, device=dev).index_add_(0, seg, (w.to(torch.float64) ** 2).T)
    ms = ms / lens_t[:, None]
    clip_t = torch.from_numpy(np.array(clip_of, np.int64)).to(dev)
    sig = (u.to(torch.float64) ** 2).mean(dim=2)[clip_t] if t.relative else torch.ones(e, c, dtype=torch.float64, device=dev)
    g = gains(sig, ms, torch.from_numpy(np.array(levels, np.float64)).to(dev), t.relative, t.params.per_channel)
    contrib = g.to(u.dtype).T[:, seg] * w.to(u.dtype)
    noise = torch.zeros(c, b * n, dtype=u.dtype, device=dev).index_add_(1, dest, contrib)
    noise = noise.reshape(c, b, n).permute(1, 0, 2)
    duck_np = np.array(ducks, np.float64)
    if (duck_np < 0).any():
        depth = torch.from_numpy((1 - 10.0 ** (duck_np / 20.0)).astype(np.float32)).to(dev)
        dk = 1 - depth[seg] * env
        curve = torch.ones(b * n, dtype=torch.float32, device=dev).scatter_reduce_(0, dest, dk, "amin")
        y = u * curve.reshape(b, 1, n).to(u.dtype) + noise
    else:
        y = u + noise
    return _finish(y, x, t.params.clip)


# -- conformance examples ---------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _example_folder() -> Path:
    import tempfile

    import soundfile as sf

    from ..core.philox import standard_normal

    folder = Path(tempfile.mkdtemp(prefix="augnoise-example-short-"))
    sf.write(str(folder / "click.wav"), 0.3 * standard_normal(240, 7), 8000, subtype="FLOAT")
    sf.write(str(folder / "knock.flac"), 0.2 * standard_normal((600, 2), 8), 16000)
    return folder


ShortNoises.examples = (
    Example(lambda: {"paths": str(_example_folder()), "rate": 40}, example_audio(np.float32, n=1200, rate=8000)),
    Example(lambda: {"paths": str(_example_folder()), "count": [1, 4], "level": {"mode": "absolute", "rms_db": [-30, -20]},
                     "duck_db": [-20, -6], "fade_in": [0, 0.01], "per_channel": False},
            example_audio(np.int16, channels=2, n=900, rate=8000)),
    Example({"synthetic": {"color": "pink", "duration": [0.01, 0.05]}, "rate": [20, 60], "duck_db": -10},
            example_audio(np.float32, channels=2, n=1000, rate=8000)),
    Example({"synthetic": {"color": "white", "duration": 0.02}, "count": 3, "level": {"mode": "relative", "snr_db": 10}},
            example_audio(np.int16, n=600, rate=16000)),
)
