"""audio.ColorNoise: coloured (1/f^b) noise at an exact SNR."""
from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from pydantic import Field, WithJsonSchema
from pydantic.functional_validators import BeforeValidator

from ..core.params import RangeParam
from ..core.transform import Example
from .base import AudioParams, AudioTransform, example_audio

#: spectral exponent b of each named colour: power spectral density ~ 1 / f**b
COLORS = {"white": 0.0, "pink": 1.0, "brown": 2.0, "blue": -1.0, "violet": -2.0}


def _check_color(v: Any) -> Any:
    if isinstance(v, str) and v in COLORS:
        return v
    if isinstance(v, (int, float)) and not isinstance(v, bool) and -4 <= v <= 4:
        return v
    raise ValueError(f"must be one of {', '.join(COLORS)} or an exponent within [-4, 4], got {v!r}")


Color = Annotated[
    Any,
    BeforeValidator(_check_color),
    WithJsonSchema({"anyOf": [{"enum": list(COLORS)}, {"type": "number", "minimum": -4, "maximum": 4}]}),
]


class ColorNoise(AudioTransform):
    """Add coloured noise whose power spectral density falls as 1/f^b, at ``snr_db`` (exact,
    per channel, as in ``audio.GaussianSNR``).

    ``color`` is white (b=0), pink (1), brown (2), blue (-1), violet (-2), or the exponent b
    itself; the slope is -3.01*b dB per octave. The noise is synthesised over the whole clip
    length in the frequency domain: it never repeats (no tiled one-second buffer).
    """

    name = "audio.ColorNoise"
    exact_backends = False  # float64 reductions / FFT / transcendentals: equal up to rounding

    class Params(AudioParams):
        snr_db: RangeParam(ge=-40, le=120, unit="dB") = Field([10.0, 30.0], description="signal-to-noise ratio in dB (RMS)")
        color: Color = Field("pink", description="white|pink|brown|blue|violet or the exponent b of 1/f^b")
        per_channel: bool = Field(True, description="hold the SNR on each channel (false: over all channels)")

    @property
    def exponent(self) -> float:
        c = self.params.color
        return COLORS[c] if isinstance(c, str) else float(c)

    examples = (
        Example({"snr_db": 10}, example_audio(np.float32, n=500)),
        Example({"snr_db": [5, 15], "color": "brown", "per_channel": False}, example_audio(np.int16, channels=2)),
        Example({"snr_db": 10, "color": -1.5}, example_audio(np.float32, channels=2, n=301)),
    )

    def draw(self, r: Any) -> dict[str, Any]:
        return {"snr_db": r.value(self.params.snr_db), "key": r.key()}
