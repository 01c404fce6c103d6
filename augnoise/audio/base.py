"""Shared base of audio transforms: field ``audio``, checks, the sample rate, and the clips the
conformance harness runs every audio transform on."""
from __future__ import annotations

from typing import Any, Callable, ClassVar, Literal, Union

import numpy as np
from pydantic import Field

from ..core.arrays import numpy_view
from ..core.errors import InputError
from ..core.params import BaseParams
from ..core.transform import Sample, Transform
from .checks import check_audio

ClipMode = Union[bool, Literal["rescale"]]


class AudioParams(BaseParams):
    clip: ClipMode = Field(
        True,
        description="peaks above full scale: true clips to [-1, 1]; 'rescale' scales the clip down "
        "by its peak (keeps SNR); false leaves float values (integer PCM always saturates)",
    )


class AudioTransform(Transform):
    """An audio transform on ``(C, N)`` or ``(N,)`` float32 / int16 / int32 audio.

    Kernels work on batches ``(B, C, N)`` on the [-1, 1] scale (see :mod:`.checks`); conversion
    from and back to the input dtype and the peak policy (``clip``) are shared.
    """

    modality = "audio"
    default_field = "audio"
    Params = AudioParams
    #: whether the transform needs ``sample_rate`` from the sample
    needs_rate: ClassVar[bool] = False

    def check(self, x: Any, batched: bool = False, ctx: Any = None) -> Any:
        return check_audio(x, batched)

    def fields(self) -> set[str]:
        return {self.field, "sample_rate"} if self.needs_rate else {self.field}

    def inputs(self, sample: Sample, batched: bool = False) -> dict[str, Any]:
        if not self.needs_rate:
            return {}
        rate = sample.get("sample_rate")
        arr = numpy_view(rate) if rate is not None and not isinstance(rate, (int, np.integer)) else None
        if batched and arr is not None and arr.ndim == 1:
            if arr.dtype.kind not in "iu" or (arr <= 0).any():
                raise InputError(f"needs a positive integer 'sample_rate' per sample, got {arr.tolist()!r}")
            return {"sample_rate": arr.astype(np.int64)}
        if isinstance(rate, (bool, np.bool_)) or not isinstance(rate, (int, np.integer)) or rate <= 0:
            raise InputError(f"needs a positive integer 'sample_rate' in the sample, got {rate!r}")
        return {"sample_rate": int(rate)}


def example_audio(dtype: Any = np.float32, channels: int = 0, n: int = 400,
                  rate: int | None = None) -> Callable[[], dict[str, Any]]:
    """A sample factory: tones at about -10 dBFS (mono ``(n,)`` when ``channels`` is 0, else
    ``(channels, n)``, the second channel 20 dB quieter), as ``{"audio": array}`` plus
    ``sample_rate`` when given."""
    def make() -> dict[str, Any]:
        t = np.arange(n) / 8000.0
        rows = [0.3 * np.sin(2 * np.pi * (440 + 110 * c) * t) * (0.1 if c == 1 else 1.0) for c in range(max(channels, 1))]
        x = np.stack(rows) if channels else rows[0]
        arr = x.astype(np.float32) if np.dtype(dtype).kind == "f" else np.round(x * np.iinfo(dtype).max).astype(dtype)
        return {"audio": arr, **({"sample_rate": rate} if rate else {})}

    return make
