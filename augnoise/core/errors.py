"""Error types. Every error augnoise raises on bad input is a one-line, located message."""
from __future__ import annotations

from dataclasses import dataclass


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
        loc = f"{self.source}:{self.line}" if self.line is not None else self.source
        parts = [loc]
        if self.where:
            parts.append(self.where)
        if self.field:
            parts.append(self.field)
        parts.append(self.message)
        return ": ".join(parts)


class ConfigError(AugnoiseError):
    """A pipeline configuration is invalid. ``problems`` lists every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class ParamError(AugnoiseError):
    """Invalid parameters for one transform (raised from Python construction)."""

    def __init__(self, name: str, issues: list[tuple[str, str]]):
        self.name = name
        self.issues = list(issues)  # (field, message)
        super().__init__(
            "; ".join(f"{name}: {f}: {m}" if f else f"{name}: {m}" for f, m in self.issues)
        )


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
