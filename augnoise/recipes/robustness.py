"""Robustness: a model's accuracy as the noise level of a pipeline rises (one-parameter sweep), and
a corruption-robustness report (accuracy per corruption x severity, mCE and relative mCE)."""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ..core.errors import InputError, escape
from ..core.files import atomic_write
from ..core.pipeline import Pipeline
from .data import Data, load_data

#: parameter swept by default, per step name prefix (the first step's main level)
LEVEL_PARAMS = ("std", "snr_db", "scale", "amount", "photons", "p_swap", "p_mask", "eps")


def _with_level(pipeline: Pipeline, param: str, level: float) -> Pipeline:
    step = pipeline.sample[0]
    cfg = dict(step.to_config()[step.name])
    cfg[param] = level
    cls = type(step)
    return Pipeline(sample=[cls(**cfg), *pipeline.sample[1:]], seed=pipeline.seed, sections=pipeline.sections)


def model_failed(err: BaseException, shape: tuple[int, ...]) -> InputError:
    """One line for a model that cannot take the data: the line of its error that says why (a
    TorchScript error's last line; the first line of any other), with the input shape."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    why = (lines[-1] if "TorchScript" in str(err) else lines[0]) if lines else type(err).__name__
    return InputError(f"the model failed on inputs of shape {shape}: {escape(why, 300)} "
                      f"(give input_shape= / --input-shape)")


def robustness_curve(model: Any, data: str | Data, pipeline: Pipeline, levels: Sequence[float], *, param: str | None = None,
                     out_dir: str | None = None, label_column: str | None = None, input_shape: Sequence[int] | None = None,
                     test_fraction: float = 1.0, progress: bool = True) -> dict[str, Any]:
    """Accuracy of ``model`` on ``data`` with the first step's ``param`` set to each level (the
    pipeline's other steps as they are). Images go to the model as (N, 1, H, W) float32 in
    [0, 1] unless ``input_shape`` says otherwise. Writes ``robustness.csv`` and
    ``robustness.png`` into ``out_dir``. A progress bar (samples over all levels) runs on
    stderr unless ``progress=False``."""
    import torch

    d = data if isinstance(data, Data) else load_data(data, label_column)
    if d.y is None:
        raise InputError(f"{d.name}: the robustness curve needs labels")
    if not pipeline.sample:
        raise InputError("the pipeline has no sample steps to sweep")
    first = pipeline.sample[0]
    if param is None:
        names = getattr(getattr(first, "Params", None), "model_fields", {})
        param = next((p for p in LEVEL_PARAMS if p in names), None)
        if param is None:
            raise InputError(f"step 1 ({first.name}) has no level parameter; give --param")
    field = d.field
    if d.kind == "tabular" and pipeline.section("tabular").fitted is None:
        pipeline.fit(features=d.x, names=d.names)
    rows = []
    bar = _progress(len(levels) * len(d.x), progress, "robustness curve")
    try:
        for level in levels:
            p = _with_level(pipeline, param, float(level))
            noisy = []
            for i in range(len(d.x)):
                noisy.append(p({field: d.x[i]}, index=i, epoch=0)[field])
                if bar is not None and ((i + 1) % 64 == 0 or i + 1 == len(d.x)):
                    bar.update((i % 64) + 1)
            x = torch.from_numpy(np.nan_to_num(np.stack(noisy).astype(np.float32)))
            if input_shape is not None:
                x = x.reshape(len(x), *input_shape)
            elif d.kind == "image" and x.dim() == 3:
                x = x[:, None]
            try:
                with torch.no_grad():
                    pred = model(x).argmax(1).numpy()
            except (RuntimeError, ValueError, IndexError) as err:
                raise model_failed(err, tuple(x.shape)) from None
            rows.append((float(level), float(np.mean(pred == d.y))))
    finally:  # the bar's line ends before any error is printed
        if bar is not None:
            bar.close()
    out: dict[str, Any] = {"param": param, "step": first.name, "levels": rows}
    if out_dir is not None:
        folder = Path(out_dir)
        csv = f"{param},accuracy\n" + "".join(f"{lv!r},{acc!r}\n" for lv, acc in rows)
        out["csv"] = str(atomic_write(folder / "robustness.csv", csv))
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(5, 3.2))
        ax.plot([r[0] for r in rows], [r[1] for r in rows], marker="o")
        ax.set_xlabel(f"{first.name} {param}")
        ax.set_ylabel("accuracy")
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
        ax.set_title(f"robustness on {d.name}", fontsize=9)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=90)
        plt.close(fig)
        out["png"] = str(atomic_write(folder / "robustness.png", buf.getvalue()))
    return out


# -- corruption-robustness report (mCE) --------------------------------------------------------

#: the noise corruptions of ImageNet-C / CIFAR-10-C that ``image.Corruption`` implements
NOISE_CORRUPTIONS = ("gaussian_noise", "shot_noise", "impulse_noise", "speckle_noise")
#: severity tables of ``image.Corruption``
TABLES = ("imagenet_c", "cifar10_c")
#: largest baseline CSV read (bytes)
MAX_BASELINE_BYTES = 1 << 20

_NO_BASELINE = ("no baseline errors given: mCE divides each corruption's summed errors by a baseline model's "
                "(AlexNet in Hendrycks & Dietterich 2019), so only the unnormalised mean error is reported")
_NO_CLEAN = "the baseline has no clean error: relative mCE needs it (a 'clean' row), so only mCE is reported"


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


def _error_value(v: Any, where: str) -> float:
    """A validated error rate in [0, 1]."""
    given = v
    if isinstance(v, str):
        try:
            v = float(v)
        except ValueError:
            v = None
    if not _is_number(v) or not 0.0 <= float(v) <= 1.0:  # NaN fails the comparison too
        raise InputError(f"{where}: error: must be a number in [0, 1], got {escape(repr(given), 60)}")
    return float(v)


def _severity_value(v: Any, where: str) -> int:
    """A validated severity: an integer >= 1 (strings of digits accepted, as CSV and JSON give them)."""
    if isinstance(v, str) and v.strip().isdigit():
        v = int(v.strip())
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) or int(v) < 1:
        raise InputError(f"{where}: severity: must be an integer >= 1, got {escape(repr(v), 60)}")
    return int(v)


@dataclass(frozen=True)
class Baseline:
    """Error rates of a reference model (AlexNet in the paper) per corruption and severity,
    and optionally on clean data; what :func:`corruption_report` normalises by."""

    errors: dict[str, dict[int, float]]
    clean: float | None = None
    source: str = "<dict>"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "<dict>") -> "Baseline":
        """``{corruption: {severity: error}, ..., "clean": error}`` (``clean`` optional; errors
        in [0, 1]); every value is checked, with one-line :class:`InputError` messages."""
        if not isinstance(data, Mapping):
            raise InputError(f"baseline {escape(source, 120)}: expected a mapping of corruption -> "
                             f"{{severity: error}}, got {type(data).__name__}")
        clean, errors = None, {}
        for name, cells in data.items():
            if not isinstance(name, str) or not name:
                raise InputError(f"baseline {escape(source, 120)}: corruption: names must be non-empty strings, "
                                 f"got {escape(repr(name), 60)}")
            if name == "clean":
                clean = _error_value(cells, f"baseline {escape(source, 120)}: clean")
                continue
            where = f"baseline {escape(source, 120)}: {escape(name, 60)}"
            if not isinstance(cells, Mapping) or not cells:
                raise InputError(f"{where}: expected a non-empty mapping of severity -> error, got "
                                 f"{escape(repr(cells), 60)}")
            row: dict[int, float] = {}
            for s, e in cells.items():
                sev = _severity_value(s, where)
                if sev in row:
                    raise InputError(f"{where}: severity: {sev} is given twice")
                row[sev] = _error_value(e, f"{where} severity {sev}")
            errors[name] = row
        return cls(errors, clean, source)

    @classmethod
    def from_csv(cls, path: str | Path) -> "Baseline":
        """A CSV with a header naming (at least) ``corruption,severity,error`` and one row per
        cell; a row ``clean`` (severity empty or 0) gives the clean error. Other columns (e.g.
        a report's ``accuracy``) are ignored, so a report's CSV is a valid baseline."""
        import csv

        from ..core.files import read_regular

        name = escape(str(path), 200)
        try:
            text = read_regular(path, MAX_BASELINE_BYTES, "baseline", detail=True).decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InputError(f"baseline {name}: not UTF-8 text") from None
        except ValueError as err:
            raise InputError(escape(err)) from None
        rows = list(csv.reader(io.StringIO(text)))
        if not rows:
            raise InputError(f"baseline {name}: empty file (expected a header corruption,severity,error)")
        header = [h.strip().lower() for h in rows[0]]
        missing = [c for c in ("corruption", "severity", "error") if c not in header]
        if missing:
            raise InputError(f"baseline {name}:1: header: missing column(s) {', '.join(missing)} "
                             f"(got {escape(','.join(rows[0]), 120)})")
        ic, isv, ie = (header.index(c) for c in ("corruption", "severity", "error"))
        clean, errors = None, {}
        for line, row in enumerate(rows[1:], start=2):
            if not any(cell.strip() for cell in row):
                continue
            where = f"baseline {name}:{line}"
            if len(row) < len(header):
                raise InputError(f"{where}: expected {len(header)} cells, got {len(row)}")
            corruption, sev_text = row[ic].strip(), row[isv].strip()
            if not corruption:
                raise InputError(f"{where}: corruption: empty")
            if corruption == "clean":
                if sev_text not in ("", "0"):
                    raise InputError(f"{where}: severity: the clean row takes severity 0 or empty, got "
                                     f"{escape(repr(sev_text), 60)}")
                if clean is not None:
                    raise InputError(f"{where}: clean: given twice")
                clean = _error_value(row[ie].strip(), f"{where}: clean")
                continue
            sev = _severity_value(sev_text, where)
            cells = errors.setdefault(corruption, {})
            if sev in cells:
                raise InputError(f"{where}: {escape(corruption, 60)} severity {sev} is given twice")
            cells[sev] = _error_value(row[ie].strip(), where)
        if not errors:
            raise InputError(f"baseline {name}: no corruption rows")
        return cls(errors, clean, str(path))

    @classmethod
    def coerce(cls, value: Any) -> "Baseline":
        """A :class:`Baseline` from a Baseline, a :class:`CorruptionReport` (its errors), a
        mapping (:meth:`from_dict`) or a CSV path (:meth:`from_csv`)."""
        if isinstance(value, Baseline):
            return value
        if isinstance(value, CorruptionReport):
            return cls({c: dict(r) for c, r in value.errors.items()}, value.clean_error, f"report on {value.data}")
        if isinstance(value, (str, Path)):
            return cls.from_csv(value)
        if isinstance(value, Mapping):
            return cls.from_dict(value)
        raise InputError(f"baseline: expected a CSV path, a mapping or a CorruptionReport, got {type(value).__name__}")

    def check(self, corruptions: Sequence[str], severities: Sequence[int]) -> None:
        """Every cell the report computes is present and no denominator is zero; one line if not."""
        src = escape(self.source, 120)
        gaps = [f"{escape(c, 60)} severity {s}" for c in corruptions for s in severities
                if s not in self.errors.get(c, {})]
        if gaps:
            more = f" and {len(gaps) - 5} more" if len(gaps) > 5 else ""
            raise InputError(f"baseline {src}: missing error for {', '.join(gaps[:5])}{more} "
                             f"(it needs every corruption x severity of the report)")
        for c in corruptions:
            total = sum(self.errors[c][s] for s in severities)
            if total == 0:
                raise InputError(f"baseline {src}: {escape(c, 60)}: errors sum to 0 over severities "
                                 f"{_span(severities)}, so CE (a ratio to them) is undefined")
            if self.clean is not None:
                rel = sum(self.errors[c][s] - self.clean for s in severities)
                if rel <= 0:
                    raise InputError(f"baseline {src}: {escape(c, 60)}: errors minus the clean error "
                                     f"({self.clean!r}) sum to {rel!r} <= 0 over severities {_span(severities)}, so "
                                     f"relative CE (a ratio to that sum) is undefined")


def _span(severities: Sequence[int]) -> str:
    return ",".join(map(str, severities))


@dataclass
class CorruptionReport:
    """Error rates of one model per corruption x severity (and clean), as plain data, with the
    metrics of Hendrycks & Dietterich (2019) when a baseline is given:

    - ``ce[c] = sum_s E[c][s] / sum_s B[c][s]``, ``mce = mean_c ce[c]``;
    - ``relative_ce[c] = sum_s (E[c][s] - E_clean) / sum_s (B[c][s] - B_clean)``,
      ``relative_mce = mean_c relative_ce[c]`` (needs the baseline's clean error);
    - ``mean_error``: the unnormalised mean of ``E`` over every cell (always given).

    Without a baseline ``ce``/``mce`` are None and ``notes`` says why. Sums run over the
    report's severities (all five in the paper)."""

    errors: dict[str, dict[int, float]]
    clean_error: float
    samples: int = 0
    data: str = ""
    table: str | None = None
    seed: int | None = None
    baseline: Baseline | None = None

    def __post_init__(self) -> None:
        self.errors = {c: {int(s): float(e) for s, e in sorted(r.items())} for c, r in self.errors.items()}
        for c, r in self.errors.items():
            for s, e in r.items():
                _error_value(e, f"report: {escape(c, 60)} severity {s}")
        self.clean_error = _error_value(self.clean_error, "report: clean")
        sev = {tuple(r) for r in self.errors.values()}
        if len(sev) > 1:
            raise InputError("report: every corruption needs the same severities")
        if self.baseline is not None:
            self.baseline = Baseline.coerce(self.baseline)
            self.baseline.check(self.corruptions, self.severities)

    @property
    def corruptions(self) -> list[str]:
        """Corruption names, in the report's order (the heatmap's rows)."""
        return list(self.errors)

    @property
    def severities(self) -> list[int]:
        """Severities, ascending (the heatmap's columns)."""
        return list(next(iter(self.errors.values()), {}))

    @property
    def accuracy(self) -> dict[str, dict[int, float]]:
        """``1 - error`` per corruption and severity."""
        return {c: {s: 1.0 - e for s, e in r.items()} for c, r in self.errors.items()}

    @property
    def clean_accuracy(self) -> float:
        return 1.0 - self.clean_error

    @property
    def mean_error(self) -> float:
        """Unnormalised mean error over every corruption x severity cell."""
        vals = [e for r in self.errors.values() for e in r.values()]
        return float(sum(vals) / len(vals)) if vals else float("nan")

    @property
    def ce(self) -> dict[str, float] | None:
        """Corruption error per corruption (None without a baseline)."""
        if self.baseline is None:
            return None
        b = self.baseline.errors
        return {c: sum(r.values()) / sum(b[c][s] for s in r) for c, r in self.errors.items()}

    @property
    def mce(self) -> float | None:
        """Mean corruption error (None without a baseline)."""
        ce = self.ce
        return None if ce is None else float(sum(ce.values()) / len(ce))

    @property
    def relative_ce(self) -> dict[str, float] | None:
        """Relative corruption error per corruption (None without a baseline clean error)."""
        if self.baseline is None or self.baseline.clean is None:
            return None
        b, bc = self.baseline.errors, self.baseline.clean
        return {c: sum(e - self.clean_error for e in r.values()) / sum(b[c][s] - bc for s in r)
                for c, r in self.errors.items()}

    @property
    def relative_mce(self) -> float | None:
        """Mean relative corruption error (None without a baseline clean error)."""
        rel = self.relative_ce
        return None if rel is None else float(sum(rel.values()) / len(rel))

    @property
    def notes(self) -> list[str]:
        """Why a metric is missing, if one is."""
        if self.baseline is None:
            return [_NO_BASELINE]
        return [_NO_CLEAN] if self.baseline.clean is None else []

    def rows(self) -> list[dict[str, Any]]:
        """The table as rows ``{corruption, severity, accuracy, error}``, the clean row first
        (corruption ``clean``, severity 0)."""
        out = [{"corruption": "clean", "severity": 0, "accuracy": self.clean_accuracy, "error": self.clean_error}]
        out += [{"corruption": c, "severity": s, "accuracy": 1.0 - e, "error": e}
                for c, r in self.errors.items() for s, e in r.items()]
        return out

    def to_dict(self) -> dict[str, Any]:
        """Everything as JSON-ready plain data (severity keys as strings)."""
        def by_sev(t: Mapping[str, Mapping[int, float]]) -> dict[str, dict[str, float]]:
            return {c: {str(s): v for s, v in r.items()} for c, r in t.items()}

        base = None
        if self.baseline is not None:
            base = {"source": self.baseline.source, "clean": self.baseline.clean,
                    "error": by_sev({c: {s: self.baseline.errors[c][s] for s in self.severities}
                                     for c in self.corruptions})}
        return {"data": self.data, "samples": self.samples, "table": self.table, "seed": self.seed,
                "corruptions": self.corruptions, "severities": self.severities,
                "clean": {"accuracy": self.clean_accuracy, "error": self.clean_error},
                "accuracy": by_sev(self.accuracy), "error": by_sev(self.errors), "mean_error": self.mean_error,
                "baseline": base, "ce": self.ce, "mce": self.mce, "relative_ce": self.relative_ce,
                "relative_mce": self.relative_mce, "notes": self.notes}

    def to_csv(self, path: str | Path) -> Path:
        """Write ``corruption,severity,accuracy,error`` (clean row first; floats exact) atomically;
        the file is itself a valid ``baseline``."""
        lines = ["corruption,severity,accuracy,error"]
        lines += [f"{r['corruption']},{r['severity']},{r['accuracy']!r},{r['error']!r}" for r in self.rows()]
        return atomic_write(path, "\n".join(lines) + "\n")

    def to_json(self, path: str | Path) -> Path:
        """Write :meth:`to_dict` as JSON atomically."""
        import json

        return atomic_write(path, json.dumps(self.to_dict(), indent=2) + "\n")

    def heatmap(self, path: str | Path, *, title: str | None = None) -> Path:
        """Write a PNG heatmap of the errors (corruption rows, severity columns, each cell
        annotated, colour scale fixed to [0, 1] so two reports compare) atomically."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        cs, ss = self.corruptions, self.severities
        grid = np.array([[self.errors[c][s] for s in ss] for c in cs], dtype=float).reshape(len(cs), len(ss))
        fig, ax = plt.subplots(figsize=(1.2 + 0.75 * max(len(ss), 1) + 1.2, 1.1 + 0.45 * max(len(cs), 1)))
        im = ax.imshow(grid, cmap="magma_r", vmin=0.0, vmax=1.0, aspect="auto")
        for i in range(len(cs)):
            for j in range(len(ss)):
                ax.text(j, i, f"{grid[i, j]:.3f}", ha="center", va="center", fontsize=8,
                        color="white" if grid[i, j] > 0.55 else "black")
        ax.set_xticks(range(len(ss)), [str(s) for s in ss])
        ax.set_yticks(range(len(cs)), cs)
        ax.set_xlabel("severity")
        bar = fig.colorbar(im, ax=ax)
        bar.set_label("top-1 error")
        summary = f"clean error {self.clean_error:.3f}, mean error {self.mean_error:.3f}"
        if self.mce is not None:
            summary += f", mCE {self.mce:.3f}"
        if self.relative_mce is not None:
            summary += f", rel. mCE {self.relative_mce:.3f}"
        what = f"{self.data}, {self.samples} samples" if self.samples else self.data
        head = title if title is not None else f"{what} ({self.table})" if self.table else what
        ax.set_title(f"{head}\n{summary}" if head else summary, fontsize=8)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=100)
        plt.close(fig)
        return atomic_write(path, buf.getvalue())

    def format_table(self) -> str:
        """The error table as aligned text (one row per corruption, then the metrics)."""
        ss = self.severities
        width = max([len(c) for c in self.corruptions] + [10])
        ce, rel = self.ce or {}, self.relative_ce or {}
        head = f"{'error':<{width}} " + " ".join(f"{'s' + str(s):>6}" for s in ss)
        head += f" {'mean':>6}" + (f" {'CE':>6}" if ce else "") + (f" {'relCE':>6}" if rel else "")
        lines = [head, f"{'clean':<{width}} {self.clean_error:>6.3f}"]
        for c, r in self.errors.items():
            line = f"{c:<{width}} " + " ".join(f"{r[s]:>6.3f}" for s in ss) + f" {sum(r.values()) / len(r):>6.3f}"
            line += (f" {ce[c]:>6.3f}" if ce else "") + (f" {rel[c]:>6.3f}" if rel else "")
            lines.append(line)
        lines.append(f"mean error {self.mean_error:.3f}")
        if self.mce is not None:
            lines.append(f"mCE {self.mce:.3f}")
        if self.relative_mce is not None:
            lines.append(f"relative mCE {self.relative_mce:.3f}")
        return "\n".join(lines + [f"note: {n}" for n in self.notes])


def corruption_pipelines(corruptions: Sequence[str], severities: Sequence[int], *, table: str = "imagenet_c",
                         seed: int = 0) -> Callable[[str, int], Pipeline]:
    """The default ``pipeline_for``: ``Pipeline(sample=[image.Corruption(name, severity,
    table)], seed=seed)`` (the step is looked up in the registry)."""
    from ..core.registry import get_transform

    try:
        cls = get_transform("image.Corruption")
    except KeyError:
        raise InputError("image.Corruption is not registered in this installation; pass pipeline_for= "
                         "(a callable (corruption, severity) -> Pipeline) for custom corruptions") from None

    def make(corruption: str, severity: int) -> Pipeline:
        return Pipeline(sample=[cls(name=corruption, severity=severity, table=table)], seed=seed)

    return make


class _Counter:
    """A minimal progress counter on stderr when tqdm is missing."""

    def __init__(self, total: int, desc: str) -> None:
        self.total, self.n, self.desc, self._shown = total, 0, desc, -1

    def update(self, k: int) -> None:
        import sys

        self.n += k
        pct = int(100 * self.n / max(self.total, 1))
        if pct // 10 != self._shown // 10 or self.n >= self.total:
            self._shown = pct
            print(f"\r{self.desc}: {self.n}/{self.total} ({pct}%)", end="", file=sys.stderr, flush=True)

    def close(self) -> None:
        import sys

        print(file=sys.stderr, flush=True)


def _progress(total: int, enabled: bool, desc: str) -> Any:
    if not enabled:
        return None
    import sys

    try:
        from tqdm import tqdm
    except ImportError:
        return _Counter(total, desc)
    return tqdm(total=total, desc=desc, unit="img", file=sys.stderr)


def _to_model_input(xs: np.ndarray, input_shape: Sequence[int] | None) -> Any:
    import torch

    x = torch.from_numpy(np.ascontiguousarray(xs, dtype=np.float32))
    if input_shape is not None:
        return x.reshape(len(x), *input_shape)
    if x.dim() == 3:  # (N, H, W) grayscale -> (N, 1, H, W)
        return x[:, None]
    if x.dim() == 4:  # (N, H, W, C) -> (N, C, H, W)
        return x.permute(0, 3, 1, 2).contiguous()
    return x


def corruption_report(model: Any, data: str | Data, *, corruptions: Sequence[str] = NOISE_CORRUPTIONS,
                      severities: Sequence[int] = (1, 2, 3, 4, 5), table: str = "imagenet_c",
                      baseline: Any = None, seed: int = 0, batch_size: int = 256, progress: bool = True,
                      pipeline_for: Callable[[str, int], Pipeline] | None = None, limit: int | None = None,
                      input_shape: Sequence[int] | None = None, label_column: str | None = None,
                      device: Any = None) -> CorruptionReport:
    """Accuracy and error of ``model`` on ``data`` per corruption x severity, computed on the
    fly at the data's own resolution, and mCE / relative mCE when ``baseline`` errors are given.

    Each cell runs ``pipeline_for(corruption, severity)`` (default: a one-step pipeline of
    ``image.Corruption(name=corruption, severity=severity, table=table)`` with ``seed``) over
    the data through :meth:`Pipeline.apply_many`, sample ``i`` keyed by its index ``i`` and
    epoch 0, so results do not depend on ``batch_size``. Every pipeline is built (and the
    baseline checked) before anything runs. Images go to the model as float32 (N, 1, H, W)
    for grayscale, (N, C, H, W) for (N, H, W, C) data, or reshaped to ``input_shape``; the
    model is put in eval mode for the run (its mode restored after) and must return logits
    (N, classes). ``baseline``: a CSV path (``corruption,severity,error`` and an optional
    ``clean`` row), a mapping ``{corruption: {severity: error}, "clean": error}``, a
    :class:`Baseline` or another :class:`CorruptionReport`. ``limit``: use the first
    ``limit`` samples only. A progress bar runs on stderr unless ``progress=False``."""
    import torch

    d = data if isinstance(data, Data) else load_data(data, label_column)
    if d.y is None:
        raise InputError(f"{escape(d.name, 120)}: the corruption report needs labels")
    corruptions = list(corruptions)
    if not corruptions or any(not isinstance(c, str) or not c for c in corruptions):
        raise InputError(f"corruptions: expected non-empty names, got {escape(repr(corruptions), 120)}")
    if len(set(corruptions)) != len(corruptions):
        raise InputError(f"corruptions: a name is given twice in {escape(','.join(corruptions), 120)}")
    sev = [_severity_value(s, "severities") for s in severities]
    if not sev or len(set(sev)) != len(sev):
        raise InputError(f"severities: expected distinct integers >= 1, got {escape(repr(list(severities)), 120)}")
    sev = sorted(sev)
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise InputError(f"batch_size: must be an integer >= 1, got {escape(repr(batch_size), 60)}")
    if pipeline_for is None and table not in TABLES:
        raise InputError(f"table: must be one of {', '.join(TABLES)}, got {escape(repr(table), 60)}")
    base = Baseline.coerce(baseline) if baseline is not None else None
    if base is not None:
        base.check(corruptions, sev)
    x, y = d.x, d.y
    if limit is not None:
        if isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 1:
            raise InputError(f"limit: must be an integer >= 1, got {escape(repr(limit), 60)}")
        x, y = x[:limit], y[:limit]
    if len(x) == 0:
        raise InputError(f"{escape(d.name, 120)}: no samples")
    make = pipeline_for if pipeline_for is not None else corruption_pipelines(corruptions, sev, table=table, seed=seed)
    pipes: dict[tuple[str, int], Pipeline] = {}
    for c in corruptions:
        for s in sev:
            p = make(c, s)
            if not isinstance(p, Pipeline):
                raise InputError(f"pipeline_for({escape(repr(c), 60)}, {s}) must return an augnoise.Pipeline, "
                                 f"got {type(p).__name__}")
            pipes[c, s] = p
    if device is None:
        first = next(iter(model.parameters()), None) if hasattr(model, "parameters") else None
        device = first.device if first is not None else "cpu"
    n, field = len(x), d.field
    labels = np.asarray(y)
    bar = _progress(n * (1 + len(pipes)), progress, "corruption report")

    def error_of(pipe: Pipeline | None) -> float:
        wrong = 0
        for lo in range(0, n, batch_size):
            hi = min(lo + batch_size, n)
            chunk = x[lo:hi]
            if pipe is not None:
                out = pipe.apply_many([{field: chunk[i]} for i in range(hi - lo)], list(range(lo, hi)), 0)
                chunk = np.stack([o[field] for o in out])
            shape = tuple(chunk.shape)
            try:
                inp = _to_model_input(chunk, input_shape)
                shape = tuple(inp.shape)
                with torch.no_grad():
                    pred = model(inp.to(device)).argmax(1).cpu().numpy()
            except (RuntimeError, ValueError, IndexError) as err:
                raise model_failed(err, shape) from None
            wrong += int(np.sum(pred != labels[lo:hi]))
            if bar is not None:
                bar.update(hi - lo)
        return wrong / n

    was_training = getattr(model, "training", None)
    if was_training and hasattr(model, "eval"):
        model.eval()
    try:
        clean = error_of(None)
        errors = {c: {s: error_of(pipes[c, s]) for s in sev} for c in corruptions}
    finally:
        if bar is not None:
            bar.close()
        if was_training and hasattr(model, "train"):
            model.train(True)
    return CorruptionReport(errors, clean, samples=n, data=d.name, table=table if pipeline_for is None else None,
                            seed=seed if pipeline_for is None else None, baseline=base)
