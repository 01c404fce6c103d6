"""Data for the recipes: bundled scikit-learn sets (no download), image folders, CSV tables."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.errors import InputError


@dataclass
class Data:
    """``x``: images (N, H, W) / (N, H, W, C) float32 in [0, 1], or a table (N, F) float (NaN =
    missing); ``y``: labels or None; ``kind``: image or tabular."""

    name: str
    kind: str
    x: np.ndarray
    y: np.ndarray | None
    names: list[str] | None = None
    #: the label strings by code, when the labels were strings (a CSV's text label column)
    classes: list[str] | None = None

    @property
    def field(self) -> str:
        return "image" if self.kind == "image" else "features"


def load_data(spec: str, label_column: str | None = None, image_size: int = 32) -> Data:
    """``digits`` (8x8 grayscale), ``breast_cancer`` (30 features), a folder of images (resized
    to ``image_size``, grayscale), or a CSV file (``label_column`` becomes ``y``)."""
    if spec in ("digits", "breast_cancer", "breast-cancer"):  # bundled with scikit-learn (no download)
        from ..core.extras import import_extra

        datasets = import_extra("sklearn.datasets", f"the {spec} data")
    if spec == "digits":
        d = datasets.load_digits()
        return Data("digits", "image", (d.images / 16.0).astype(np.float32), d.target.astype(np.int64))
    if spec in ("breast_cancer", "breast-cancer"):
        d = datasets.load_breast_cancer()
        return Data("breast_cancer", "tabular", d.data.astype(np.float64), d.target.astype(np.int64), list(d.feature_names))
    p = Path(spec)
    if p.is_dir():
        import cv2

        from ..image.io import IMAGE_SUFFIXES, read_image

        files = sorted(f for f in p.rglob("*") if f.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise InputError(f"{spec}: no images found")
        imgs, skipped = [], []
        for f in files:
            try:
                img = read_image(f)
            except InputError:  # one corrupt or unreadable file does not abort the run (as in apply)
                skipped.append(f)
                continue
            scale = 1.0 if img.dtype.kind == "f" else float(np.iinfo(img.dtype).max)
            g = img.astype(np.float32) / scale
            if g.ndim == 3:
                g = g[..., :3].mean(axis=2)
            imgs.append(cv2.resize(g, (image_size, image_size), interpolation=cv2.INTER_AREA))
        if skipped:
            import sys

            from ..core.errors import escape

            print(f"augnoise: {spec}: skipped {len(skipped)} unreadable image(s), first {escape(str(skipped[0]), 200)}",
                  file=sys.stderr)
        if not imgs:
            raise InputError(f"{spec}: none of its {len(files)} images could be read")
        return Data(p.name, "image", np.clip(np.stack(imgs), 0, 1).astype(np.float32), None)
    if p.suffix.lower() == ".csv" and p.is_file():
        from ..tabular.io import read_csv

        t = read_csv(p)
        y = None
        x, names = t.x, list(t.names)
        if label_column is not None:
            if label_column not in names:
                raise InputError(f"{spec}: no column {label_column!r} (columns: {', '.join(names)})")
            j = names.index(label_column)
            if np.isnan(x[:, j]).any():
                raise InputError(f"{spec}: column {label_column!r} has missing labels (row "
                                 f"{int(np.flatnonzero(np.isnan(x[:, j]))[0]) + 2} of the file)")
            classes = t.categories.get(j)
            if classes is None and not np.array_equal(x[:, j], np.round(x[:, j])):
                raise InputError(f"{spec}: column {label_column!r} holds non-integer numbers; labels are integers "
                                 f"or text")
            y = x[:, j].astype(np.int64)
            x, names = np.delete(x, j, axis=1), names[:j] + names[j + 1 :]
            return Data(p.stem, "tabular", x, y, names, list(classes) if classes is not None else None)
        return Data(p.stem, "tabular", x, y, names)
    raise InputError(f"--data {spec!r}: expected digits, breast_cancer, a folder of images or a .csv file")


def class_code(d: Data, value: int | str, option: str) -> int:
    """A class given by the user (a number, or a label string of a text label column) as the
    code in ``d.y``; an error naming the classes there are when it is none of them."""
    present = sorted({int(v) for v in np.unique(d.y)}) if d.y is not None else []
    if d.classes is not None:
        if str(value) in d.classes:
            return d.classes.index(str(value))
        raise InputError(f"{option} {value!r}: not a class of {d.name} (classes: {', '.join(d.classes)})")
    try:
        code = int(str(value))
    except ValueError:
        raise InputError(f"{option} {value!r}: the labels of {d.name} are numbers ({present[0]} to {present[-1]})") from None
    if code not in present:
        raise InputError(f"{option} {code}: no sample of {d.name} has this label (labels: {present[0]} to {present[-1]})")
    return code


def split(n: int, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Keyed train/test split of ``range(n)``."""
    order = np.random.Generator(np.random.Philox(np.random.SeedSequence(entropy=seed, spawn_key=(3,)))).permutation(n)
    k = int(round(n * (1 - test_fraction)))
    return np.sort(order[:k]), np.sort(order[k:])


class Standardizer:
    """Per-column standardisation fitted on training rows; NaN becomes 0 (the mean)."""

    def __init__(self, x: np.ndarray):
        self.mean = np.nanmean(x, axis=0)
        std = np.nanstd(x, axis=0)
        self.mean = np.nan_to_num(self.mean)
        self.std = np.where(np.isfinite(std) & (std > 0), std, 1.0)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return np.nan_to_num((x - self.mean) / self.std).astype(np.float32)
