"""audio.GaussianSNR: white noise at an exact signal-to-noise ratio, per channel."""
from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field

from ..core.params import RangeParam
from ..core.transform import Example
from .base import AudioParams, AudioTransform, example_audio


class GaussianSNR(AudioTransform):
    """Add white Gaussian noise at ``snr_db`` below the signal, by RMS.

    The noise is scaled so that the SNR measured on the output equals the drawn value exactly,
    on every channel (``per_channel: true``): a stereo file with a quiet channel gets the same
    SNR on both. ``per_channel: false`` uses the RMS over all channels (one noise level).
    A silent channel stays silent (SNR is undefined there; no NaN, no inf). Peaks above full
    scale follow ``clip``.
    """

    name = "audio.GaussianSNR"
    exact_backends = False  # float64 reductions / FFT / transcendentals: equal up to rounding

    class Params(AudioParams):
        snr_db: RangeParam(ge=-40, le=120, unit="dB") = Field([10.0, 30.0], description="signal-to-noise ratio in dB (RMS)")
        per_channel: bool = Field(True, description="hold the SNR on each channel (false: over all channels)")

    examples = (
        Example({"snr_db": 10}, example_audio(np.float32, channels=2)),
        Example({"snr_db": [0, 20], "per_channel": False}, example_audio(np.int16, channels=2)),
        Example({"snr_db": 5, "clip": False}, example_audio(np.float32)),
    )

    def draw(self, r: Any) -> dict[str, Any]:
        return {"snr_db": r.value(self.params.snr_db), "key": r.key()}
