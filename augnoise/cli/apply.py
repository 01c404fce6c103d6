"""``augnoise apply``: augment a folder tree of images, audio files and CSVs into another.

Every input file gets a key index from a hash of its path relative to SRC (stable when files
are added or removed elsewhere); copy ``k`` is epoch ``k``. Outputs are ``<stem>_<k><suffix>``
in the same relative folder under DST, written atomically (temp file, then rename), so a rerun
skips finished outputs and resumes an interrupted run. A file that cannot be read or augmented
is reported with its (escaped) path, the rest carry on, and the exit status is 1 with the count
of failures. SRC may also be one table (.csv, or .parquet with pyarrow): then every row is
augmented alone, keyed by its row number (see :mod:`augnoise.cli.apply_table`). ``--engine ray``
runs the same work on Ray (a local instance sized to the machine, or ``--address``) with the
same outputs.

Hostile trees and concurrent runs:

* **SRC is never written.** DST may not resolve (symlinks followed) to SRC or into it: the
  run is refused up front. Every output path, with the folders that exist on disk resolved, is
  checked again before it is written (once when planned, once just before the write): one that
  resolves into SRC (a symlinked folder in DST pointing into SRC, an output that is a symlink)
  is refused for that file, reported, and the exit status is 1; the other files carry on.
* **The walk never leaves SRC.** Symlinked folders are not followed; symlinked files are read
  (never written). Dot-files and dot-folders, symlinked folders, broken or looping symlinks,
  FIFOs/sockets/devices, files with an unsupported suffix and entries that cannot be read are
  skipped and counted by kind in the summary line; unreadable entries are also listed and make
  the exit status 1 (nothing is lost silently).
* **Any file name works.** Names that are not UTF-8 (kept as surrogate escapes) or hold
  newlines and control characters are processed like any other; every message prints them
  through :func:`augnoise.core.errors.escape`, one line per failure.
* **One run per DST.** The run holds an exclusive ``flock`` on ``DST/.augnoise-apply.lock``
  (released by the OS when the run and its workers die, so a killed run leaves no stale lock;
  removed at the end of a run). A second run on the same DST exits at once with status 1 and
  one line. Worker processes inherit the lock, so it stays held until the last one is gone;
  hence, with the lock held, every leftover temp file in DST is stale and is removed.
* **Workers end with the parent.** Each local worker asks the kernel to SIGKILL it when the
  parent dies (Linux ``PR_SET_PDEATHSIG``); elsewhere a thread polls the parent pid.
"""
from __future__ import annotations

import errno
import hashlib
import os
import signal
import stat
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.config import load
from ..core.errors import AugnoiseError, InputError, escape
from ..core.pipeline import Pipeline

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no DST lock
    fcntl = None  # type: ignore[assignment]

#: the lock file every run holds in DST (an exclusive ``flock``)
LOCK_NAME = ".augnoise-apply.lock"
#: longest path (characters) printed in one message; longer paths are cut with "..."
MAX_PATH_SHOWN = 1000
#: kinds of skipped entries, in the order the summary line lists them
SKIP_KINDS = {
    "dot": "dot-file(s)",
    "symlinked_folder": "symlinked folder(s)",
    "bad_link": "broken or looping symlink(s)",
    "special": "FIFO/socket/device file(s)",
    "suffix": "file(s) with an unsupported suffix",
    "unreadable": "unreadable entry(ies)",
}


@dataclass(frozen=True)
class Task:
    """One (input file, copy) to augment into ``target``."""

    source: Path
    rel: Path
    copy: int
    target: Path


@dataclass
class Scan:
    """What a walk of SRC found: the files to consider, and the entries skipped by kind."""

    files: list[Path]
    skipped: Counter
    unreadable: list[Path]


def shown(path: object) -> str:
    """A path as printed in messages: one printable line, at most ``MAX_PATH_SHOWN`` characters."""
    return escape(os.fspath(path) if isinstance(path, os.PathLike) else path, MAX_PATH_SHOWN)


def file_index(rel: Path) -> int:
    """Stable key index of an input file: 63 bits of SHA-256 of its relative POSIX path (the
    bytes the file system stores, so names that are not UTF-8 get an index too)."""
    return int.from_bytes(hashlib.sha256(os.fsencode(rel.as_posix())).digest()[:8], "big") >> 1


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


def real(path: str | os.PathLike[str]) -> str:
    """``path`` absolute, with every symlink of the part that exists on disk resolved (never
    raises: a loop or an unreadable folder stops the resolution there)."""
    try:
        return os.path.realpath(path)
    except (OSError, ValueError):
        return os.path.abspath(path)


def inside(path_real: str, root_real: str) -> bool:
    """Whether the resolved ``path_real`` is ``root_real`` or lies under it."""
    if path_real == root_real:
        return True
    prefix = root_real if root_real.endswith(os.sep) else root_real + os.sep
    return path_real.startswith(prefix)


def scan(src: Path) -> Scan:
    """Walk SRC without following symlinked folders; sort every entry into a file to consider
    (a regular file, or a symlink to one, with an image/audio/CSV suffix) or a skipped kind."""
    files: list[Path] = []
    skipped: Counter = Counter()
    unreadable: list[Path] = []
    seen: set[tuple[int, int]] = set()
    stack = [src]
    while stack:
        folder = stack.pop()
        try:
            st = os.stat(folder)
            if (st.st_dev, st.st_ino) in seen:  # a bind mount looping back
                skipped["bad_link"] += 1
                continue
            seen.add((st.st_dev, st.st_ino))
            with os.scandir(folder) as it:
                entries = list(it)
        except OSError:
            if folder == src:
                raise InputError(f"{shown(src)}: SRC cannot be read") from None
            skipped["unreadable"] += 1
            unreadable.append(folder)
            continue
        for entry in entries:
            path = Path(entry.path)
            if entry.name.startswith("."):
                skipped["dot"] += 1
                continue
            try:
                link = entry.is_symlink()
            except OSError:
                skipped["unreadable"] += 1
                unreadable.append(path)
                continue
            try:
                mode = os.stat(entry.path).st_mode  # follows a symlink to its target
            except OSError as err:
                if link and err.errno in (errno.ELOOP, errno.ENOENT, errno.ENOTDIR):
                    skipped["bad_link"] += 1
                else:
                    skipped["unreadable"] += 1
                    unreadable.append(path)
                continue
            except ValueError:  # an over-long name
                skipped["unreadable"] += 1
                unreadable.append(path)
                continue
            if stat.S_ISDIR(mode):
                if link:
                    skipped["symlinked_folder"] += 1
                else:
                    stack.append(path)
            elif not stat.S_ISREG(mode):
                skipped["special"] += 1
            elif _kind(path) is None:
                skipped["suffix"] += 1
            else:
                files.append(path)
    return Scan(sorted(files), skipped, sorted(unreadable))


def check_dst(src: Path, dst: Path) -> None:
    """Refuse the whole run when DST resolves (symlinks followed) to SRC or into it."""
    if inside(real(dst), real(src)):
        raise InputError(f"{shown(dst)}: DST may not be SRC or inside it, symlinks followed (SRC is never written)")


def refusal(target: Path, src_real: str, where: str | None = None) -> str | None:
    """Why ``target`` must not be written (it resolves, symlinks followed, into SRC), or None.
    ``where``: ``target`` already resolved."""
    where = real(target) if where is None else where
    if inside(where, src_real):
        return f"{shown(target)}: output path resolves into SRC ({shown(where)}); refused (SRC is never written)"
    return None


def plan(src: Path, dst: Path, copies: int, kinds: set[str] | None = None,
         found: Scan | None = None) -> tuple[list[Task], int]:
    """The (file, copy) tasks, and the number of files of other kinds that are ignored."""
    check_dst(src, dst)
    found = scan(src) if found is None else found
    files = [p for p in found.files if kinds is None or _kind(p) in kinds]
    tasks = []
    for p in files:
        rel = p.relative_to(src)
        for k in range(copies):
            tasks.append(Task(p, rel, k, dst / rel.parent / f"{p.stem}_{k}{p.suffix}"))
    return tasks, len(found.files) - len(files)


class DstLock:
    """Context manager: an exclusive ``flock`` on ``DST/.augnoise-apply.lock`` for the run.

    A second run on the same DST gets an :class:`InputError` at once. The OS releases the lock
    when every process holding it has died (forked workers inherit it), so a killed run leaves
    no stale lock. The lock file is never written (it could be a hard link to anything) and is
    removed when the run ends normally."""

    def __init__(self, dst: Path):
        self.dst = dst
        self.path = os.path.join(os.fspath(dst), LOCK_NAME)
        self.fd: int | None = None

    def __enter__(self) -> DstLock:
        if fcntl is None:  # pragma: no cover - no flock on this platform
            return self
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | \
            getattr(os, "O_CLOEXEC", 0)
        for _ in range(20):
            try:
                fd = os.open(self.path, flags, 0o644)
            except OSError as err:
                why = "it is a symlink" if err.errno == errno.ELOOP else err.strerror
                raise InputError(f"{shown(self.path)}: cannot open the DST lock file ({escape(why)})") from None
            try:
                st = os.fstat(fd)
                if not stat.S_ISREG(st.st_mode):
                    raise InputError(f"{shown(self.path)}: the DST lock file is not a regular file; remove it")
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError as err:
                    if err.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                        raise InputError(
                            f"{shown(self.dst)}: another augnoise apply run is writing into this DST (it holds "
                            f"{LOCK_NAME}); wait for it to end, or choose another DST") from None
                    raise InputError(f"{shown(self.path)}: cannot lock DST ({escape(err.strerror)})") from None
                try:
                    now = os.stat(self.path, follow_symlinks=False)
                except OSError:
                    now = None
                if now is None or (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino):
                    os.close(fd)  # the previous holder removed the file as we opened it: again
                    continue
            except BaseException:
                os.close(fd)
                raise
            self.fd = fd
            return self
        raise InputError(f"{shown(self.path)}: cannot lock DST (the lock file keeps changing)")

    def __exit__(self, *exc: object) -> None:
        if self.fd is None:
            return
        try:
            st = os.fstat(self.fd)
            now = os.stat(self.path, follow_symlinks=False)
            if (now.st_dev, now.st_ino) == (st.st_dev, st.st_ino):
                os.unlink(self.path)  # still holding the lock: nobody else can be using it
        except OSError:
            pass
        finally:
            os.close(self.fd)
            self.fd = None


def _temp_target(name: str) -> str | None:
    """The output name a temp file of :func:`augnoise.core.files.atomic_write` belongs to
    (``.{name}.XXXXXXXX.tmp``), or None for any other name."""
    if not (name.startswith(".") and name.endswith(".tmp")):
        return None
    stem = name[1:-4]
    return stem.rsplit(".", 1)[0] if "." in stem else None


def clean_stale(targets: list[Path], src_real: str) -> int:
    """Remove leftover temp files of ``targets`` (call with the DST lock held: then no other
    run is alive, so every such file is stale). Never looks into a folder resolving into SRC."""
    by_folder: dict[Path, set[str]] = {}
    for t in targets:
        by_folder.setdefault(t.parent, set()).add(t.name)
    removed = 0
    for folder, names in by_folder.items():
        if inside(real(folder), src_real):
            continue
        try:
            with os.scandir(folder) as it:
                entries = list(it)
        except OSError:
            continue
        for entry in entries:
            if _temp_target(entry.name) in names:
                try:
                    if entry.is_dir(follow_symlinks=False):
                        continue
                    os.unlink(entry.path)  # a symlink is removed, never followed
                    removed += 1
                except OSError:
                    pass
    return removed


_PIPELINE: Pipeline | None = None
#: SRC, resolved: every write checks its target against it (set before workers fork)
_SRC_REAL: str | None = None


def _init(pipeline_path: str, seed: int | None) -> None:
    global _PIPELINE
    p = load(pipeline_path)
    _PIPELINE = p.with_seed(seed) if seed is not None else p


def _die_with_parent(parent: int) -> None:
    """Make this worker end when ``parent`` dies: ``PR_SET_PDEATHSIG`` (SIGKILL) on Linux,
    else a daemon thread polling the parent pid."""
    armed = False
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            armed = libc.prctl(1, int(signal.SIGKILL), 0, 0, 0) == 0  # 1 = PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            armed = False
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)
    if not armed:
        import threading
        import time

        def watch() -> None:
            while os.getppid() == parent:
                time.sleep(0.2)
            os._exit(1)

        threading.Thread(target=watch, name="augnoise-parent-watch", daemon=True).start()


def _worker_init(parent: int, pipeline_path: str, seed: int | None, allows: tuple[str, ...], src_real: str) -> None:
    """Pool initializer: end with the parent, leave Ctrl-C to the parent, and use the parent's
    built pipeline (fork). A spawned worker loads it again with the parent's ``--allow-path``."""
    global _SRC_REAL
    _die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _SRC_REAL = src_real
    if _PIPELINE is None:  # spawn: nothing inherited
        from ..core.files import allowing

        with allowing(allows):
            _init(pipeline_path, seed)


def _failure(source: Path, err: BaseException) -> str:
    """One printable line for a failed file: its path, then the reason (both escaped)."""
    msg = str(err) if isinstance(err, AugnoiseError) else f"{type(err).__name__}: {err}"
    for prefix in (os.fspath(source), escape(os.fspath(source))):
        if msg.startswith(prefix + ": "):
            msg = msg[len(prefix) + 2:]
            break
    return f"{shown(source)}: {escape(msg)}"


def run_task(task: Task) -> tuple[str, str]:
    """Augment one (file, copy); returns (status, message) with status written/failed.
    Never raises for one bad file; the message is one printable line."""
    from ..audio.io import read_audio, write_audio
    from ..image.io import read_image, write_image
    from ..tabular.io import fit_if_unfitted, read_csv, write_csv

    pipe = _PIPELINE
    assert pipe is not None
    try:
        index, epoch = file_index(task.rel), task.copy
        kind = _kind(task.source)
        if kind == "image":
            image = pipe({"image": read_image(task.source)}, index=index, epoch=epoch)["image"]
            save: Any = lambda: write_image(task.target, image)
        elif kind == "audio":
            audio, info = read_audio(task.source)
            audio = pipe({"audio": audio, "sample_rate": info.sample_rate}, index=index, epoch=epoch)["audio"]
            save = lambda: write_audio(task.target, audio, info)
        else:
            table = read_csv(task.source)
            fitted_here = fit_if_unfitted(pipe, table)  # no training statistics: this table's own
            try:
                features = pipe({"features": table.x}, index=index, epoch=epoch)["features"]
            finally:
                if fitted_here:
                    pipe.section("tabular").fitted = None  # the next file fits on itself again
            save = lambda: write_csv(task.target, table, features)
        if _SRC_REAL is not None:  # checked again just before the write (the tree may have changed)
            why = refusal(task.target, _SRC_REAL)
            if why is not None:
                return "failed", why
        save()
    except Exception as err:  # a corrupt file may fail deep inside a decoder
        return "failed", _failure(task.source, err)
    return "written", shown(task.target)


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
    """Ray callable class: one pipeline per actor, one (file, copy) task per row. Paths travel
    as file-system bytes (any name survives Arrow); the pipeline is loaded again from its YAML
    with the driver's ``--allow-path`` folders."""

    def __init__(self, pipeline_path: str, seed: int | None, allows: tuple[str, ...] = (),
                 src_real: str | None = None) -> None:
        global _SRC_REAL
        from ..core.files import allowing

        with allowing(allows):
            _init(pipeline_path, seed)
        _SRC_REAL = src_real

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        import numpy as np

        def path(b: Any) -> Path:
            return Path(os.fsdecode(bytes(b)))

        res = [run_task(Task(path(s), path(r), int(c), path(t)))
               for s, r, c, t in zip(batch["source"], batch["rel"], batch["copy"], batch["target"])]
        return {"status": np.array([a for a, _ in res]), "message": np.array([b for _, b in res])}


def _run_ray(tasks: list[Task], pipeline_path: str, seed: int | None, concurrency: int,
             src_real: str) -> Iterator[tuple[str, str]]:
    import ray

    from ..core.files import _CALLER_ALLOWS

    ds = ray.data.from_items([{"source": os.fsencode(t.source), "rel": os.fsencode(t.rel.as_posix()), "copy": t.copy,
                               "target": os.fsencode(t.target)} for t in tasks])
    kwargs = {"pipeline_path": pipeline_path, "seed": seed, "allows": tuple(_CALLER_ALLOWS.get()), "src_real": src_real}
    out = ds.map_batches(_RayTasks, fn_constructor_kwargs=kwargs, batch_format="numpy", batch_size=8,
                         compute=ray.data.ActorPoolStrategy(size=concurrency))
    for row in out.iter_rows():
        yield str(row["status"]), str(row["message"])


def _summary(n_files: int, copies: int, written: int, done: int, failed: int, stale: int, ignored: int,
             kinds: set[str], skipped: Counter) -> str:
    extra = (f", {stale} stale temp file(s) removed" if stale else "") + \
        (f", {ignored} file(s) of other kinds ignored (pipeline handles {', '.join(sorted(kinds))})" if ignored else "")
    kinds_skipped = [f"{skipped[k]} {label}" for k, label in SKIP_KINDS.items() if skipped[k]]
    if kinds_skipped:
        extra += "; entries skipped: " + ", ".join(kinds_skipped)
    return (f"{n_files} input file(s) x {copies} cop{'y' if copies == 1 else 'ies'}: {written} written, "
            f"{done} already done (skipped), {failed} failed" + extra)


def cmd_apply(pipeline_path: str, src: str, dst: str, copies: int = 1, workers: int = 1, seed: int | None = None,
              engine: str = "local", address: str | None = None, concurrency: int | None = None) -> int:
    """Run ``augnoise apply`` (see the module doc); returns the exit status (0, or 1 when any
    file failed, was refused or could not be read)."""
    global _SRC_REAL
    from tqdm import tqdm

    if copies < 1:
        raise InputError(f"--copies must be >= 1, got {copies}")
    if workers < 1:
        raise InputError(f"--workers must be >= 1, got {workers}")
    src_p, dst_p = Path(src), Path(dst)
    if engine not in ("local", "ray"):
        raise InputError(f"--engine must be local or ray, got {escape(repr(engine))}")
    _init(pipeline_path, seed)  # validates the pipeline before any work
    if engine == "ray":  # before any output or progress bar
        from ..core.extras import import_extra

        import_extra("ray", "--engine ray")
    if not src_p.exists() and not src_p.is_symlink():
        raise InputError(f"{shown(src)}: SRC does not exist")
    if concurrency is None:
        concurrency = max(1, (os.cpu_count() or 2) - 1)  # leave a CPU for Ray's read tasks
    if src_p.is_file() and src_p.suffix.lower() in (".csv", ".parquet"):
        from .apply_table import cmd_apply_table

        if engine == "ray":
            start_ray(address)
        assert _PIPELINE is not None
        return cmd_apply_table(_PIPELINE, src_p, dst_p, copies, engine, concurrency)
    if not src_p.is_dir():
        raise InputError(f"{shown(src)}: SRC must be a folder, or a .csv / .parquet table")
    assert _PIPELINE is not None
    check_dst(src_p, dst_p)  # before DST is created: nothing is made inside SRC
    src_real = _SRC_REAL = real(src_p)
    try:
        dst_p.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError(f"{shown(dst)}: cannot create DST ({escape(err.strerror)})") from None
    check_dst(src_p, dst_p)  # again, now that it exists
    kinds = pipeline_kinds(_PIPELINE)
    with DstLock(dst_p):
        found = scan(src_p)
        tasks, ignored = plan(src_p, dst_p, copies, kinds, found)
        stale = clean_stale([t.target for t in tasks], src_real)
        failures: list[str] = []
        todo: list[Task] = []
        done = 0
        resolved: dict[Path, str] = {}  # each output folder resolved once
        for t in tasks:
            folder = t.target.parent
            if folder not in resolved:
                resolved[folder] = real(folder)
            where = real(t.target) if os.path.islink(t.target) else os.path.join(resolved[folder], t.target.name)
            why = refusal(t.target, src_real, where)
            if why is not None:
                failures.append(why)
            elif os.path.exists(t.target):
                done += 1
            else:
                todo.append(t)
        written = _run(todo, pipeline_path, seed, workers, engine, address, concurrency, src_real, failures, tqdm)
    n_files = len({t.source for t in tasks})
    print(_summary(n_files, copies, written, done, len(failures), stale, ignored, kinds, found.skipped))
    for f in sorted(set(failures)):
        print(f"failed: {f}", file=sys.stderr)
    for p in found.unreadable:
        print(f"unreadable (skipped): {shown(p)}", file=sys.stderr)
    return 1 if failures or found.unreadable else 0


def _run(todo: list[Task], pipeline_path: str, seed: int | None, workers: int, engine: str, address: str | None,
         concurrency: int, src_real: str, failures: list[str], tqdm: Any) -> int:
    """Run the tasks; failure messages go to ``failures``; returns the number written."""
    from ..core.files import _CALLER_ALLOWS

    written = 0
    bar = tqdm(total=len(todo), unit="file", desc="augnoise apply", file=sys.stderr, disable=not todo)
    pool = None
    if engine == "ray" and todo:
        start_ray(address)
        results: Any = _run_ray(todo, pipeline_path, seed, concurrency, src_real)
    elif workers == 1 or len(todo) < 2:
        results = map(run_task, todo)
    else:
        import multiprocessing as mp

        pool = mp.get_context("fork" if sys.platform != "win32" else "spawn").Pool(
            workers, initializer=_worker_init,
            initargs=(os.getpid(), pipeline_path, seed, tuple(_CALLER_ALLOWS.get()), src_real))
        results = pool.imap_unordered(run_task, todo, chunksize=4)
    finished = False
    try:
        for status, msg in results:
            if status == "written":
                written += 1
            else:
                failures.append(msg)
            bar.update(1)
        finished = True
    finally:
        bar.close()
        if pool is not None:
            if finished:
                pool.close()
            else:  # interrupted: stop the workers now (a killed write leaves only a temp file)
                pool.terminate()
            pool.join()
    return written
