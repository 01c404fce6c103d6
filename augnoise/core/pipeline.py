"""The Pipeline: a seed, a per-sample stage and a batch stage of steps."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from .errors import InputError, ParamError
from .rng import SAMPLE_STAGE, fresh_seed, step_generator
from .transform import Sample, Step


class StepFailed(InputError):
    """An :class:`InputError` located at a pipeline step (``step 2.1 (image.ShotNoise): ...``)."""


def locate(err: InputError, position: int, step: Step) -> InputError:
    """Prefix an input error with the step it happened in; nested positions join with dots."""
    path = [position, *getattr(err, "path", [])]
    name = getattr(err, "step_name", None) or step.name
    msg = getattr(err, "bare", str(err))
    new = StepFailed(f"step {'.'.join(map(str, path))} ({name}): {msg}")
    new.path, new.step_name, new.bare = path, name, msg  # type: ignore[attr-defined]
    return new


class Pipeline:
    """Noise pipeline: ``sample`` steps run per sample (numpy, in DataLoader workers), ``batch``
    steps run on collated batches on the device.

    Every step of a call draws from the generator keyed by ``(seed, epoch, index, step path)``,
    so a sample's augmentation depends on nothing else (not worker count, order or threads).

    >>> import numpy as np, augnoise
    >>> from augnoise.image import GaussianNoise
    >>> pipe = augnoise.Pipeline(sample=[GaussianNoise(std=0.1)], seed=7)
    >>> img = np.full((4, 4, 3), 128, np.uint8)
    >>> out = pipe({"image": img}, index=3, epoch=0)
    >>> out["image"].dtype, out["image"].shape
    (dtype('uint8'), (4, 4, 3))
    >>> bool((pipe(img, index=3) == out["image"]).all())   # a bare array works too; same key, same output
    True
    """

    def __init__(self, sample: Sequence[Step] = (), batch: Sequence[Step] = (), seed: int | None = None) -> None:
        if seed is None:
            seed = fresh_seed()
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**63:
            raise ParamError("Pipeline", [("seed", f"must be an integer in [0, 2**63), got {seed!r}")])
        for stage, steps in (("sample", sample), ("batch", batch)):
            for s in steps:
                if not isinstance(s, Step):
                    raise ParamError("Pipeline", [(stage, f"items must be augnoise steps, got {s!r}")])
        if batch:
            raise ParamError("Pipeline", [("batch", "the batch stage (torch, on the device) is not available in this version yet; keep it empty")])
        self.seed = int(seed)
        self.sample = list(sample)
        self.batch = list(batch)

    def __call__(self, data: Any, *, index: int = 0, epoch: int = 0, trace: list | None = None) -> Any:
        """Run the sample stage on one sample dict (or a bare image array) keyed by
        ``(seed, epoch, index)``; returns a new dict (or array). The input is not modified.
        Pass a list as ``trace`` to collect ``(step name, drawn parameters)`` of applied steps."""
        bare = isinstance(data, np.ndarray)
        if bare:
            sample: Sample = {"image": data}
        elif isinstance(data, Mapping):
            sample = dict(data)
        else:
            raise InputError(f"a sample must be a dict of fields or a numpy array, got {type(data).__name__}")
        for i, step in enumerate(self.sample):
            rng = step_generator(self.seed, epoch=epoch, index=index, path=(i,), stage=SAMPLE_STAGE)
            try:
                sample = step(sample, rng, trace)
            except InputError as err:
                raise locate(err, i + 1, step) from None
        return sample["image"] if bare else sample

    # -- configuration ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (what :meth:`dumps` writes)."""
        return {
            "seed": self.seed,
            "sample": [s.to_config() for s in self.sample],
            "batch": [s.to_config() for s in self.batch],
        }

    def dumps(self) -> str:
        """YAML text that :func:`augnoise.loads` turns back into an equal pipeline, seed included."""
        from .config import dumps

        return dumps(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Pipeline) and other.to_dict() == self.to_dict()

    def __repr__(self) -> str:
        return f"Pipeline(seed={self.seed}, sample={self.sample!r}, batch={self.batch!r})"
