"""The level of added audio noise, shared by the steps that mix noise in (``audio.BackgroundNoise``,
``audio.ShortNoises``): relative to the signal (an SNR in dB, exact per channel or over all
channels) or absolute (the noise's own RMS in dB relative to full scale, dBFS, so silent input
still gets noise).

YAML::

    level: {mode: relative, snr_db: [5, 20]}
    level: {mode: absolute, rms_db: [-50, -30]}     # dBFS: 0 dB is an RMS of 1.0 (full scale)
"""
from __future__ import annotations

from typing import Annotated, Any, Literal, Union

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ..core.params import RangeParam

#: bounds of a relative level (the SNR in dB), as audio.GaussianSNR and BackgroundNoise take it
SNR_BOUNDS = (-40.0, 120.0)
#: bounds of an absolute level (noise RMS in dBFS)
RMS_DB_BOUNDS = (-120.0, 0.0)


class Relative(BaseModel):
    """The noise level set by the signal-to-noise ratio (RMS) in dB."""

    model_config = ConfigDict(extra="forbid")
    mode: Literal["relative"] = "relative"
    snr_db: RangeParam(ge=SNR_BOUNDS[0], le=SNR_BOUNDS[1], unit="dB") = Field(
        ..., description="signal-to-noise ratio in dB (RMS); a [lo, hi] range is drawn per call")


class Absolute(BaseModel):
    """The noise level set by the noise's own RMS in dB relative to full scale (dBFS)."""

    model_config = ConfigDict(extra="forbid")
    mode: Literal["absolute"]
    rms_db: RangeParam(ge=RMS_DB_BOUNDS[0], le=RMS_DB_BOUNDS[1], unit="dBFS") = Field(
        ..., description="noise RMS in dB relative to full scale (0 dB = RMS 1.0); a [lo, hi] range is drawn per call")


Level = Annotated[Union[Relative, Absolute], Field(discriminator="mode")]


def level_db(level: Relative | Absolute) -> Any:
    """The parameter a draw takes its value from: ``snr_db`` or ``rms_db``."""
    return level.snr_db if isinstance(level, Relative) else level.rms_db


def absolute_gains(noise_ms: np.ndarray, rms_db: np.ndarray, per_channel: bool = True) -> np.ndarray:
    """``(B, C)`` gains that give noise of mean square ``noise_ms`` ``(B, C)`` the RMS
    ``10 ** (rms_db / 20)`` (per channel, or over all channels when not ``per_channel``); 0 where
    the noise is silent. float64."""
    ms = np.asarray(noise_ms, np.float64)
    if not per_channel:
        ms = np.broadcast_to(ms.mean(axis=1, keepdims=True), ms.shape)
    target = 10.0 ** (np.asarray(rms_db, np.float64).reshape(-1, 1) / 20.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.where(ms > 0, target / np.sqrt(np.where(ms > 0, ms, 1.0)), 0.0)
    return g
