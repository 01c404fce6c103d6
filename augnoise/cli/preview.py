"""``augnoise preview``: augmented variants of input files, for a person to look at or hear.

* image: one grid PNG, the original then ``n`` variants, each titled with the steps it drew and
  their values, tiles at most 512 pixels on their longest side (``--max-size``; 0: full size);
* audio: ``n`` augmented files in the input's format, rate and subtype, and one spectrogram
  PNG (original and variants, titled with the parameters each step drew);
* CSV: ``n`` augmented copies and a before/after view of the first rows (printed and written);
  each CSV is fitted on its own when the pipeline has no statistics.

Outputs never overwrite an input, and two inputs with the same name get distinct outputs.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from ..core.config import load
from ..core.errors import InputError
from ..core.pipeline import Pipeline


def _describe(trace: list[tuple[str, dict[str, Any]]], short: bool = False) -> str:
    """The steps a call applied and the values they drew (``short``: names without their
    modality prefix, for narrow image tiles)."""
    parts = []
    for name, params in trace:
        if short and name.startswith(("image.", "audio.", "tabular.", "albumentations.")):
            name = name.split(".", 1)[1]
        vals = " ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items() if k != "index")
        parts.append(f"{name} {vals}".strip())
    return "; ".join(parts) or "(no step applied)"


class Outputs:
    """Plans output paths: a unique stem per input, and a guard against overwriting inputs."""

    def __init__(self, inputs: list[str], out_dir: Path):
        self.out_dir = out_dir
        self.sources = {Path(p).resolve() for p in inputs}
        self.stems: dict[str, str] = {}
        used: set[str] = set()
        for p in inputs:
            stem, k = Path(p).stem, 1
            name = stem
            while name in used:
                k += 1
                name = f"{stem}_{k}"
            used.add(name)
            self.stems[p] = name

    def path(self, source: str, suffix: str) -> Path:
        target = self.out_dir / f"{self.stems[source]}{suffix}"
        if target.resolve() in self.sources:
            raise InputError(f"{target}: output would overwrite an input; choose another -o directory")
        return target


def preview_image(pipeline: Pipeline, path: str, n: int, outputs: Outputs, epoch: int = 0,
                  model: Any = None, label: int | None = None, max_size: int | None = None,
                  progress: Any = None) -> list[Path]:
    """Write a grid PNG: the original, then ``n`` variants keyed by index 0..n-1 (after the
    batch stage too when the pipeline has one; adversarial steps use ``model`` and ``label``,
    and each tile then shows the model's prediction), each titled with the steps it drew and
    their values. The noise is applied at full resolution; tiles are shown with their longest
    side at most ``max_size`` pixels (default 512; 0: full resolution)."""
    from ..image.io import MAX_TILE, make_grid, read_image, write_image

    target = outputs.path(path, "_preview.png")
    img = read_image(path)
    variants, labels = [], [f"original {img.shape[1]}x{img.shape[0]}"]
    for i in range(n):
        trace: list = []
        variants.append(pipeline({"image": img}, index=i, epoch=epoch, trace=trace)["image"])
        labels.append(f"#{i}: {_describe(trace, short=True)}")
        if progress is not None:
            progress.update(1)
    if pipeline.batch:
        variants, preds = _batch_stage_images(pipeline, img, variants, epoch, model, label)
        labels = [f"{lab} (then batch stage)" if i else lab for i, lab in enumerate(labels)]
        if preds is not None:
            labels = [f"{lab}, pred {p}" for lab, p in zip(labels, preds)]
    grid = make_grid([img, *variants], labels, max_size=MAX_TILE if max_size is None else max_size)
    return [write_image(target, grid)]


def _batch_stage_images(pipeline: Pipeline, original: Any, variants: list[Any], epoch: int, model: Any,
                        label: int | None) -> tuple[list[Any], list[int] | None]:
    """Run the batch stage on the variants. With adversarial steps the batch is the model's
    input: float32 in [0, 1], NCHW; predictions are returned for the original and each variant."""
    import numpy as np
    import torch

    adversarial = any(getattr(s, "needs_model", False) for s in pipeline.batch)
    if not adversarial:  # numpy images: the batch stage runs on the numpy stack (channels-last)
        out = pipeline.apply_batch(np.stack(variants), list(range(len(variants))), epoch=epoch)
        return list(out), None
    if model is None or label is None:
        raise InputError("the pipeline has adversarial batch steps: give --model (TorchScript) and --label")
    scale = 1.0 if original.dtype.kind == "f" else float(np.iinfo(original.dtype).max)

    def to_model(imgs: list[Any]) -> Any:
        x = torch.from_numpy(np.stack(imgs).astype(np.float32) / scale)
        return x[:, None] if x.dim() == 3 else x.permute(0, 3, 1, 2)

    x = to_model(variants)
    targets = torch.full((len(variants),), int(label), dtype=torch.int64)
    adv = pipeline.apply_batch(x, list(range(len(variants))), epoch=epoch, model=model, targets=targets)
    with torch.no_grad():
        preds = model(torch.cat([to_model([original]), adv])).argmax(1).tolist()
    back = adv[:, 0] if adv.shape[1] == 1 and original.ndim == 2 else adv.permute(0, 2, 3, 1)
    if original.ndim == 3 and original.shape[2] == 1 and back.dim() == 3:
        back = back[..., None]
    arr = back.numpy()
    outs = [arr[i] if scale == 1.0 else np.clip(np.rint(arr[i] * scale), 0, scale).astype(original.dtype) for i in range(len(arr))]
    return outs, preds


def load_model(path: str) -> Any:
    """A TorchScript model (torch.jit.load: no arbitrary pickle is executed), in eval mode."""
    import torch

    try:
        model = torch.jit.load(path, map_location="cpu")
    except (RuntimeError, ValueError, OSError) as err:
        raise InputError(f"{path}: not a loadable TorchScript model ({str(err).splitlines()[0]})") from None
    model.eval()
    return model


def preview_audio(pipeline: Pipeline, path: str, n: int, outputs: Outputs, epoch: int = 0,
                  progress: Any = None) -> list[Path]:
    """Write ``n`` augmented copies (same format) and a spectrogram PNG comparing them (one row
    per channel). A silent input is said to be silent on stderr (steps at an SNR leave it so)."""
    import numpy as np

    from ..audio.io import read_audio, spectrogram_png, write_audio

    suffix = Path(path).suffix
    targets = [outputs.path(path, f"_{i}{suffix}") for i in range(n)]
    png = outputs.path(path, "_spectrogram.png")
    audio, info = read_audio(path)
    silent = not np.any(audio)
    name = f"{Path(path).name} ({info.channels} ch, {info.sample_rate} Hz, {info.subtype}{', silent' if silent else ''})"
    if silent:
        print(f"augnoise: {path}: the input is silent (all samples 0); steps at an SNR add nothing to silence "
              f"(an absolute level does)", file=sys.stderr)
    clips, titles = [audio], [f"original: {name}"]
    for i in range(n):
        trace: list = []
        clips.append(pipeline({"audio": audio, "sample_rate": info.sample_rate}, index=i, epoch=epoch, trace=trace)["audio"])
        titles.append(f"#{i}: {_describe(trace)}")
        if progress is not None:
            progress.update(1)
    written = [write_audio(t, c, info) for t, c in zip(targets, clips[1:])]
    written.append(spectrogram_png(png, clips, titles, info.sample_rate))
    return written


def preview_csv(pipeline: Pipeline, path: str, n: int, outputs: Outputs, epoch: int = 0,
                progress: Any = None) -> list[Path]:
    """Write ``n`` augmented copies of a CSV (copy i keyed by index i) and the first rows
    before/after (printed, and written to ``<name>_before_after.txt``). A pipeline that needs
    fitted statistics and has none is fitted on this table, each table on its own."""
    import copy

    from ..core.files import atomic_write
    from ..tabular.io import before_after, fit_if_unfitted, read_csv, write_csv

    targets = [outputs.path(path, f"_{i}.csv") for i in range(n)]
    text_target = outputs.path(path, "_before_after.txt")
    table = read_csv(path)
    work = pipeline if pipeline.section("tabular").fitted is not None else copy.deepcopy(pipeline)
    if fit_if_unfitted(work, table):
        print(f"(no fitted statistics in the pipeline: fitted on {path})")
    copies = []
    for i in range(n):
        copies.append(work({"features": table.x}, index=i, epoch=epoch)["features"])
        if progress is not None:
            progress.update(1)
    written = [write_csv(t, table, c) for t, c in zip(targets, copies)]
    view = f"{path}, copy 0 (* = changed):\n{before_after(table, copies[0])}"
    print(view)
    written.append(atomic_write(text_target, view + "\n"))
    return written


def cmd_preview(pipeline_path: str, inputs: list[str], n: int = 8, out: str = "out",
                seed: int | None = None, epoch: int = 0, model: str | None = None,
                labels: list[int] | None = None, max_size: int | None = None) -> int:
    from ..audio.io import AUDIO_SUFFIXES
    from ..image.io import IMAGE_SUFFIXES

    if n < 1:
        raise InputError(f"-n must be >= 1, got {n}")
    pipeline = load(pipeline_path)
    if seed is not None:
        pipeline = pipeline.with_seed(seed)
    outputs = Outputs(inputs, Path(out))
    if labels is not None and len(labels) not in (1, len(inputs)):
        raise InputError(f"--label given {len(labels)} times for {len(inputs)} inputs (give it once, or once per input)")
    net = load_model(model) if model is not None else None
    failures = 0
    from tqdm import tqdm

    progress = tqdm(total=n * len(inputs), unit="variant", desc="augnoise preview", file=sys.stderr, disable=None,
                    leave=False)
    for k, path in enumerate(inputs):
        label = None if labels is None else labels[0] if len(labels) == 1 else labels[k]
        suffix = Path(path).suffix.lower()
        try:
            if os.path.isdir(path):
                raise InputError("is a folder; preview takes files (give the files, e.g. a shell glob folder/*.png)")
            if not os.path.lexists(path):
                raise InputError("does not exist")
            if suffix in IMAGE_SUFFIXES:
                written = preview_image(pipeline, path, n, outputs, epoch, model=net, label=label, max_size=max_size,
                                        progress=progress)
            elif suffix in AUDIO_SUFFIXES:
                written = preview_audio(pipeline, path, n, outputs, epoch, progress=progress)
            elif suffix == ".csv":
                written = preview_csv(pipeline, path, n, outputs, epoch, progress=progress)
            else:
                kinds = ", ".join(sorted(IMAGE_SUFFIXES | AUDIO_SUFFIXES | {".csv"}))
                raise InputError(f"unsupported file type {suffix or '(none)'!r} (supported: {kinds})")
        except InputError as err:
            msg = str(err)
            print(f"augnoise: {msg if msg.startswith(path) else f'{path}: {msg}'}", file=sys.stderr)
            failures += 1
            continue
        for w in written:
            progress.write(f"wrote {w}", file=sys.stdout)
    progress.close()
    return 1 if failures else 0
