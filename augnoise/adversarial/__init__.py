"""Adversarial examples in the batch stage: FGSM and FGSM-plus-noise variants, and a
robustness evaluation. The steps need the model, so they run only in the batch stage
(``Pipeline.apply_batch(..., model=, targets=)`` or ``make_loader(..., model=, targets=)``).
Importing this package does not import torch; the kernels do, when they run."""
from .transforms import FGSM, FGSMNoise

__all__ = ["FGSM", "FGSMNoise", "evaluate"]


def __getattr__(name: str):
    if name == "evaluate":
        from .evaluation import evaluate

        return evaluate
    raise AttributeError(name)
