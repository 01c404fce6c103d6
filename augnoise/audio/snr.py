"""audio.GaussianSNR: white noise at an exact signal-to-noise ratio, per channel."""
from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field

from ..core.params import RangeParam, draw
from .base import AudioParams, AudioTransform
from .kernels import mix_at_snr, white_noise


class GaussianSNR(AudioTransform):
    """Add white Gaussian noise at ``snr_db`` below the signal, by RMS.

    The noise is scaled so that the SNR measured on the output equals the drawn value exactly,
    on every channel (``per_channel: true``): a stereo file with a quiet channel gets the same
    SNR on both. ``per_channel: false`` uses the RMS over all channels (one noise level).
    A silent channel stays silent (SNR is undefined there; no NaN, no inf). Peaks above full
    scale follow ``clip``; clipping, when it happens, lowers the measured SNR.
    """

    name = "audio.GaussianSNR"
    batch_capable = True
    batch_draws = ("snr_db",)

    class Params(AudioParams):
        snr_db: RangeParam(ge=-40, le=120, unit="dB") = Field([10.0, 30.0], description="signal-to-noise ratio in dB (RMS)")
        per_channel: bool = Field(True, description="hold the SNR on each channel (false: over all channels)")

    def make_params(self, data: np.ndarray, rng: np.random.Generator) -> dict[str, Any]:
        return {"snr_db": draw(self.params.snr_db, rng), "key": self.key(rng)}

    def process(self, x: np.ndarray, params: dict[str, Any], rng: np.random.Generator) -> np.ndarray:
        z = white_noise(x.shape[0], x.shape[1], params["key"], x.dtype)
        return mix_at_snr(x, z, params["snr_db"], self.params.per_channel)
