"""``augnoise preview``: augmented variants of input files, for a person to look at."""
from __future__ import annotations

from pathlib import Path

from ..core.config import load
from ..core.errors import InputError
from ..core.pipeline import Pipeline


def preview_image(pipeline: Pipeline, path: str, n: int, target: Path, epoch: int = 0) -> Path:
    """Write a grid PNG to ``target``: the original, then ``n`` variants keyed by index 0..n-1."""
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
    return write_image(target, grid)


def output_paths(inputs: list[str], out_dir: Path, suffix: str = "_preview.png") -> dict[str, Path]:
    """One distinct output per input (``x_preview.png``, ``x_2_preview.png`` for a second
    ``x``); refuses any output that is one of the inputs, so sources are never overwritten."""
    sources = {Path(p).resolve() for p in inputs}
    taken: set[Path] = set()
    result = {}
    for p in inputs:
        stem, k = Path(p).stem, 1
        target = out_dir / f"{stem}{suffix}"
        while target.resolve() in taken:
            k += 1
            target = out_dir / f"{stem}_{k}{suffix}"
        if target.resolve() in sources:
            raise InputError(f"{target}: output would overwrite an input; choose another -o directory")
        taken.add(target.resolve())
        result[p] = target
    return result


def cmd_preview(pipeline_path: str, inputs: list[str], n: int = 8, out: str = "out",
                seed: int | None = None, epoch: int = 0) -> int:
    from ..image.io import IMAGE_SUFFIXES

    if n < 1:
        raise InputError(f"-n must be >= 1, got {n}")
    pipeline = load(pipeline_path)
    if seed is not None:
        pipeline = Pipeline(sample=pipeline.sample, batch=pipeline.batch, seed=seed)
    out_dir = Path(out)
    targets = output_paths(inputs, out_dir)
    failures = 0
    for path in inputs:
        suffix = Path(path).suffix.lower()
        try:
            if suffix in IMAGE_SUFFIXES:
                written = preview_image(pipeline, path, n, targets[path], epoch)
            else:
                raise InputError(f"{path}: unsupported file type {suffix or '(none)'!r} (images: {', '.join(sorted(IMAGE_SUFFIXES))})")
        except InputError as err:
            print(f"augnoise: {err}", file=__import__("sys").stderr)
            failures += 1
            continue
        print(f"wrote {written}")
    return 1 if failures else 0
