"""``augnoise preview``: augmented variants of input files, for a person to look at or hear.

* image: one grid PNG, the original then ``n`` variants labelled with their index;
* audio: ``n`` augmented files in the input's format, rate and subtype, and one spectrogram
  PNG (original and variants, titled with the parameters each step drew);
* CSV: ``n`` augmented copies and a printed before/after view of the first rows.

Outputs never overwrite an input, and two inputs with the same name get distinct outputs.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from ..core.config import load
from ..core.errors import InputError
from ..core.pipeline import Pipeline


def _describe(trace: list[tuple[str, dict[str, Any]]]) -> str:
    parts = []
    for name, params in trace:
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


def preview_image(pipeline: Pipeline, path: str, n: int, outputs: Outputs, epoch: int = 0) -> list[Path]:
    """Write a grid PNG: the original, then ``n`` variants keyed by index 0..n-1."""
    from ..image.io import make_grid, read_image, write_image

    target = outputs.path(path, "_preview.png")
    img = read_image(path)
    variants = [pipeline({"image": img}, index=i, epoch=epoch)["image"] for i in range(n)]
    grid = make_grid([img, *variants], ["original"] + [f"#{i}" for i in range(n)])
    return [write_image(target, grid)]


def preview_audio(pipeline: Pipeline, path: str, n: int, outputs: Outputs, epoch: int = 0) -> list[Path]:
    """Write ``n`` augmented copies (same format) and a spectrogram PNG comparing them."""
    from ..audio.io import read_audio, spectrogram_png, write_audio

    suffix = Path(path).suffix
    targets = [outputs.path(path, f"_{i}{suffix}") for i in range(n)]
    png = outputs.path(path, "_spectrogram.png")
    audio, info = read_audio(path)
    clips, titles = [audio], [f"original: {Path(path).name} ({info.channels} ch, {info.sample_rate} Hz, {info.subtype})"]
    for i in range(n):
        trace: list = []
        clips.append(pipeline({"audio": audio, "sample_rate": info.sample_rate}, index=i, epoch=epoch, trace=trace)["audio"])
        titles.append(f"#{i}: {_describe(trace)}")
    written = [write_audio(t, c, info) for t, c in zip(targets, clips[1:])]
    written.append(spectrogram_png(png, clips, titles, info.sample_rate))
    return written


def preview_csv(pipeline: Pipeline, path: str, n: int, outputs: Outputs, epoch: int = 0) -> list[Path]:
    """Write ``n`` augmented copies of a CSV (copy i keyed by index i) and print the first rows
    before/after. A pipeline that needs fitted statistics and has none is fitted on this table."""
    from ..tabular.io import before_after, read_csv, write_csv
    from ..tabular.schema import fit_stats

    targets = [outputs.path(path, f"_{i}.csv") for i in range(n)]
    table = read_csv(path)
    if pipeline.tabular.fitted is None:
        pipeline.tabular.fitted = fit_stats(table.x, pipeline.tabular, table.names, table.frame_kinds)
        pipeline._bind(pipeline.tabular)
        print(f"(no fitted statistics in the pipeline: fitted on {path})")
    copies = []
    for i in range(n):
        copies.append(pipeline({"features": table.x}, index=i, epoch=epoch)["features"])
    written = [write_csv(t, table, c) for t, c in zip(targets, copies)]
    print(f"{path}, copy 0 (* = changed):")
    print(before_after(table, copies[0]))
    return written


def cmd_preview(pipeline_path: str, inputs: list[str], n: int = 8, out: str = "out",
                seed: int | None = None, epoch: int = 0) -> int:
    from ..audio.io import AUDIO_SUFFIXES
    from ..image.io import IMAGE_SUFFIXES

    if n < 1:
        raise InputError(f"-n must be >= 1, got {n}")
    pipeline = load(pipeline_path)
    if seed is not None:
        pipeline = Pipeline(sample=pipeline.sample, batch=pipeline.batch, seed=seed)
    outputs = Outputs(inputs, Path(out))
    failures = 0
    for path in inputs:
        suffix = Path(path).suffix.lower()
        try:
            if suffix in IMAGE_SUFFIXES:
                written = preview_image(pipeline, path, n, outputs, epoch)
            elif suffix in AUDIO_SUFFIXES:
                written = preview_audio(pipeline, path, n, outputs, epoch)
            elif suffix == ".csv":
                written = preview_csv(pipeline, path, n, outputs, epoch)
            else:
                kinds = ", ".join(sorted(IMAGE_SUFFIXES | AUDIO_SUFFIXES | {".csv"}))
                raise InputError(f"unsupported file type {suffix or '(none)'!r} (supported: {kinds})")
        except InputError as err:
            msg = str(err)
            print(f"augnoise: {msg if msg.startswith(path) else f'{path}: {msg}'}", file=sys.stderr)
            failures += 1
            continue
        for w in written:
            print(f"wrote {w}")
    return 1 if failures else 0
