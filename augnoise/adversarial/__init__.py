"""Adversarial examples in the batch stage: FGSM and FGSM-plus-noise variants, and a
robustness evaluation. The steps need the model, so they run only in the batch stage
(``Pipeline.apply_batch(..., model=, targets=)`` or ``make_loader(..., model=, targets=)``).
Importing this package does not import torch; the kernels do, when they run."""
from .transforms import FGSM, FGSMNoise


def _register() -> None:
    """Register the torch kernel without importing torch now: a stub that loads the real one."""
    from ..core.kernels import kernel
    from .transforms import _Adversarial

    @kernel(_Adversarial, "torch")
    def adversarial(t, x, params, ctx):  # type: ignore[no-untyped-def]
        from .kernels import adversarial as real

        return real(t, x, params, ctx)


_register()

__all__ = ["FGSM", "FGSMNoise", "evaluate"]


def __getattr__(name: str):
    if name == "evaluate":
        from .evaluation import evaluate

        return evaluate
    raise AttributeError(name)
