"""audio.GaussianNoise: white Gaussian noise at an absolute level."""
from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field

from ..core.params import RangeParam
from ..core.transform import Example
from .base import AudioParams, AudioTransform, example_audio


class GaussianNoise(AudioTransform):
    """Add white Gaussian noise of absolute ``std`` on the full-scale [-1, 1] range (0.01 is
    -40 dBFS RMS), independent per channel, whatever the signal's level. For noise relative to
    the signal use ``audio.GaussianSNR``."""

    name = "audio.GaussianNoise"

    class Params(AudioParams):
        std: RangeParam(ge=0, le=1, unit="fraction of full scale") = Field(0.01, description="noise std on the [-1, 1] scale")

    examples = (
        Example({"std": 0.05}, example_audio(np.float32)),
        Example({"std": [0.01, 0.1], "clip": "rescale"}, example_audio(np.int16, channels=2)),
        Example({"std": 0.02, "p": 0.6}, example_audio(np.int32, channels=3)),
    )

    def draw(self, r: Any) -> dict[str, Any]:
        return {"std": r.value(self.params.std), "key": r.key()}
