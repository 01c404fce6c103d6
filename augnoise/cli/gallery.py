"""``augnoise gallery OUT``: every registered image, audio and tabular transform at three levels
of its main parameter on a sample image, a sample clip and a sample table: a grid PNG per image
transform, a spectrogram PNG per audio transform, a before/after text per tabular transform, and
``gallery.md``, a page that shows them all with each transform's summary (the documentation
site's gallery)."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from ..core.errors import InputError

#: the main level parameter of each transform and its three levels (low, medium, high noise);
#: the first parameter of this table a transform has is the one shown
LEVELS: dict[str, tuple[Any, Any, Any]] = {
    "severity": (1, 3, 5),
    "multiplier": ([0.95, 1.05], [0.85, 1.15], [0.6, 1.4]),
    "a": (0.001, 0.005, 0.02),
    "std": (0.02, 0.06, 0.15),
    "snr_db": (30.0, 15.0, 5.0),
    "amount": (0.005, 0.02, 0.08),
    "photons": (200.0, 50.0, 10.0),
    "scale": (0.05, 0.2, 0.5),
    "p_swap": (0.05, 0.15, 0.4),
    "p_mask": (0.05, 0.15, 0.4),
    "rate": (1.0, 3.0, 8.0),
}
#: per transform: parameters that replace its first example's (audio std is on the [-1, 1] scale)
OVERRIDES: dict[str, dict[str, Any]] = {
    "audio.GaussianNoise": {"levels": (0.003, 0.01, 0.03)},
}
MODALITIES = ("image", "audio", "tabular")


def level_param(cls: Any) -> str | None:
    """The parameter the gallery varies for ``cls`` (None: it has none in :data:`LEVELS`)."""
    fields = getattr(cls.Params, "model_fields", {})
    return next((p for p in LEVELS if p in fields), None)


def _base_params(cls: Any) -> dict[str, Any]:
    ex = cls.examples[0].params if cls.examples else {}
    params = dict(ex() if callable(ex) else ex)
    params.pop("p", None)
    return params


def _steps(name: str) -> tuple[str, list[Any]] | None:
    """The level parameter of transform ``name`` and its three steps (None when it has none)."""
    from ..core.registry import get_transform

    cls = get_transform(name)
    param = level_param(cls)
    if param is None:
        return None
    levels = OVERRIDES.get(name, {}).get("levels", LEVELS[param])
    base = {k: v for k, v in _base_params(cls).items() if k != param}
    steps = []
    for level in levels:
        try:
            steps.append(cls(**{**base, param: level}))
        except Exception as err:  # noqa: BLE001 - a level the example's other parameters refuse
            raise InputError(f"gallery: {name} with {param}={level}: {err}") from None
    return param, steps


def _label(param: str, level: Any) -> str:
    return f"{param}={level}"


def cmd_gallery(out: str, image: str = "samples/scene.png", audio: str = "samples/chirp_tones.wav",
                table: str = "samples/patients.csv") -> int:
    from tqdm import tqdm

    from ..audio.io import read_audio, spectrogram_png
    from ..core.files import atomic_write
    from ..core.pipeline import Pipeline
    from ..core.registry import get_transform, transform_names
    from ..image.io import make_grid, read_image, write_image
    from ..tabular.io import before_after, read_csv
    from .info import summary

    folder = Path(out)
    names = [n for m in MODALITIES for n in transform_names(m)]
    img = read_image(image)
    clip, info = read_audio(audio)
    csv = read_csv(table)
    others = sorted({n.split(".", 1)[0] for n in transform_names()} - set(MODALITIES))
    page = ["# Gallery", "", f"Every image, audio and tabular transform at three levels of its main parameter, made by "
            f"`augnoise gallery` from `{image}`, `{audio}` and `{table}`. Not shown: the "
            f"{', '.join(f'`{o}.*`' for o in others)} steps, which act in the batch stage on a model's inputs "
            f"or targets rather than on a sample (see their guide pages).", ""]
    written = 0
    for name in tqdm(names, desc="augnoise gallery", unit="transform", file=sys.stderr, disable=None, leave=False):
        made = _steps(name)
        cls = get_transform(name)
        page += [f"## {name}", "", summary(cls.__doc__ or ""), ""]
        if made is None:
            page += ["(no level parameter to vary)", ""]
            continue
        param, steps = made
        levels = [getattr(s.params, param) for s in steps]
        stem = name.replace(".", "_")
        if cls.modality == "image":
            outs = [Pipeline(sample=[s], seed=0)(img, index=0) for s in steps]
            path = write_image(folder / f"{stem}.png", make_grid([img, *outs], ["original", *[_label(param, v) for v in levels]]))
            page += [f"![{name}]({path.name})", ""]
        elif cls.modality == "audio":
            outs = [Pipeline(sample=[s], seed=0)({"audio": clip, "sample_rate": info.sample_rate}, index=0)["audio"]
                    for s in steps]
            path = spectrogram_png(folder / f"{stem}.png", [clip, *outs],
                                   ["original", *[f"{name} {_label(param, v)}" for v in levels]], info.sample_rate)
            page += [f"![{name}]({path.name})", ""]
        else:
            views = []
            for s, v in zip(steps, levels):
                p = Pipeline(sample=[s], seed=0)
                p.fit(features=csv.x, names=csv.names, kinds=csv.frame_kinds)
                views.append(f"{_label(param, v)}:\n{before_after(csv, p({'features': csv.x}, index=0)['features'], rows=3)}")
            path = atomic_write(folder / f"{stem}.txt", "\n\n".join(views) + "\n")
            page += ["```text", *"\n\n".join(views).splitlines(), "```", ""]
        written += 1
        print(f"wrote {path}")
    index = atomic_write(folder / "gallery.md", "\n".join(page) + "\n")
    print(f"wrote {index} ({written} transforms)")
    return 0
