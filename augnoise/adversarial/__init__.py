"""Adversarial examples in the batch stage: FGSM and FGSM-plus-noise variants, and a
robustness evaluation. The steps need the model, so they run only in the batch stage
(``Pipeline.apply_batch(..., model=, targets=)`` or ``make_loader(..., model=, targets=)``).
:class:`OverfitMonitor` (and the Lightning :class:`OverfitCallback`) watch adversarial
training for catastrophic overfitting. Importing this package does not import torch; the
kernels do, when they run."""
from .monitor import CatastrophicOverfittingWarning, OverfitMonitor
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

__all__ = ["CatastrophicOverfittingWarning", "FGSM", "FGSMNoise", "OverfitCallback", "OverfitMonitor", "evaluate"]


def __getattr__(name: str):
    if name == "evaluate":
        from .evaluation import evaluate

        return evaluate
    if name == "OverfitCallback":
        from .lightning import OverfitCallback  # imports Lightning

        return OverfitCallback
    raise AttributeError(name)
