"""Audio noise transforms: ``(C, N)`` channels-first or ``(N,)`` mono; float32 in [-1, 1],
int16 or int32 PCM (returned in the same dtype). ``sample_rate`` travels in the sample dict.
Importing this package registers the transforms and their kernels."""
from . import kernels, short, torch_kernels  # noqa: F401  (registration)
from .background import BackgroundNoise
from .color import ColorNoise
from .gaussian import GaussianNoise
from .short import ShortNoises
from .snr import GaussianSNR

__all__ = ["BackgroundNoise", "ColorNoise", "GaussianNoise", "GaussianSNR", "ShortNoises"]
