"""audio.ColorNoise: coloured (1/f^b) noise in a frequency band, at an exact SNR."""
from __future__ import annotations

import math
from typing import Annotated, Any, Literal, Optional

import numpy as np
from pydantic import Field, WithJsonSchema
from pydantic.functional_validators import BeforeValidator

from ..core.params import RangeParam, show
from ..core.transform import Example
from .base import AudioParams, AudioTransform, example_audio

#: spectral exponent b of each named colour: power spectral density ~ 1 / f**b
COLORS = {"white": 0.0, "pink": 1.0, "brown": 2.0, "blue": -1.0, "violet": -2.0}
#: the default band: from 20 Hz (the lower limit of hearing) up to the Nyquist frequency
DEFAULT_BAND = (20.0, None)
#: largest band edge in Hz: the Nyquist frequency of the largest sample rate audio accepts (384 kHz)
MAX_BAND_HZ = 192000.0


def _check_color(v: Any) -> Any:
    if isinstance(v, str) and v in COLORS:
        return v
    if isinstance(v, (int, float)) and not isinstance(v, bool) and -4 <= v <= 4:
        return v
    raise ValueError(f"must be one of {', '.join(COLORS)} or an exponent within [-4, 4], got {show(v)}")


Color = Annotated[
    Any,
    BeforeValidator(_check_color),
    WithJsonSchema({"anyOf": [{"enum": list(COLORS)}, {"type": "number", "minimum": -4, "maximum": 4}]}),
]


def _edge(x: Any, what: str) -> Any:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise ValueError(f"{what} must be a number of Hz, got {show(x)}")
    if not math.isfinite(x):
        raise ValueError(f"{what} must be finite, got {show(x)}")
    if not 0 <= x <= MAX_BAND_HZ:
        raise ValueError(f"{what} must be within [0, {MAX_BAND_HZ:g}] Hz, got {show(x)}")
    return x


def _check_band(v: Any) -> Any:
    if isinstance(v, tuple):
        v = list(v)
    if not isinstance(v, list) or len(v) != 2:
        raise ValueError(f"must be [lo_hz, hi_hz] (hi_hz null for the Nyquist frequency), got {show(v)}")
    lo = _edge(v[0], "lo")
    hi = None if v[1] is None else _edge(v[1], "hi")
    if hi is not None and hi <= lo:
        raise ValueError(f"lo must be < hi, got {show(v)}")
    return [lo, hi]


Band = Annotated[
    Any,
    BeforeValidator(_check_band),
    WithJsonSchema({
        "type": "array", "minItems": 2, "maxItems": 2,
        "items": {"anyOf": [{"type": "number", "minimum": 0, "maximum": MAX_BAND_HZ}, {"type": "null"}]},
        "description": "Hz; [lo, null] runs up to the Nyquist frequency",
    }),
]


_B = {"type": "number", "minimum": -4, "maximum": 4}
#: the exponent b: a number or ``[lo, hi]`` within [-4, 4], or null (then ``color`` sets it)
Exponent = Annotated[
    Optional[RangeParam(ge=-4, le=4)],
    WithJsonSchema({"anyOf": [_B, {"type": "array", "items": _B, "minItems": 2, "maxItems": 2}, {"type": "null"}]}),
]


class ColorNoise(AudioTransform):
    """Add coloured noise whose power spectral density falls as 1/f^b inside a frequency band
    (default 20 Hz to Nyquist), at ``snr_db`` (exact, per channel, as in ``audio.GaussianSNR``).

    ``color`` is white (b=0), pink (1), brown (2), blue (-1), violet (-2), or the exponent b
    itself; ``exponent`` (a number or ``[lo, hi]``, drawn per call) sets b directly and takes
    precedence over ``color`` when given. The slope is -3.01*b dB per octave.

    ``band: [lo_hz, hi_hz]`` (``hi_hz`` null: the Nyquist frequency; above Nyquist it is cut
    there): the noise is synthesised over the whole clip length (no tiled buffer, it never
    repeats) as independent Gaussian DFT bins of the clip's own length, weighted by f^(-b/2)
    inside the band and zero outside it (and at DC). So the noise has no power outside the band
    (to float rounding), all of its power is in-band, and the SNR -- full-band signal power
    over noise power -- is the SNR against the in-band noise. The band is in Hz, so the sample
    needs ``sample_rate``; a band whose lower edge is not below Nyquist, or that holds no DFT
    bin of the clip, is an error. ``band: [0, null]`` is the 0.4 behaviour (1/f^b from the
    lowest bin; no ``sample_rate`` needed; the same noise bit for bit). Clips of one sample
    have no spectrum and get white noise.

    ``weighting: A`` computes both powers of the SNR A-weighted (IEC 61672 A-curve, 0 dB at
    1 kHz, applied to the DFT of the clip, so it needs ``sample_rate``): the A-weighted SNR of
    the output equals the drawn value.
    """

    name = "audio.ColorNoise"
    exact_backends = False  # float64 reductions / FFT / transcendentals: equal up to rounding

    class Params(AudioParams):
        snr_db: RangeParam(ge=-40, le=120, unit="dB") = Field([10.0, 30.0], description="signal-to-noise ratio in dB (RMS)")
        color: Color = Field("pink", description="white|pink|brown|blue|violet or the exponent b of 1/f^b")
        exponent: Exponent = Field(
            None, description="the exponent b of 1/f^b, or [lo, hi] drawn per call; overrides color when given")
        band: Band = Field(list(DEFAULT_BAND), description="[lo_hz, hi_hz] of the noise (hi null: Nyquist); "
                           "[0, null]: the whole spectrum")
        weighting: Literal["none", "A"] = Field("none", description="'A': signal and noise powers A-weighted (IEC 61672)")
        per_channel: bool = Field(True, description="hold the SNR on each channel (false: over all channels)")

    examples = (
        Example({"snr_db": 10}, example_audio(np.float32, n=500, rate=8000)),
        Example({"snr_db": [5, 15], "color": "brown", "per_channel": False}, example_audio(np.int16, channels=2, rate=16000)),
        Example({"snr_db": 10, "color": -1.5, "band": [0, None]}, example_audio(np.float32, channels=2, n=301)),
        Example({"snr_db": [0, 20], "exponent": [-2, 2], "band": [100, 3000], "weighting": "A"},
                example_audio(np.float32, channels=2, n=301, rate=8000)),
    )

    @property
    def banded(self) -> bool:
        """Whether the noise is band-limited (``band`` other than ``[0, null]``)."""
        lo, hi = self.params.band
        return lo > 0 or hi is not None

    @property
    def needs_rate(self) -> bool:  # type: ignore[override]
        """A band in Hz or A-weighting needs the sample's ``sample_rate``."""
        return self.banded or self.params.weighting != "none"

    @property
    def exponent_param(self) -> Any:
        """The exponent as a range parameter: ``exponent`` when given, else ``color``'s."""
        if self.params.exponent is not None:
            return self.params.exponent
        c = self.params.color
        return COLORS[c] if isinstance(c, str) else float(c)

    def draw(self, r: Any) -> dict[str, Any]:
        # snr_db and key first, as in 0.4: a pipeline keeps its noise keys
        return {"snr_db": r.value(self.params.snr_db), "key": r.key(), "exponent": r.value(self.exponent_param)}
