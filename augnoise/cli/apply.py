"""``augnoise apply``: augment a folder tree of images, audio files and CSVs into another.

Every input file gets a key index from a hash of its path relative to SRC (stable when files
are added or removed elsewhere); copy ``k`` is epoch ``k``. Outputs are ``<stem>_<k><suffix>``
in the same relative folder under DST, written atomically (temp file, then rename), so a rerun
skips finished outputs and resumes an interrupted run; stale temp files are removed. SRC is
never written: DST may not be SRC or inside it, and no output may be a source file. A file
that cannot be read or augmented is reported with its path, the rest carry on, and the exit
status is 1 with the count of failures.

SRC may also be one table (.csv, or .parquet with pyarrow): then every row is augmented alone,
keyed by its row number (see :mod:`augnoise.cli.apply_table`). ``--engine ray`` runs the same
work on Ray (a local instance sized to the machine, or ``--address``) with the same outputs.
"""
from __future__ import annotations

import hashlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.config import load
from ..core.errors import AugnoiseError, InputError
from ..core.pipeline import Pipeline


@dataclass(frozen=True)
class Task:
    source: Path
    rel: Path
    copy: int
    target: Path


def file_index(rel: Path) -> int:
    """Stable key index of an input file: 63 bits of SHA-256 of its relative POSIX path."""
    return int.from_bytes(hashlib.sha256(rel.as_posix().encode()).digest()[:8], "big") >> 1


def _kind(path: Path) -> str | None:
    from ..audio.io import AUDIO_SUFFIXES
    from ..image.io import IMAGE_SUFFIXES

    s = path.suffix.lower()
    return "image" if s in IMAGE_SUFFIXES else "audio" if s in AUDIO_SUFFIXES else "csv" if s == ".csv" else None


def pipeline_kinds(pipeline: Pipeline) -> set[str]:
    """File kinds a pipeline handles, from the modalities of its steps."""
    from ..core.pipeline import walk

    kinds = set()
    for step in walk(pipeline.sample):
        if step.children():
            continue
        modality = getattr(step, "modality", "image")  # albumentations steps are image steps
        kinds.add({"image": "image", "audio": "audio", "tabular": "csv"}.get(modality, modality))
    return kinds


def plan(src: Path, dst: Path, copies: int, kinds: set[str] | None = None) -> tuple[list[Task], int]:
    """The (file, copy) tasks, and the number of files of other kinds that are ignored."""
    src_r, dst_r = src.resolve(), dst.resolve()
    if dst_r == src_r or src_r in dst_r.parents:
        raise InputError(f"{dst}: DST may not be SRC or inside it (SRC is never written)")
    candidates = sorted(p for p in src.rglob("*") if p.is_file() and not p.name.startswith(".") and _kind(p))
    files = [p for p in candidates if kinds is None or _kind(p) in kinds]
    sources = {p.resolve() for p in files}
    tasks = []
    for p in files:
        rel = p.relative_to(src)
        for k in range(copies):
            target = dst / rel.parent / f"{p.stem}_{k}{p.suffix}"
            if target.resolve() in sources:
                raise InputError(f"{target}: output would overwrite a source file")
            tasks.append(Task(p, rel, k, target))
    return tasks, len(candidates) - len(files)


_PIPELINE: Pipeline | None = None


def _init(pipeline_path: str, seed: int | None) -> None:
    global _PIPELINE
    p = load(pipeline_path)
    _PIPELINE = p.with_seed(seed) if seed is not None else p


def run_task(task: Task) -> tuple[str, str]:
    """Augment one (file, copy); returns (status, message) with status written/failed."""
    from ..audio.io import read_audio, write_audio
    from ..image.io import read_image, write_image
    from ..tabular.io import fit_if_unfitted, read_csv, write_csv

    pipe = _PIPELINE
    assert pipe is not None
    index, epoch = file_index(task.rel), task.copy
    try:
        kind = _kind(task.source)
        if kind == "image":
            out = pipe({"image": read_image(task.source)}, index=index, epoch=epoch)["image"]
            write_image(task.target, out)
        elif kind == "audio":
            audio, info = read_audio(task.source)
            out = pipe({"audio": audio, "sample_rate": info.sample_rate}, index=index, epoch=epoch)["audio"]
            write_audio(task.target, out, info)
        else:
            table = read_csv(task.source)
            fitted_here = fit_if_unfitted(pipe, table)  # no training statistics: this table's own
            try:
                out = pipe({"features": table.x}, index=index, epoch=epoch)["features"]
            finally:
                if fitted_here:
                    pipe.section("tabular").fitted = None  # the next file fits on itself again
            write_csv(task.target, table, out)
    except AugnoiseError as err:
        msg = str(err)
        return "failed", msg if msg.startswith(str(task.source)) else f"{task.source}: {msg}"
    except Exception as err:  # a corrupt file may fail deep inside a decoder
        return "failed", f"{task.source}: {type(err).__name__}: {err}"
    return "written", str(task.target)


def _clean_stale(tasks: list[Task]) -> int:
    removed = 0
    for folder in {t.target.parent for t in tasks}:
        if folder.is_dir():
            names = {t.target.name for t in tasks if t.target.parent == folder}
            for f in folder.iterdir():
                if f.name.startswith(".") and f.name.endswith(".tmp") and any(f.name.startswith(f".{n}.") for n in names):
                    f.unlink()
                    removed += 1
    return removed


def start_ray(address: str | None) -> None:
    """Connect to ``address``, or start a local Ray instance sized to the machine."""
    try:
        import ray
    except ImportError:
        raise InputError("--engine ray needs Ray: pip install 'augnoise[ray]'") from None
    import logging

    if not ray.is_initialized():
        quiet = {"log_to_driver": False, "logging_level": logging.WARNING}
        if address:
            ray.init(address=address, **quiet)
        else:
            ray.init(num_cpus=os.cpu_count(), include_dashboard=False, **quiet)
    ray.data.DataContext.get_current().enable_progress_bars = False


class _RayTasks:
    """Ray callable class: one pipeline per actor, one (file, copy) task per row."""

    def __init__(self, pipeline_path: str, seed: int | None) -> None:
        _init(pipeline_path, seed)

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        import numpy as np

        res = [run_task(Task(Path(s), Path(r), int(c), Path(t)))
               for s, r, c, t in zip(batch["source"], batch["rel"], batch["copy"], batch["target"])]
        return {"status": np.array([a for a, _ in res]), "message": np.array([b for _, b in res])}


def _run_ray(tasks: list[Task], pipeline_path: str, seed: int | None, concurrency: int) -> Any:
    import ray

    ds = ray.data.from_items([{"source": str(t.source), "rel": t.rel.as_posix(), "copy": t.copy, "target": str(t.target)}
                              for t in tasks])
    out = ds.map_batches(_RayTasks, fn_constructor_kwargs={"pipeline_path": pipeline_path, "seed": seed},
                         batch_format="numpy", batch_size=8, compute=ray.data.ActorPoolStrategy(size=concurrency))
    for row in out.iter_rows():
        yield row["status"], row["message"]


def cmd_apply(pipeline_path: str, src: str, dst: str, copies: int = 1, workers: int = 1, seed: int | None = None,
              engine: str = "local", address: str | None = None, concurrency: int | None = None) -> int:
    from tqdm import tqdm

    if copies < 1:
        raise InputError(f"--copies must be >= 1, got {copies}")
    if workers < 1:
        raise InputError(f"--workers must be >= 1, got {workers}")
    src_p, dst_p = Path(src), Path(dst)
    if engine not in ("local", "ray"):
        raise InputError(f"--engine must be local or ray, got {engine!r}")
    _init(pipeline_path, seed)  # validates the pipeline before any work
    if concurrency is None:
        concurrency = max(1, (os.cpu_count() or 2) - 1)  # leave a CPU for Ray's read tasks
    if src_p.is_file() and src_p.suffix.lower() in (".csv", ".parquet"):
        from .apply_table import cmd_apply_table

        if engine == "ray":
            start_ray(address)
        assert _PIPELINE is not None
        return cmd_apply_table(_PIPELINE, src_p, dst_p, copies, engine, concurrency)
    if not src_p.is_dir():
        raise InputError(f"{src}: SRC must be a folder, or a .csv / .parquet table")
    assert _PIPELINE is not None
    kinds = pipeline_kinds(_PIPELINE)
    tasks, ignored = plan(src_p, dst_p, copies, kinds)
    stale = _clean_stale(tasks)
    todo = [t for t in tasks if not t.target.exists()]
    skipped = len(tasks) - len(todo)
    failures: list[str] = []
    written = 0
    bar = tqdm(total=len(todo), unit="file", desc="augnoise apply", file=sys.stderr, disable=not todo)
    if engine == "ray" and todo:
        start_ray(address)
        results: Any = _run_ray(todo, pipeline_path, seed, concurrency)
        pool = None
    elif workers == 1 or len(todo) < 2:
        results = map(run_task, todo)
        pool = None
    else:
        import multiprocessing as mp

        pool = mp.get_context("fork" if sys.platform != "win32" else "spawn").Pool(
            workers, initializer=_init, initargs=(pipeline_path, seed))
        results = pool.imap_unordered(run_task, todo, chunksize=4)
    try:
        for status, msg in results:
            if status == "written":
                written += 1
            else:
                failures.append(msg)
            bar.update(1)
    finally:
        bar.close()
        if pool is not None:
            pool.close()
            pool.join()
    n_files = len({t.source for t in tasks})
    failed_files = sorted(set(failures))
    extra = (f", {stale} stale temp file(s) removed" if stale else "") + \
        (f", {ignored} file(s) of other kinds ignored (pipeline handles {', '.join(sorted(kinds))})" if ignored else "")
    print(f"{n_files} input file(s) x {copies} cop{'y' if copies == 1 else 'ies'}: {written} written, "
          f"{skipped} already done (skipped), {len(failures)} failed" + extra)
    for f in failed_files:
        print(f"failed: {f}", file=sys.stderr)
    return 1 if failures else 0
