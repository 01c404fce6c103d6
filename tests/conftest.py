import os
import tempfile

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

# A fresh numba cache per test session (inherited by subprocesses, DataLoader workers and Ray
# actors): numba's cache tracks a kernel's own file, not the Philox code it inlines, so a cache
# from before an edit could run stale code. Compiling once per session keeps the tests honest.
os.environ.setdefault("NUMBA_CACHE_DIR", tempfile.mkdtemp(prefix="augnoise-numba-"))

# Deterministic everywhere: derandomized examples, no deadline (slow shared machines).
settings.register_profile(
    "ci", derandomize=True, deadline=None, max_examples=40, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("dev", derandomize=True, deadline=None, max_examples=40)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def grey_u8():
    return np.full((256, 256, 3), 128, np.uint8)


def run_step(step, sample, key: int = 0, seed: int = 1234, epoch: int = 0, sections=None):
    """Run one step on one sample, keyed by index ``key`` (through a one-step pipeline)."""
    import augnoise

    return augnoise.Pipeline(sample=[step], seed=seed, sections=sections)(sample, index=key, epoch=epoch)
