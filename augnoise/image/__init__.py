"""Image noise transforms (numpy HxW or HxWxC; uint8, uint16, float32 in [0, 1]).

Importing this package registers the transforms, their numpy and torch kernels (numba and
torch themselves load only when a kernel first runs) and the ``albumentations.`` name prefix."""
from . import additive, albu, kernels, sensor, torch_kernels  # noqa: F401  (registration)
from .additive import AdditiveNoise, MultiplicativeNoise
from .corruption import Corruption
from .gaussian import GaussianNoise
from .salt_pepper import SaltAndPepper
from .sensor import SensorFit, SensorNoise, calibrate_sensor
from .shot import ShotNoise
from .speckle import SpeckleNoise

__all__ = ["AdditiveNoise", "Corruption", "GaussianNoise", "MultiplicativeNoise", "SaltAndPepper", "SensorFit", "SensorNoise", "ShotNoise", "SpeckleNoise", "calibrate_sensor"]
