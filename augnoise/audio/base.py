"""Shared base of audio transforms: field ``audio``, checks, PCM handling and peak policy."""
from __future__ import annotations

from typing import Any, Literal, Mapping, Union

import numpy as np
from pydantic import Field

from ..core.errors import InputError
from ..core.params import BaseParams
from ..core.transform import Transform
from .checks import check_audio, from_unit, to_unit

ClipMode = Union[bool, Literal["rescale"]]


class AudioParams(BaseParams):
    clip: ClipMode = Field(
        True,
        description="peaks above full scale: true clips to [-1, 1]; 'rescale' scales the clip down "
        "by its peak (keeps SNR); false leaves float values (integer PCM always saturates)",
    )


class AudioTransform(Transform):
    """An audio transform on ``(C, N)`` or ``(N,)`` float32 / int16 / int32 audio.

    Subclasses implement :meth:`process` on a ``(C, N)`` float array on the [-1, 1] scale;
    conversion from and back to the input dtype and the peak policy (``clip``) are done here.
    """

    modality = "audio"
    Params = AudioParams
    #: whether the transform needs ``sample_rate`` from the sample
    needs_rate = False

    def check(self, data: Any) -> np.ndarray:
        return check_audio(data)

    def context(self, sample: Mapping[str, Any]) -> dict[str, Any]:
        if not self.needs_rate:
            return {}
        rate = sample.get("sample_rate")
        if isinstance(rate, (bool, np.bool_)) or not isinstance(rate, (int, np.integer)) or rate <= 0:
            raise InputError(f"needs a positive integer 'sample_rate' in the sample, got {rate!r}")
        return {"sample_rate": int(rate)}

    def process(self, x: np.ndarray, params: dict[str, Any], rng: np.random.Generator) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def apply(self, data: np.ndarray, params: dict[str, Any], rng: np.random.Generator) -> np.ndarray:
        y = self.process(to_unit(data), params, rng)
        if np.shares_memory(y, data):
            y = y.copy()
        return from_unit(y, data, self.params.clip)

    @staticmethod
    def key(rng: np.random.Generator) -> int:
        return int(rng.integers(0, 2**64, dtype=np.uint64))
