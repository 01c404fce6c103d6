"""The read-only call context a step sees besides its sample and its draws."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Mapping

import numpy as np

_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True)
class Context:
    """Where a call stands: ``stage``, and the ``epoch``, ``index`` and ``occurrence`` of its
    sample (ints) or samples (arrays, in batch calls); the pipeline's ``sections`` (e.g. the
    ``tabular`` column statistics); for batch-stage steps that need them, the ``model``, its
    ``targets`` and ``loss_fn``; ``trace`` collects the drawn values of applied steps when it
    is a list (one-sample calls only); ``item_types`` says, per field of a collated batch, the
    array type its samples had in the sample stage (``"numpy"``: numpy HWC images collate to
    an NHWC batch), so layouts defaulted by type survive collation. Steps read it; none writes
    it."""

    stage: int = 0
    epoch: Any = 0
    index: Any = 0
    occurrence: Any = 0
    sections: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    model: Any = None
    targets: Any = None
    loss_fn: Any = None
    trace: list | None = None
    item_types: Mapping[str, str] = field(default_factory=lambda: _EMPTY)

    def section(self, name: str) -> Any:
        """The pipeline section ``name`` (KeyError if the pipeline has none)."""
        return self.sections[name]

    def rows(self, sel: np.ndarray) -> "Context":
        """The context of the samples ``sel`` (an index array) of a batch call."""
        def take(v: Any) -> Any:
            return v[sel] if isinstance(v, np.ndarray) and v.ndim == 1 else v

        targets = self.targets
        if targets is not None and hasattr(targets, "shape") and getattr(targets, "ndim", 0) >= 1:
            from .arrays import take_rows

            targets = take_rows(targets, sel)
        return replace(self, epoch=take(self.epoch), index=take(self.index), occurrence=take(self.occurrence),
                       targets=targets)
