"""Image noise transforms (numpy HxW or HxWxC; uint8, uint16, float32 in [0, 1])."""
from .gaussian import GaussianNoise
from .salt_pepper import SaltAndPepper
from .shot import ShotNoise
from .speckle import SpeckleNoise

__all__ = ["GaussianNoise", "SaltAndPepper", "ShotNoise", "SpeckleNoise"]
