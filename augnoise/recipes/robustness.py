"""Robustness curve: a model's accuracy as the noise level of a pipeline rises."""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..core.errors import InputError
from ..core.files import atomic_write
from ..core.pipeline import Pipeline
from .data import Data, load_data

#: parameter swept by default, per step name prefix (the first step's main level)
LEVEL_PARAMS = ("std", "snr_db", "scale", "amount", "photons", "p_swap", "p_mask", "eps")


def _with_level(pipeline: Pipeline, param: str, level: float) -> Pipeline:
    step = pipeline.sample[0]
    cfg = dict(step.to_config()[step.name])
    cfg[param] = level
    cls = type(step)
    return Pipeline(sample=[cls(**cfg), *pipeline.sample[1:]], seed=pipeline.seed, sections=pipeline.sections)


def robustness_curve(model: Any, data: str | Data, pipeline: Pipeline, levels: Sequence[float], *, param: str | None = None,
                     out_dir: str | None = None, label_column: str | None = None, input_shape: Sequence[int] | None = None,
                     test_fraction: float = 1.0) -> dict[str, Any]:
    """Accuracy of ``model`` on ``data`` with the first step's ``param`` set to each level (the
    pipeline's other steps as they are). Images go to the model as (N, 1, H, W) float32 in
    [0, 1] unless ``input_shape`` says otherwise. Writes ``robustness.csv`` and
    ``robustness.png`` into ``out_dir``."""
    import torch

    d = data if isinstance(data, Data) else load_data(data, label_column)
    if d.y is None:
        raise InputError(f"{d.name}: the robustness curve needs labels")
    if not pipeline.sample:
        raise InputError("the pipeline has no sample steps to sweep")
    first = pipeline.sample[0]
    if param is None:
        names = getattr(getattr(first, "Params", None), "model_fields", {})
        param = next((p for p in LEVEL_PARAMS if p in names), None)
        if param is None:
            raise InputError(f"step 1 ({first.name}) has no level parameter; give --param")
    field = d.field
    if d.kind == "tabular" and pipeline.section("tabular").fitted is None:
        pipeline.fit(features=d.x, names=d.names)
    rows = []
    for level in levels:
        p = _with_level(pipeline, param, float(level))
        xs = np.stack([p({field: d.x[i]}, index=i, epoch=0)[field] for i in range(len(d.x))]).astype(np.float32)
        x = torch.from_numpy(np.nan_to_num(xs))
        if input_shape is not None:
            x = x.reshape(len(x), *input_shape)
        elif d.kind == "image" and x.dim() == 3:
            x = x[:, None]
        with torch.no_grad():
            pred = model(x).argmax(1).numpy()
        rows.append((float(level), float(np.mean(pred == d.y))))
    out: dict[str, Any] = {"param": param, "step": first.name, "levels": rows}
    if out_dir is not None:
        folder = Path(out_dir)
        csv = f"{param},accuracy\n" + "".join(f"{lv!r},{acc!r}\n" for lv, acc in rows)
        out["csv"] = str(atomic_write(folder / "robustness.csv", csv))
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(5, 3.2))
        ax.plot([r[0] for r in rows], [r[1] for r in rows], marker="o")
        ax.set_xlabel(f"{first.name} {param}")
        ax.set_ylabel("accuracy")
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
        ax.set_title(f"robustness on {d.name}", fontsize=9)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=90)
        plt.close(fig)
        out["png"] = str(atomic_write(folder / "robustness.png", buf.getvalue()))
    return out
