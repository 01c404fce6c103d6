"""``augnoise recipe denoise|anomaly`` and ``augnoise robustness`` (corruption report or sweep)."""
from __future__ import annotations

from typing import Any

from ..core.config import load
from ..core.errors import InputError, escape


def _print(res: dict[str, Any]) -> None:
    for k, v in res.items():
        print(f"{k}: {v:.4f}" if isinstance(v, float) else f"{k}: {v}")


def cmd_recipe(args: Any) -> int:
    pipeline = load(args.pipeline)
    if args.recipe == "denoise":
        from ..recipes.denoise import train_denoiser

        _print(train_denoiser(pipeline, args.data, epochs=args.epochs, out_dir=args.out, seed=args.seed,
                              label_column=args.label_column))
    else:
        from ..recipes.anomaly import detect_anomalies

        _print(detect_anomalies(pipeline, args.data, normal_class=args.normal_class, anomaly_class=args.anomaly_class,
                                epochs=args.epochs, out_dir=args.out, seed=args.seed, label_column=args.label_column))
    return 0


#: options of each ``augnoise robustness`` form (argparse destinations -> flags)
_REPORT_ONLY = {"severities": "--severities", "table": "--table", "baseline": "--baseline", "seed": "--seed",
                "limit": "--limit"}
_SWEEP = {"pipeline": "--pipeline", "levels": "--levels", "param": "--param"}


def robustness_form(args: Any) -> tuple[str | None, str]:
    """``("report" | "sweep", "")`` for a consistent ``augnoise robustness`` call, else
    ``(None, one-line usage message)``."""
    sweep = [flag for dest, flag in _SWEEP.items() if getattr(args, dest, None) is not None]
    if args.corruptions is not None:
        if sweep:
            return None, (f"--corruptions (corruption report) and {'/'.join(sweep)} (one-parameter sweep) are two "
                          f"forms; give one")
        return "report", ""
    if not sweep:
        return None, ("give --corruptions C1,C2 [--severities 1-5] (corruption report) or --pipeline P --levels L "
                      "(one-parameter sweep)")
    missing = [flag for dest, flag in (("pipeline", "--pipeline"), ("levels", "--levels")) if getattr(args, dest) is None]
    if missing:
        return None, f"the one-parameter sweep needs --pipeline P and --levels L (missing {' and '.join(missing)})"
    extra = [flag for dest, flag in _REPORT_ONLY.items() if getattr(args, dest, None) is not None]
    if extra:
        return None, f"{', '.join(extra)} belong(s) to the corruption report (--corruptions), not the sweep (--pipeline)"
    return "sweep", ""


def parse_severities(text: str) -> list[int]:
    """``"1-5"`` -> [1, 2, 3, 4, 5]; ``"1,3,5"``; ``"1-2,5"``. InputError on anything else."""
    out: list[int] = []
    for part in text.split(","):
        part = part.strip()
        lo, sep, hi = part.partition("-")
        if not lo.strip().isdigit() or (sep and not hi.strip().isdigit()):
            raise InputError(f"--severities: expected integers or ranges like 1-5 or 1,3,5, got {escape(repr(text), 60)}")
        a, b = int(lo), int(hi) if sep else int(lo)
        if a < 1 or b < a or b - a > 100:
            raise InputError(f"--severities: {escape(part, 30)} is not a range of severities >= 1 (low-high), "
                             f"got {escape(repr(text), 60)}")
        out += [s for s in range(a, b + 1) if s not in out]
    return sorted(out)


def cmd_robustness(args: Any) -> int:
    import sys

    form, usage = robustness_form(args)
    if form is None:
        print(f"augnoise robustness: error: {usage}", file=sys.stderr)
        return 2
    if form == "report":
        return _cmd_corruption_report(args)
    from ..cli.preview import load_model
    from ..recipes.robustness import robustness_curve

    try:
        levels = [float(v) for v in args.levels.split(",") if v.strip()]
    except ValueError:
        raise InputError(f"--levels must be comma-separated numbers, got {args.levels!r}") from None
    shape = _input_shape(args.input_shape)
    res = robustness_curve(load_model(args.model), args.data, load(args.pipeline), levels, param=args.param,
                           out_dir=args.out, label_column=args.label_column, input_shape=shape,
                           progress=not args.no_progress)
    print(f"{res['step']} {res['param']} -> accuracy")
    for level, acc in res["levels"]:
        print(f"  {level:g}: {acc:.4f}")
    for k in ("csv", "png"):
        if k in res:
            print(f"wrote {res[k]}")
    return 0


def _input_shape(text: str | None) -> list[int] | None:
    if not text:
        return None
    try:
        shape = [int(v) for v in text.split(",")]
    except ValueError:
        raise InputError(f"--input-shape: expected comma-separated integers, got {escape(repr(text), 60)}") from None
    if any(v < 1 and v != -1 for v in shape):
        raise InputError(f"--input-shape: sizes must be >= 1 (or -1), got {escape(repr(text), 60)}")
    return shape


def _cmd_corruption_report(args: Any) -> int:
    """``augnoise robustness --corruptions ...``: the report, printed and written to ``--out``."""
    from pathlib import Path

    from ..cli.preview import load_model
    from ..recipes.robustness import Baseline, corruption_report

    corruptions = [c.strip() for c in args.corruptions.split(",") if c.strip()]
    if not corruptions:
        raise InputError(f"--corruptions: expected comma-separated names, got {escape(repr(args.corruptions), 60)}")
    severities = parse_severities(args.severities if args.severities is not None else "1-5")
    shape = _input_shape(args.input_shape)
    baseline = Baseline.from_csv(args.baseline) if args.baseline is not None else None
    report = corruption_report(load_model(args.model), args.data, corruptions=corruptions, severities=severities,
                               table=args.table or "imagenet_c", baseline=baseline,
                               seed=args.seed if args.seed is not None else 0, progress=not args.no_progress,
                               limit=args.limit, input_shape=shape, label_column=args.label_column)
    print(report.format_table())
    out = Path(args.out)
    for written in (report.to_csv(out / "corruption_report.csv"), report.to_json(out / "corruption_report.json"),
                    report.heatmap(out / "corruption_report.png")):
        print(f"wrote {written}")
    return 0
