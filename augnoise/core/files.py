"""File helpers shared by every writer: atomic writes (temp file in the target folder, then
rename), so a reader never sees a partial file and a failed write leaves nothing behind."""
from __future__ import annotations

import contextvars
import errno
import os
import stat
import tempfile
import threading
from pathlib import Path
from typing import Iterable


_UMASK_LOCK = threading.Lock()


def current_umask() -> int:
    """The process's umask, read without changing it where the system says it (Linux's
    /proc/self/status), else by setting and restoring it under a lock."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def atomic_write(path: str | os.PathLike[str], data: bytes | str) -> Path:
    """Write ``data`` to ``path`` atomically, creating the parent folder if needed. The file gets
    the mode a plain ``open(path, "w")`` would give (0o666 less the umask: 0o644 under umask
    022), set on the temporary file before anything is written to it."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, 0o666 & ~current_umask())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return target


#: Folder that relative paths in a pipeline resolve against: the YAML file's folder while
#: :func:`augnoise.load` builds it, else the current directory.
_BASE_DIR: contextvars.ContextVar[Path | None] = contextvars.ContextVar("augnoise_base_dir", default=None)
#: Folders that files named by a pipeline may lie in, while a pipeline is loaded from YAML
#: (None: no confinement, for pipelines built in Python by their own author).
_ALLOWED: contextvars.ContextVar[tuple[Path, ...] | None] = contextvars.ContextVar("augnoise_allowed", default=None)

#: Folders the caller allows for every pipeline loaded inside :func:`allowing` (the CLI's
#: ``--allow-path``), on top of each load's own ``allow_paths``.
_CALLER_ALLOWS: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar("augnoise_caller_allows", default=())

UNREADABLE = "missing or unreadable (or not a regular file)"


class PathRefused(ValueError):
    """A path named by a pipeline lies outside the folders it may read."""


def _real(p: Path) -> Path:
    try:
        return p.resolve()
    except (OSError, RuntimeError):  # symlink loops
        return Path(os.path.abspath(p))


def resolve_path(path: str | os.PathLike[str]) -> Path:
    """Resolve a path written in a pipeline: relative to the pipeline file's folder while one is
    loaded (else the current directory), ``~`` expanded. While a YAML pipeline is being loaded
    the result, symlinks resolved, must lie inside that folder or a folder the caller allowed
    (``load(..., allow_paths=[...])``, ``--allow-path``); otherwise :class:`PathRefused` is
    raised, before the file is touched, with the same message whether or not it exists."""
    text = os.fspath(path)
    if "\x00" in text:
        raise PathRefused("a path must not contain NUL characters")
    p = Path(text).expanduser()
    if not p.is_absolute():
        base = _BASE_DIR.get()
        p = (base / p) if base is not None else p
    allowed = _ALLOWED.get()
    if allowed is not None:
        real = _real(p)
        if not any(real == root or root in real.parents for root in allowed):
            raise PathRefused(
                f"{text!r} lies outside the pipeline's folder; files named by a pipeline must stay inside it "
                f"unless the caller allows more (load(..., allow_paths=[...]) or --allow-path)")
    return p


def open_regular(path: str | os.PathLike[str]) -> int:
    """A read-only file descriptor of the regular file ``path`` (the caller closes it). FIFOs,
    sockets and devices are never opened: the path is stat'ed first, opened non-blocking, and
    fstat'ed again (a file swapped in between is caught). Raises :class:`OSError` otherwise
    (``strerror`` says why)."""
    try:
        p = os.fspath(path)
        if not stat.S_ISREG(os.stat(p).st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except ValueError as err:  # NUL in the path, an over-long name...
        raise OSError(errno.EINVAL, str(err)) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_regular(path: str | os.PathLike[str], max_bytes: int, what: str = "file", *, detail: bool = False) -> bytes:
    """The bytes of a regular file (:func:`open_regular`) of at most ``max_bytes`` bytes. FIFOs,
    devices, folders, missing and unreadable files all give one message (:data:`UNREADABLE`), so
    an error never tells which other files exist; a file growing past the limit while read is
    refused too (``/dev/zero`` and friends never hang or fill memory). ``detail=True`` says why
    instead (for a file the caller named itself, e.g. the pipeline file)."""
    try:
        fd = open_regular(path)
    except OSError as err:
        why = f"cannot read: {err.strerror or err}" if detail else UNREADABLE
        raise ValueError(f"{what} {os.fspath(path)!r}: {why}") from None
    try:
        size = os.fstat(fd).st_size
        if size > max_bytes:
            raise ValueError(f"{what} {os.fspath(path)!r}: file is {size} bytes; the limit is {max_bytes}")
        chunks, total = [], 0
        while True:
            try:
                chunk = os.read(fd, min(1 << 20, max_bytes + 1 - total))
            except OSError:
                raise ValueError(f"{what} {os.fspath(path)!r}: {UNREADABLE}") from None
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > max_bytes:
                raise ValueError(f"{what} {os.fspath(path)!r}: file grew past the limit of {max_bytes} bytes while read")
        return b"".join(chunks)
    finally:
        os.close(fd)


class relative_to:
    """Context manager: resolve relative pipeline paths against ``folder`` inside the block.
    With ``confine=True`` (what :func:`augnoise.load` does) paths must also stay inside
    ``folder`` or one of ``allow`` (see :func:`resolve_path`)."""

    def __init__(self, folder: str | os.PathLike[str] | None, *, confine: bool = False,
                 allow: Iterable[str | os.PathLike[str]] = ()):
        self.folder = Path(folder) if folder is not None else None
        roots = None
        if confine:
            base = self.folder if self.folder is not None else Path.cwd()
            extra = (*allow, *_CALLER_ALLOWS.get())
            roots = tuple(_real(Path(os.fspath(a)).expanduser()) for a in (base, *extra))
        self.roots = roots

    def __enter__(self) -> None:
        self._token = _BASE_DIR.set(self.folder)
        self._token2 = _ALLOWED.set(self.roots)

    def __exit__(self, *exc: object) -> None:
        _ALLOWED.reset(self._token2)
        _BASE_DIR.reset(self._token)


class allowing:
    """Context manager: every pipeline loaded inside the block may also read files under
    ``paths`` (what the CLI's ``--allow-path`` does)."""

    def __init__(self, paths: Iterable[str | os.PathLike[str]]):
        self.paths = tuple(os.fspath(x) for x in paths)

    def __enter__(self) -> None:
        self._token = _CALLER_ALLOWS.set((*_CALLER_ALLOWS.get(), *self.paths))

    def __exit__(self, *exc: object) -> None:
        _CALLER_ALLOWS.reset(self._token)
