import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

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


def key_rng(*key: int) -> np.random.Generator:
    """A fixed keyed generator for tests."""
    from augnoise.core.rng import key_generator

    return key_generator(1234, key)
