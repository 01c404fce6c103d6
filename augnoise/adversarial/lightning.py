"""Lightning callback for the catastrophic-overfitting monitor.

This module imports Lightning (``lightning``, else ``pytorch_lightning``); ``import
augnoise.adversarial`` does not import it.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

try:
    from lightning.pytorch.callbacks import Callback
except ImportError:  # pragma: no cover - depends on what is installed
    try:
        from pytorch_lightning.callbacks import Callback
    except ImportError:
        raise ImportError("augnoise.adversarial.OverfitCallback needs Lightning: pip install lightning") from None

from .monitor import OverfitMonitor, check_settings

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["OverfitCallback"]

#: the logged names, by history key
METRICS = {"clean": "adv/clean_acc", "fgsm": "adv/fgsm_acc", "pgd": "adv/pgd_acc", "gap": "adv/fgsm_pgd_gap"}


class OverfitCallback(Callback):
    """Run :class:`~augnoise.adversarial.monitor.OverfitMonitor` on the ``LightningModule``
    during ``fit``: after every ``every``-th optimizer step (``trainer.global_step % every == 0``,
    at ``on_train_batch_end``) it evaluates clean, FGSM and PGD accuracy on the held-out batch
    ``(x, y)`` and logs ``adv/clean_acc``, ``adv/fgsm_acc``, ``adv/pgd_acc`` and
    ``adv/fgsm_pgd_gap`` with ``pl_module.log`` (on step), warning with
    ``CatastrophicOverfittingWarning`` when the gap first exceeds ``gap``.

    Lightning hands step metrics to the loggers only every ``Trainer(log_every_n_steps=)``
    steps (50 by default), so make ``every`` a multiple of it. The arguments are those of
    ``OverfitMonitor`` (``x`` and ``y`` are moved to the module's device at each evaluation);
    ``figure=path`` writes the monitor's plot when training ends. :attr:`monitor` (set when
    fitting starts) holds the history.
    """

    def __init__(self, x: "torch.Tensor", y: "torch.Tensor", eps: float = 8 / 255, *, every: int = 100,
                 pgd_steps: int = 10, alpha: float | None = None, gap: float = 0.2, recover: float | None = None,
                 loss_fn: Callable | None = None, valid_range: Sequence[float] | None = None,
                 mean: Sequence[float] | None = None, std: Sequence[float] | None = None, channel_axis: int = 1,
                 pipeline: Any = None, field: str = "image", seed: int = 0, prog_bar: bool = False,
                 figure: str | Path | None = None) -> None:
        super().__init__()
        settings = {"every": every, "pgd_steps": pgd_steps, "alpha": alpha, "gap": gap, "recover": recover,
                    "valid_range": valid_range, "mean": mean, "std": std, "channel_axis": channel_axis,
                    "pipeline": pipeline, "field": field, "seed": seed}
        check_settings(x, y, eps, **settings)  # a bad argument fails here, not when fitting starts
        self._kw = {"eps": eps, "loss_fn": loss_fn, **settings}
        self.x, self.y = x, y
        self.prog_bar = prog_bar
        self.figure_path = Path(figure) if figure is not None else None
        self.monitor: OverfitMonitor | None = None

    def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
        if self.monitor is None or self.monitor.model is not pl_module:
            self.monitor = OverfitMonitor(pl_module, self.x, self.y, **self._kw)

    def on_train_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
        if self.monitor is None:  # fit started without on_fit_start (a custom loop)
            self.on_fit_start(trainer, pl_module)
        rec = self.monitor.step(trainer.global_step)
        if rec is None:
            return
        for key, name in METRICS.items():
            pl_module.log(name, float(rec[key]), on_step=True, on_epoch=False, prog_bar=self.prog_bar,
                          batch_size=int(self.y.shape[0]))

    def on_train_end(self, trainer: Any, pl_module: Any) -> None:
        if self.figure_path is not None and self.monitor is not None and self.monitor.history and trainer.is_global_zero:
            self.monitor.figure(self.figure_path)
