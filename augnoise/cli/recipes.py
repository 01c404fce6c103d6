"""``augnoise recipe denoise|anomaly`` and ``augnoise robustness``."""
from __future__ import annotations

from typing import Any

from ..core.config import load
from ..core.errors import InputError


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


def cmd_robustness(args: Any) -> int:
    from ..cli.preview import load_model
    from ..recipes.robustness import robustness_curve

    try:
        levels = [float(v) for v in args.levels.split(",") if v.strip()]
    except ValueError:
        raise InputError(f"--levels must be comma-separated numbers, got {args.levels!r}") from None
    shape = [int(v) for v in args.input_shape.split(",")] if args.input_shape else None
    res = robustness_curve(load_model(args.model), args.data, load(args.pipeline), levels, param=args.param,
                           out_dir=args.out, label_column=args.label_column, input_shape=shape)
    print(f"{res['step']} {res['param']} -> accuracy")
    for level, acc in res["levels"]:
        print(f"  {level:g}: {acc:.4f}")
    for k in ("csv", "png"):
        if k in res:
            print(f"wrote {res[k]}")
    return 0
