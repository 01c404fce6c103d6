"""``augnoise`` entry point: argument parsing and error reporting (no tracebacks for bad input).

Only argparse is imported at start-up; commands import their own dependencies, so
``augnoise --help``, ``list`` and ``validate`` never import torch or albumentations (validate
does only for a file that has an ``albumentations.*`` step, whose parameters albumentations
itself must check).
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


def _allow_path(s: argparse.ArgumentParser) -> None:
    s.add_argument("--allow-path", action="append", default=[], metavar="DIR",
                   help="let the pipeline read files under DIR too (files it names must otherwise stay in its folder)")


class _Defaults(argparse.HelpFormatter):
    """Help that ends each option with its default, where it has one worth showing."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        d = action.default
        if d is None or d is False or d == [] or d == argparse.SUPPRESS or "default" in text or not action.option_strings:
            return text
        return f"{text} (default: %(default)s)"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="augnoise",
        description="Noise augmentation pipelines for deep learning: list transforms, validate "
        "YAML pipelines, preview and apply them to files (locally or on Ray), run the denoising "
        "and anomaly recipes, write corruption-robustness reports and curves, and benchmark.",
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    s = sub.add_parser("list", help="list registered transforms")
    s.add_argument("--modality", "-m", help="only this modality (image, audio, tabular, ...)")

    s = sub.add_parser("show", help="parameters, defaults, units and doc of one transform")
    s.add_argument("name", help="e.g. image.GaussianNoise, OneOf or albumentations.HorizontalFlip")

    s = sub.add_parser("validate", help="validate pipeline YAML files (exit 2 on any problem)")
    _allow_path(s)
    s.add_argument("files", nargs="+", metavar="FILE")

    sub.add_parser("schema", help="print the JSON Schema of the pipeline file format")

    s = sub.add_parser("preview", help="write augmented previews of input files (image grid; audio + spectrogram; CSV copies)")
    _allow_path(s)
    s.add_argument("pipeline", help="pipeline YAML file")
    s.add_argument("inputs", nargs="+", metavar="INPUT", help="image (png, jpg, tif, ...) or audio (wav, flac, ogg) files")
    s.add_argument("-n", type=int, default=8, help="number of variants (default 8)")
    s.add_argument("-o", "--out", default="out", help="output directory (default out/)")
    s.add_argument("--seed", type=int, default=None, help="override the pipeline's seed")
    s.add_argument("--epoch", type=int, default=0, help="epoch of the keys (default 0)")
    s.add_argument("--model", default=None, help="TorchScript model file for adversarial batch steps (loaded with torch.jit.load, no pickle)")
    s.add_argument("--label", type=int, action="append", default=None,
                   help="true class of the input(s) for adversarial steps (once, or once per input)")
    s.add_argument("--max-size", type=int, default=512,
                   help="image tiles at most this many pixels on their longest side (0: full resolution; default 512)")

    s = sub.add_parser("apply", help="augment a folder tree or a table into DST (resumable; local or Ray)")
    _allow_path(s)
    s.add_argument("pipeline", help="pipeline YAML file")
    s.add_argument("src", help="source folder, or one .csv / .parquet table (never written)")
    s.add_argument("dst", help="destination folder")
    s.add_argument("--copies", "-k", type=int, default=1, help="augmented copies per file (copy k = epoch k)")
    s.add_argument("--workers", "-j", type=int, default=1, help="worker processes (default 1)")
    s.add_argument("--seed", type=int, default=None, help="override the pipeline's seed")
    s.add_argument("--engine", choices=["local", "ray"], default="local", help="run locally or on Ray (augnoise[ray])")
    s.add_argument("--address", default=None, help="Ray cluster address (default: start a local instance)")
    s.add_argument("--concurrency", type=int, default=None, help="Ray actors (default: CPUs - 1)")

    s = sub.add_parser("recipe", help="denoising autoencoder or anomaly detection driven by a pipeline",
                       formatter_class=_Defaults)
    _allow_path(s)
    s.add_argument("recipe", choices=["denoise", "anomaly"])
    s.add_argument("--pipeline", "-p", required=True, help="pipeline YAML (its sample stage is the corruption)")
    s.add_argument("--data", default="digits", help="digits | breast_cancer | a folder of images | a .csv")
    s.add_argument("--epochs", type=int, default=30, help="training epochs")
    s.add_argument("-o", "--out", default="out/recipe", help="output folder (PNG, weights)")
    s.add_argument("--seed", type=int, default=0, help="seed of the split, the model and the pipeline's keys")
    classes = s.add_mutually_exclusive_group()
    classes.add_argument("--normal-class", default=None,
                         help="anomaly: this class is normal, the rest anomalous (default: digits hold out 9, "
                              "breast_cancer takes benign as normal, a CSV its most common class)")
    classes.add_argument("--anomaly-class", default=None,
                         help="anomaly: this class is anomalous, the rest normal (a number, or a label of a text column)")
    s.add_argument("--label-column", default=None, help="CSV column holding the labels")

    s = sub.add_parser(
        "robustness", help="corruption report (error per corruption x severity, mCE; CSV + JSON + heatmap) or a "
        "one-parameter sweep of a pipeline (CSV + PNG curve)",
        description="Two forms, exactly one per call: --corruptions C1,C2 [--severities 1-5] [--table T] "
        "[--baseline errors.csv] writes a corruption report (corruption_report.csv/.json/.png); --pipeline P "
        "--levels L sweeps the level of P's first step (robustness.csv/.png).",
        formatter_class=_Defaults)
    _allow_path(s)
    s.add_argument("--model", required=True, help="TorchScript model file")
    s.add_argument("--data", default="digits", help="digits | breast_cancer | a folder of images | a .csv with --label-column")
    s.add_argument("--corruptions", default=None,
                   help="report: comma-separated image.Corruption names, e.g. gaussian_noise,shot_noise,impulse_noise,speckle_noise")
    s.add_argument("--severities", default=None, help="report: severities, e.g. 1-5 or 1,3,5 (default 1-5)")
    s.add_argument("--table", default=None, help="report: severity table, imagenet_c or cifar10_c (default imagenet_c)")
    s.add_argument("--baseline", default=None,
                   help="report: CSV of baseline errors (corruption,severity,error; a 'clean' row for relative mCE)")
    s.add_argument("--seed", type=int, default=None, help="report: key seed of the corruptions (default 0)")
    s.add_argument("--limit", type=int, default=None, help="report: only the first N samples")
    s.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    s.add_argument("--pipeline", "-p", default=None, help="sweep: pipeline YAML; its first step's level is swept")
    s.add_argument("--levels", default=None, help="sweep: comma-separated levels, e.g. 0,0.05,0.1,0.2")
    s.add_argument("--param", default=None, help="sweep: parameter of the first step to sweep (default: its main level)")
    s.add_argument("--label-column", default=None, help="CSV column holding the labels")
    s.add_argument("--input-shape", default=None, help="reshape each input for the model, e.g. 1,8,8")
    s.add_argument("-o", "--out", default="out/robustness", help="output folder")

    s = sub.add_parser("gallery", help="every transform at three levels on sample files: pictures, spectrograms, "
                       "tables and a gallery.md page", formatter_class=_Defaults)
    s.add_argument("out", help="output folder")
    s.add_argument("--image", default="samples/scene.png", help="the image every image transform is shown on")
    s.add_argument("--audio", default="samples/chirp_tones.wav", help="the clip every audio transform is shown on")
    s.add_argument("--table", default="samples/patients.csv", help="the CSV every tabular transform is shown on")

    s = sub.add_parser("bench", help="run a benchmark suite (e.g. 'augnoise bench image'; peers: augnoise[bench])")
    s.add_argument("suite", help="benchmark name: adversarial, audio, batch, dispatch, image, loader, noises, ray, tabular")
    s.add_argument("--quick", action="store_true", help="fewer repetitions (smoke run)")
    s.add_argument("--json", default=None, metavar="FILE",
                   help="also write the results as data (machine, versions, tables) for the benchmark-table script")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from ..core.errors import AugnoiseError, ConfigError, escape
    from ..core.files import allowing

    try:
        with allowing(getattr(args, "allow_path", [])):
            return _run(args)
    except ConfigError as err:
        print(str(err), file=sys.stderr)
        return EXIT_USAGE
    except AugnoiseError as err:
        print(f"augnoise: {escape_lines(err)}", file=sys.stderr)
        return EXIT_FAIL
    except KeyboardInterrupt:
        print("augnoise: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAIL
    except RuntimeError as err:  # a TorchScript model that cannot take the data: its last line, not 25
        text = str(err)
        if os.environ.get("AUGNOISE_DEBUG") or not ("TorchScript" in text or type(err).__module__.startswith("torch")):
            raise
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        last = lines[-1] if lines else type(err).__name__
        print(f"augnoise: the model failed on the data (check --data and --input-shape against what the model "
              f"takes): {escape(last, 300)}", file=sys.stderr)
        return EXIT_FAIL
    except ModuleNotFoundError as err:  # an optional package: say which extra installs it
        from ..core.extras import missing_message

        msg = missing_message(err.name or "", f"augnoise {args.command}")
        if msg is None or os.environ.get("AUGNOISE_DEBUG"):
            raise
        print(f"augnoise: {msg}", file=sys.stderr)
        return EXIT_FAIL
    except Exception as err:  # never a traceback for the user unless asked for
        if os.environ.get("AUGNOISE_DEBUG"):
            raise
        print(f"augnoise: unexpected error: {type(err).__name__}: {escape_lines(err)} (set AUGNOISE_DEBUG=1 for a "
              f"traceback)", file=sys.stderr)
        return EXIT_FAIL


def escape_lines(err: BaseException) -> str:
    """An error's text as one escaped, bounded line (file names and values in it are hostile)."""
    from ..core.errors import escape

    return escape(str(err), 1000)


def _run(args: argparse.Namespace) -> int:
    """Dispatch one parsed command."""
    if args.command == "list":
        from .info import cmd_list

        return cmd_list(args.modality)
    if args.command == "show":
        from .info import cmd_show

        return cmd_show(args.name)
    if args.command == "validate":
        from .info import cmd_validate

        return cmd_validate(args.files)
    if args.command == "schema":
        from .info import cmd_schema

        return cmd_schema()
    if args.command == "preview":
        from .preview import cmd_preview

        return cmd_preview(args.pipeline, args.inputs, n=args.n, out=args.out, seed=args.seed, epoch=args.epoch,
                           model=args.model, labels=args.label, max_size=args.max_size)
    if args.command == "apply":
        from .apply import cmd_apply

        return cmd_apply(args.pipeline, args.src, args.dst, copies=args.copies, workers=args.workers, seed=args.seed,
                         engine=args.engine, address=args.address, concurrency=args.concurrency)
    if args.command == "recipe":
        from .recipes import cmd_recipe

        return cmd_recipe(args)
    if args.command == "robustness":
        from .recipes import cmd_robustness

        return cmd_robustness(args)
    if args.command == "gallery":
        from .gallery import cmd_gallery

        return cmd_gallery(args.out, image=args.image, audio=args.audio, table=args.table)
    if args.command == "bench":
        from .bench import cmd_bench

        return cmd_bench(args.suite, quick=args.quick, json_path=args.json)
    return EXIT_USAGE  # pragma: no cover


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
