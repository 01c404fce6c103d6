"""``augnoise preview``: augmented variants of input files, for a person to look at."""
from __future__ import annotations

from pathlib import Path

from ..core.config import load
from ..core.errors import InputError
from ..core.pipeline import Pipeline


def preview_image(pipeline: Pipeline, path: str, n: int, out: Path, epoch: int = 0) -> Path:
    """Write a grid PNG: the original, then ``n`` variants keyed by index 0..n-1."""
    from ..image.io import make_grid, read_image, write_image

    img = read_image(path)
    variants = []
    for i in range(n):
        try:
            variants.append(pipeline({"image": img}, index=i, epoch=epoch)["image"])
        except InputError as err:
            raise InputError(f"{path}: {err}") from None
    labels = ["original"] + [f"#{i}" for i in range(n)]
    grid = make_grid([img, *variants], labels)
    return write_image(out / f"{Path(path).stem}_preview.png", grid)


def cmd_preview(pipeline_path: str, inputs: list[str], n: int = 8, out: str = "out",
                seed: int | None = None, epoch: int = 0) -> int:
    from ..image.io import IMAGE_SUFFIXES

    if n < 1:
        raise InputError(f"-n must be >= 1, got {n}")
    pipeline = load(pipeline_path)
    if seed is not None:
        pipeline = Pipeline(sample=pipeline.sample, batch=pipeline.batch, seed=seed)
    out_dir = Path(out)
    failures = 0
    for path in inputs:
        suffix = Path(path).suffix.lower()
        try:
            if suffix in IMAGE_SUFFIXES:
                written = preview_image(pipeline, path, n, out_dir, epoch)
            else:
                raise InputError(f"{path}: unsupported file type {suffix or '(none)'!r} (images: {', '.join(sorted(IMAGE_SUFFIXES))})")
        except InputError as err:
            print(f"augnoise: {err}", file=__import__("sys").stderr)
            failures += 1
            continue
        print(f"wrote {written}")
    return 1 if failures else 0
