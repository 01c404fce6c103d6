"""image.Corruption: the noise corruptions of ImageNet-C and CIFAR-10-C, keyed."""
from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import Field

from ..core.params import BaseParams, RangeParam
from ..core.transform import Example
from .base import ImageTransform, example_image

#: the noise corruptions, in the order of the kernels' ``kind`` code
NAMES = ("gaussian_noise", "shot_noise", "impulse_noise", "speckle_noise")

#: severity constants 1..5 per table and corruption, as defined in hendrycks/robustness
#: (ImageNet-C/create_c/make_imagenet_c.py, make_cifar_c.py; bethgelab/imagecorruptions uses the
#: ImageNet-C ones): Gaussian std, photons at white, impulse amount, speckle relative std
CONSTANTS: dict[str, dict[str, tuple[float, ...]]] = {
    "imagenet_c": {
        "gaussian_noise": (0.08, 0.12, 0.18, 0.26, 0.38),
        "shot_noise": (60.0, 25.0, 12.0, 5.0, 3.0),
        "impulse_noise": (0.03, 0.06, 0.09, 0.17, 0.27),
        "speckle_noise": (0.15, 0.2, 0.35, 0.45, 0.6),
    },
    "cifar10_c": {
        "gaussian_noise": (0.04, 0.06, 0.08, 0.09, 0.10),
        "shot_noise": (500.0, 250.0, 100.0, 75.0, 50.0),
        "impulse_noise": (0.01, 0.02, 0.03, 0.05, 0.07),
        "speckle_noise": (0.06, 0.1, 0.12, 0.16, 0.2),
    },
}


class Corruption(ImageTransform):
    """A noise corruption of ImageNet-C / CIFAR-10-C (Hendrycks & Dietterich 2019) at a
    severity 1..5, reproducing the reference definitions in distribution, keyed.

    With x = value / 255 and the table's constant c for the severity (``CONSTANTS``; a
    ``[lo, hi]`` severity is drawn per call as an integer, uniformly):

    * ``gaussian_noise``: clip(x + c * n, 0, 1), n standard normal per value;
    * ``shot_noise``: clip(Poisson(x * c) / c, 0, 1);
    * ``impulse_noise``: each value independently replaced with probability c, by 1 or 0 with
      probability 1/2 each (scikit-image ``random_noise(mode='s&p', amount=c)``: per value,
      not per pixel);
    * ``speckle_noise``: clip(x + x * c * n, 0, 1);

    then, as the reference's ``np.uint8(y * 255)``, truncated: floor(y * 255). uint16 images are
    truncated the same way at their own scale (floor(y * 65535)). Float images (on [0, 1], or a
    declared range or normalisation) with ``quantize: true`` (the default) are taken as the
    8-bit image round(x * 255) and return floor(y * 255) / 255: exactly the uint8 result / 255,
    the values a model reads from the published files (the default, because this step exists
    to match published numbers); ``quantize: false`` returns the unquantised y (a float
    pipeline without 8-bit levels).

    Greyscale images (HxW or one channel) keep their one channel: each value gets the noise a
    channel of the reference's 3-channel copy gets, so the per-value statistics are the
    reference's (stack the image to 3 channels first for its 3-channel output). Not modelled:
    the JPEG (quality 85) storage of the ImageNet-C release."""

    name = "image.Corruption"
    exact_backends = False  # shot_noise: float64 transcendentals in the Poisson sampler

    class Params(BaseParams):
        name: Literal["gaussian_noise", "shot_noise", "impulse_noise", "speckle_noise"] = Field(
            description="corruption: gaussian_noise | shot_noise | impulse_noise | speckle_noise")
        severity: RangeParam(ge=1, le=5, integer=True, unit="severity level 1..5") = Field(
            3, description="severity 1..5, or [lo, hi] drawn per call as an integer")
        table: Literal["imagenet_c", "cifar10_c"] = Field(
            "imagenet_c", description="severity constants: imagenet_c | cifar10_c")
        quantize: bool = Field(True, description="float images: on 8-bit levels, truncated as the reference")

    examples = (
        Example({"name": "gaussian_noise", "severity": [1, 5]}, example_image(np.uint8)),
        Example({"name": "shot_noise", "severity": 2, "p": 0.7}, example_image(np.uint8, (6, 5))),
        Example({"name": "impulse_noise", "severity": 5}, example_image(np.float32, (9, 7, 1))),
        Example({"name": "speckle_noise", "table": "cifar10_c", "quantize": False}, example_image(np.float32)),
        Example({"name": "shot_noise", "severity": 4, "table": "cifar10_c"}, example_image(np.uint16, (5, 4, 2))),
    )

    def draw(self, r: Any) -> dict[str, Any]:
        return {"severity": r.int_value(self.params.severity), "key": r.key()}

    @property
    def kind(self) -> int:
        """The kernels' code of the corruption (index in :data:`NAMES`)."""
        return NAMES.index(self.params.name)

    def constants(self, severity: Any) -> np.ndarray:
        """The table's constant for each drawn severity (a (B,) float64 array)."""
        table = np.asarray(CONSTANTS[self.params.table][self.params.name], np.float64)
        return table[np.asarray(severity, np.int64).reshape(-1) - 1]
