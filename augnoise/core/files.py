"""File helpers shared by every writer: atomic writes (temp file in the target folder, then
rename), so a reader never sees a partial file and a failed write leaves nothing behind."""
from __future__ import annotations

import contextvars
import os
import tempfile
from pathlib import Path


def atomic_write(path: str | os.PathLike[str], data: bytes | str) -> Path:
    """Write ``data`` to ``path`` atomically, creating the parent folder if needed."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
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


def resolve_path(path: str | os.PathLike[str]) -> Path:
    """Resolve a path written in a pipeline (relative to the pipeline file when loading one)."""
    p = Path(path).expanduser()
    if p.is_absolute():
        return p
    base = _BASE_DIR.get()
    return (base / p) if base is not None else p


class relative_to:
    """Context manager: resolve relative pipeline paths against ``folder`` inside the block."""

    def __init__(self, folder: str | os.PathLike[str] | None):
        self.folder = Path(folder) if folder is not None else None

    def __enter__(self) -> None:
        self._token = _BASE_DIR.set(self.folder)

    def __exit__(self, *exc: object) -> None:
        _BASE_DIR.reset(self._token)
