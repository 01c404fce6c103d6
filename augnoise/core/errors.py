"""Error types. Every error augnoise raises on bad input is a one-line, located message."""
from __future__ import annotations

from dataclasses import dataclass

#: longest message part printed (characters); longer text is cut with "..." (a hostile file
#: cannot make one message, or the CLI's output, grow without bound)
MAX_MESSAGE = 300
#: most problems listed for one file; the rest are summarised as "... and N more problems"
MAX_PROBLEMS = 100

_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape(text: object, limit: int = MAX_MESSAGE) -> str:
    """``text`` on one line, printable and bounded: control characters, ANSI escapes and
    newlines become visible escapes (``\\n``, ``\\x1b``), non-printable code points
    ``\\uXXXX``, and text beyond ``limit`` characters is cut with ``...``. Everything a file,
    a file name or a parameter controls goes through this before it reaches a message."""
    s = str(text)
    if len(s) > 4 * limit:  # never escape megabytes to then cut them
        s = s[: 4 * limit]
    out = []
    for ch in s:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch.isprintable() or ch == " ":
            out.append(ch)
        else:
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
    res = "".join(out)
    return res if len(res) <= limit else res[: limit - 3] + "..."


class AugnoiseError(ValueError):
    """Base class of augnoise's own errors (a ValueError, so callers can catch either)."""


class InputError(AugnoiseError):
    """A sample handed to a transform is unusable (wrong dtype, NaN, empty, bad shape...)."""


@dataclass(frozen=True)
class Problem:
    """One located problem in a configuration."""

    message: str
    source: str = "<config>"
    line: int | None = None
    where: str = ""  # e.g. "step 3 (image.GaussianNoise)"
    field: str = ""  # e.g. "std"

    def __str__(self) -> str:
        src = escape(self.source, 200)
        loc = f"{src}:{self.line}" if self.line is not None else src
        parts = [loc]
        if self.where:
            parts.append(escape(self.where, 120))
        if self.field:
            parts.append(escape(self.field, 80))
        parts.append(escape(self.message))
        return ": ".join(parts)


class ConfigError(AugnoiseError):
    """A pipeline configuration is invalid. ``problems`` lists every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        shown = [str(p) for p in self.problems[:MAX_PROBLEMS]]
        if len(self.problems) > MAX_PROBLEMS:
            more = len(self.problems) - MAX_PROBLEMS
            shown.append(f"{escape(self.problems[0].source, 200)}: ... and {more} more problem{'s' if more > 1 else ''}")
        super().__init__("\n".join(shown))


class ParamError(AugnoiseError):
    """Invalid parameters for one transform (raised from Python construction)."""

    def __init__(self, name: str, issues: list[tuple[str, str]]):
        self.name = name
        self.issues = list(issues)  # (field, message)
        shown = [f"{escape(name, 120)}: {escape(f, 80)}: {escape(m)}" if f else f"{escape(name, 120)}: {escape(m)}"
                 for f, m in self.issues[:MAX_PROBLEMS]]
        if len(self.issues) > MAX_PROBLEMS:
            shown.append(f"... and {len(self.issues) - MAX_PROBLEMS} more")
        super().__init__("; ".join(shown))


class StepFailed(InputError):
    """An :class:`InputError` located at a pipeline step (``step 2.1 (image.ShotNoise): ...``)."""


def locate(err: InputError, position: int, name: str, batch: bool = False) -> InputError:
    """Prefix an input error with the step it happened in; nested positions join with dots."""
    path = [position, *getattr(err, "path", [])]
    inner = getattr(err, "step_name", None) or name
    msg = getattr(err, "bare", str(err))
    label = "batch step" if batch else "step"
    new = StepFailed(f"{label} {'.'.join(map(str, path))} ({inner}): {msg}")
    new.path, new.step_name, new.bare = path, inner, msg  # type: ignore[attr-defined]
    return new


class KeyReuseWarning(UserWarning):
    """The same sample keys were used again for different data: the noise repeats."""
