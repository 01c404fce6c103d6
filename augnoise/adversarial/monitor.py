"""Catastrophic-overfitting monitor for single-step adversarial training.

FGSM training can collapse suddenly (Wong, Rice, Kolter 2020, "Fast is better than free"): the
model learns to defeat the FGSM example itself, so accuracy under FGSM stays high while accuracy
under PGD falls to about zero. :class:`OverfitMonitor` watches for that on a fixed held-out batch:
every ``every`` training steps it measures clean, FGSM and PGD accuracy with
:func:`augnoise.adversarial.evaluate` (the same attacks, keys and data-domain handling) and warns
with :class:`CatastrophicOverfittingWarning` when ``FGSM - PGD`` exceeds ``gap``.

Importing this module does not import torch (the evaluation does, when it runs).
"""
from __future__ import annotations

import math
import numbers
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from ..core.errors import InputError, ParamError

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["CatastrophicOverfittingWarning", "OverfitMonitor"]


class CatastrophicOverfittingWarning(UserWarning):
    """FGSM accuracy far above PGD accuracy on held-out data: single-step adversarial training
    has collapsed (catastrophic overfitting, Wong, Rice, Kolter 2020)."""


def _int(name: str, v: Any, lo: int) -> int:
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < lo:
        raise ParamError("OverfitMonitor", [(name, f"must be an integer >= {lo}, got {v!r}")])
    return int(v)


def _number(name: str, v: Any, lo: float, hi: float, lo_open: bool = True) -> float:
    ok = isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(float(v))
    ok = ok and (float(v) > lo if lo_open else float(v) >= lo) and float(v) <= hi
    if not ok:
        bound = f"in ({lo:g}, {hi:g}]" if lo_open else f"in [{lo:g}, {hi:g}]"
        raise ParamError("OverfitMonitor", [(name, f"must be a number {bound}, got {v!r}")])
    return float(v)


class OverfitMonitor:
    """Watch single-step adversarial training for catastrophic overfitting.

    Call :meth:`step` once per training step from a plain loop. When ``step % every == 0`` it
    evaluates ``model`` on the held-out batch ``(x, y)``: clean accuracy, accuracy under FGSM at
    ``eps`` and under PGD (``pgd_steps`` steps of ``alpha``, default ``2.5 eps / pgd_steps``,
    uniform random start), appends ``{"step", "clean", "fgsm", "pgd", "gap"}`` to
    :attr:`history` (``gap = fgsm - pgd``) and issues a :class:`CatastrophicOverfittingWarning`
    when the gap first exceeds ``gap``; it warns again only after the gap has recovered to
    ``recover`` or below (default ``gap / 2``: the gap measured on a few hundred points moves by
    a few hundredths between evaluations, and a gap wavering around the threshold is one
    collapse, not several). :attr:`overfit` is that alarm state. :meth:`figure` plots the record.

    The evaluation is :func:`augnoise.adversarial.evaluate` on the one batch: the model runs in
    eval mode and is left exactly as found (mode, parameter ``.grad`` and ``requires_grad``,
    BatchNorm statistics, the global torch RNG); the PGD random start is keyed by ``seed``,
    the same at every evaluation, so the curve moves only when the model does. ``eps`` and
    ``alpha`` are in the data's units as in ``evaluate``: give ``valid_range``, ``mean`` and
    ``std`` (per channel on ``channel_axis``) for a normalised batch, or ``pipeline=`` whose
    ``fields:`` declares ``field``. ``loss_fn(logits, y)`` defaults to summed cross-entropy.
    Gradients must be enabled when :meth:`step` runs (it says so otherwise).
    """

    def __init__(self, model: "torch.nn.Module", x: "torch.Tensor", y: "torch.Tensor", eps: float = 8 / 255, *,
                 every: int = 100, pgd_steps: int = 10, alpha: float | None = None, gap: float = 0.2,
                 recover: float | None = None, loss_fn: Callable | None = None, valid_range: Sequence[float] | None = None,
                 mean: Sequence[float] | None = None, std: Sequence[float] | None = None, channel_axis: int = 1,
                 pipeline: Any = None, field: str = "image", seed: int = 0) -> None:
        import torch

        if not isinstance(model, torch.nn.Module) or next(iter(model.parameters()), None) is None:
            raise InputError(f"OverfitMonitor: model must be a torch.nn.Module with parameters, got {type(model).__name__}")
        self.model = model
        settings = check_settings(x, y, eps, every=every, pgd_steps=pgd_steps, alpha=alpha, gap=gap, recover=recover,
                                  valid_range=valid_range, mean=mean, std=std, channel_axis=channel_axis,
                                  pipeline=pipeline, field=field, seed=seed)
        self.x, self.y = settings.pop("x"), settings.pop("y")
        self.eps, self.every, self.pgd_steps = settings["eps"], settings["every"], settings["pgd_steps"]
        self.alpha, self.threshold, self.seed = settings["alpha"], settings["gap"], settings["seed"]
        self.recover = settings["recover"]
        self.valid_range, self.mean, self.std = settings["valid_range"], settings["mean"], settings["std"]
        self.channel_axis = settings["channel_axis"]
        self.loss_fn = loss_fn
        #: one dict per evaluation: ``step``, ``clean``, ``fgsm``, ``pgd``, ``gap`` (accuracies in [0, 1])
        self.history: list[dict[str, float | int]] = []
        self._alarm = False

    @property
    def overfit(self) -> bool:
        """Whether the alarm is up: the gap exceeded ``gap`` and has not yet recovered to ``recover``."""
        return self._alarm

    def step(self, step: int) -> dict[str, float | int] | None:
        """Evaluate if ``step`` is a multiple of ``every`` (and not evaluated already); returns the
        new record, else None. Warns with :class:`CatastrophicOverfittingWarning` as described."""
        step = _int("step", step, 0)
        if step % self.every or (self.history and self.history[-1]["step"] == step):
            return None
        return self._evaluate(step, stacklevel=3)

    def check(self, step: int) -> dict[str, float | int]:
        """Evaluate now, whatever ``every`` says (e.g. before training or at the end)."""
        return self._evaluate(_int("step", step, 0), stacklevel=3)

    def _evaluate(self, step: int, stacklevel: int) -> dict[str, float | int]:
        from .evaluation import evaluate
        from .kernels import gradient_problem

        problem = gradient_problem("OverfitMonitor: FGSM and PGD need", "the monitor", "call step()")
        if problem:
            raise InputError(problem)
        import torch

        dev = next(self.model.parameters()).device
        with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):  # a model drawing even in eval mode
            r = evaluate(self.model, [(self.x, self.y)], eps=self.eps, pgd_steps=self.pgd_steps,
                         pgd_step_size=self.alpha, noise_levels=(), valid_range=self.valid_range, seed=self.seed,
                         loss_fn=self.loss_fn, mean=self.mean, std=self.std, channel_axis=self.channel_axis)
        rec: dict[str, float | int] = {"step": step, "clean": r["clean"], "fgsm": r["fgsm"], "pgd": r["pgd"],
                                       "gap": r["co_gap"]}
        self.history.append(rec)
        if rec["gap"] > self.threshold:
            if not self._alarm:
                warnings.warn(
                    f"step {step}: FGSM accuracy {rec['fgsm']:.3f} but PGD accuracy {rec['pgd']:.3f} on the held-out "
                    f"batch (gap {rec['gap']:.3f} > {self.threshold:g}): catastrophic overfitting; go back to an earlier "
                    f"checkpoint and lower eps or the step size, or add a random start or noise (FGSMNoise variant "
                    f"fgsm_rs or nfgsm)", CatastrophicOverfittingWarning, stacklevel=stacklevel)
            self._alarm = True
        elif rec["gap"] <= self.recover:
            self._alarm = False
        return rec

    def figure(self, path: str | Path, *, title: str | None = None) -> Path:
        """Write the accuracies over steps (clean, FGSM, PGD; steps over the threshold shaded) to
        ``path``, a PNG unless its suffix names another format matplotlib writes. Needs
        matplotlib (Agg canvas, no pyplot state touched). Returns the path."""
        if not self.history:
            raise InputError("OverfitMonitor.figure: nothing recorded yet; call step() during training (or check()) first")
        try:
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure
        except ImportError:
            raise ImportError("OverfitMonitor.figure needs matplotlib: pip install matplotlib") from None
        h = self.history
        steps = [r["step"] for r in h]
        fig = Figure(figsize=(6.4, 3.6))
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        for key, style in (("clean", "-"), ("fgsm", "--"), ("pgd", "-.")):
            ax.plot(steps, [r[key] for r in h], style, marker="o", markersize=3, label=key.upper() if key != "clean" else key)
        label = f"FGSM - PGD > {self.threshold:g}"
        for lo, hi in _spans(steps, [r["gap"] > self.threshold for r in h]):
            ax.axvspan(lo, hi, color="tab:red", alpha=0.15, lw=0, label=label)
            label = None
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("training step")
        ax.set_ylabel("held-out accuracy")
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(title or f"catastrophic-overfitting monitor (eps {self.eps:g}, PGD-{self.pgd_steps})")
        ax.legend(loc="best", fontsize="small")
        fig.tight_layout()
        path = Path(path)
        fig.savefig(path, format=path.suffix[1:].lower() or "png")
        return path


def _spans(steps: list[Any], flags: list[bool]) -> list[tuple[float, float]]:
    """Merged x-spans around the flagged steps, each reaching half-way to its neighbours."""
    if len(steps) == 1:
        return [(steps[0] - 0.5, steps[0] + 0.5)] if flags[0] else []
    out: list[tuple[float, float]] = []
    for i, (st, flag) in enumerate(zip(steps, flags)):
        if not flag:
            continue
        left = st - (st - steps[i - 1]) / 2 if i else st - (steps[1] - steps[0]) / 2
        right = st + (steps[i + 1] - st) / 2 if i + 1 < len(steps) else st + (st - steps[i - 1]) / 2
        if out and out[-1][1] >= left:
            out[-1] = (out[-1][0], right)
        else:
            out.append((left, right))
    return out


def check_settings(x: Any, y: Any, eps: Any, *, every: Any, pgd_steps: Any, alpha: Any, gap: Any, recover: Any,
                   valid_range: Any, mean: Any, std: Any, channel_axis: Any, pipeline: Any, field: str,
                   seed: Any) -> dict[str, Any]:
    """Validate the monitor's settings and held-out batch (one clear error each); the resolved
    data domain included, so a batch outside it fails here and not at step 1000."""
    import torch

    from .evaluation import resolve_domain
    from .kernels import check_domain, data_domain

    out: dict[str, Any] = {
        "eps": _number("eps", eps, 0.0, 1e6), "every": _int("every", every, 1),
        "pgd_steps": _int("pgd_steps", pgd_steps, 1), "gap": _number("gap", gap, 0.0, 1.0, lo_open=False),
        "alpha": None if alpha is None else _number("alpha", alpha, 0.0, 1e6), "seed": _int("seed", seed, 0),
    }
    out["recover"] = out["gap"] / 2 if recover is None else _number("recover", recover, 0.0, out["gap"], lo_open=False)
    if not isinstance(x, torch.Tensor) or not torch.is_floating_point(x) or x.dim() < 2 or x.shape[0] == 0:
        what = f"{x.dtype} tensor of shape {tuple(x.shape)}" if isinstance(x, torch.Tensor) else type(x).__name__
        raise InputError(f"OverfitMonitor: x must be a non-empty float tensor batch (N, ...), got a {what}")
    if not isinstance(y, torch.Tensor) or y.dtype.is_floating_point or y.dim() != 1 or y.shape[0] != x.shape[0]:
        what = f"{y.dtype} tensor of shape {tuple(y.shape)}" if isinstance(y, torch.Tensor) else type(y).__name__
        raise InputError(f"OverfitMonitor: y must be an integer class tensor of shape ({x.shape[0]},), got a {what}")
    valid, mean, std, axis = resolve_domain(pipeline, field, valid_range, mean, std, channel_axis, who="OverfitMonitor")
    try:
        _, lo, hi = data_domain(x, mean, std, valid, axis)
        check_domain(x, lo, hi)
    except ValueError as err:
        raise InputError(f"OverfitMonitor: the held-out batch: {err}") from None
    out.update(x=x.detach().clone(), y=y.detach().clone(), valid_range=valid, mean=mean, std=std, channel_axis=axis)
    return out
