"""The Pipeline: a seed, a per-sample stage and a batch stage of steps."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from .errors import InputError, ParamError
from .rng import SAMPLE_STAGE, fresh_seed, sample_randoms
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

    def __init__(self, sample: Sequence[Step] = (), batch: Sequence[Step] = (), seed: int | None = None,
                 tabular: Any = None) -> None:
        if seed is None:
            seed = fresh_seed()
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**63:
            raise ParamError("Pipeline", [("seed", f"must be an integer in [0, 2**63), got {seed!r}")])
        for stage, steps in (("sample", sample), ("batch", batch)):
            for s in steps:
                if not isinstance(s, Step):
                    raise ParamError("Pipeline", [(stage, f"items must be augnoise steps, got {s!r}")])
        for s in _walk(list(sample)):
            if getattr(s, "batch_only", None):
                raise ParamError("Pipeline", [("sample", f"{s.name}: {s.batch_only}")])
        for s in batch:
            problem = batch_problem(s)
            if problem:
                raise ParamError("Pipeline", [("batch", f"{s.name}: {problem}")])
        self.seed = int(seed)
        self.sample = list(sample)
        self.batch = list(batch)
        self._tabular = tabular
        if tabular is not None or _uses_tabular(self.sample):
            self._bind(self.tabular)

    @property
    def tabular(self) -> Any:
        """The shared :class:`~augnoise.tabular.schema.TabularSpec` (column declarations and
        fitted statistics) of this pipeline's tabular steps."""
        if self._tabular is None:
            from ..tabular.schema import TabularSpec

            self._tabular = TabularSpec()
        return self._tabular

    def _bind(self, spec: Any) -> None:
        for step in _walk(self.sample):
            if hasattr(step, "bind"):
                step.bind(spec)

    def fit(self, features: Any, names: Sequence[str] | None = None,
            kinds: Sequence[str | None] | None = None) -> "Pipeline":
        """Compute the column statistics tabular steps need (kinds not declared are inferred,
        mean, std, donor pools) from the training table ``features`` (a 2-D array or a
        DataFrame; NaN = missing). ``kinds`` optionally hints a kind per column (e.g. string
        columns of a CSV are categorical). The statistics stay with the pipeline; ``dump``
        saves them."""
        from ..tabular.frame import to_table
        from ..tabular.schema import fit_stats

        t = to_table(features)
        if t.x.ndim != 2 or (t.x.shape[0] < 2 and not hasattr(features, "columns")):
            raise InputError(f"fit needs the training table (rows, columns), got shape {getattr(features, 'shape', None)}")
        if names is not None:
            if t.names is not None and list(names) != t.names:
                raise InputError("names given but the DataFrame has its own column names")
            if len(names) != t.x.shape[1]:
                raise InputError(f"names has {len(names)} entries for {t.x.shape[1]} columns")
            t.names = [str(n) for n in names]
        if kinds is not None:
            if len(kinds) != t.x.shape[1]:
                raise InputError(f"kinds has {len(kinds)} entries for {t.x.shape[1]} columns")
            t.frame_kinds = [k or (t.frame_kinds[j] if t.frame_kinds else None) for j, k in enumerate(kinds)]
        spec = self.tabular
        spec.fitted = fit_stats(t.x, spec, t.names, t.frame_kinds)
        spec.sidecar = None
        self._bind(spec)
        return self

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
        rngs = sample_randoms(self.seed, epoch=epoch, index=index, n_steps=len(self.sample), stage=SAMPLE_STAGE)
        for i, (step, rng) in enumerate(zip(self.sample, rngs)):
            try:
                sample = step(sample, rng, trace)
            except InputError as err:
                raise locate(err, i + 1, step) from None
        return sample["image"] if bare else sample

    def apply_many(self, samples: Sequence[Any], indices: Sequence[int], epochs: Sequence[int] | int = 0) -> list[Any]:
        """The sample stage over several samples at once, step by step, each sample keyed by
        its own ``(seed, epoch, index)``: the same numbers as calling the pipeline on each.
        Steps with a vectorised ``apply_many`` (image.GaussianNoise) run once per batch."""
        n = len(samples)
        eps = [epochs] * n if isinstance(epochs, int) else list(epochs)
        bare = [isinstance(x, np.ndarray) for x in samples]
        cur: list[Sample] = [{"image": x} if b else dict(x) for x, b in zip(samples, bare)]
        rngs = [sample_randoms(self.seed, epoch=e, index=i, n_steps=len(self.sample)) for i, e in zip(indices, eps)]
        for k, step in enumerate(self.sample):
            step_rngs = [r[k] for r in rngs]
            try:
                many = getattr(step, "apply_many", None)
                cur = many(cur, step_rngs) if many else [step(x, r) for x, r in zip(cur, step_rngs)]
            except InputError as err:
                raise locate(err, k + 1, step) from None
        return [c["image"] if b else c for c, b in zip(cur, bare)]

    def apply_batch(self, batch: Any, indices: Any, *, epoch: int = 0, model: Any = None, targets: Any = None,
                    loss_fn: Any = None) -> Any:
        """Run the batch stage on a collated batch of torch tensors (any device), keyed per
        sample by ``(seed, epoch, indices[b])``. ``batch`` is a dict of fields (or one tensor,
        taken as the ``image`` field); returns a new dict (or tensor). Adversarial steps need
        ``model`` and ``targets`` (and use ``loss_fn``, default cross-entropy). See augnoise.torch."""
        from ..torch.batch import apply_batch

        return apply_batch(self, batch, indices, epoch=epoch, model=model, targets=targets, loss_fn=loss_fn)

    # -- configuration ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (what :meth:`dumps` writes; fitted statistics inline)."""
        out: dict[str, Any] = {"seed": self.seed}
        if self._tabular is not None:
            tab = self._tabular.to_config(inline=True)
            if tab:
                out["tabular"] = tab
        out["sample"] = [s.to_config() for s in self.sample]
        out["batch"] = [s.to_config() for s in self.batch]
        return out

    def dumps(self) -> str:
        """YAML text that :func:`augnoise.loads` turns back into an equal pipeline, seed included."""
        from .config import dumps

        return dumps(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Pipeline) and other.to_dict() == self.to_dict()

    def __repr__(self) -> str:  # noqa: D105
        return f"Pipeline(seed={self.seed}, sample={self.sample!r}, batch={self.batch!r})"


def _walk(steps: Sequence[Step]):
    for s in steps:
        yield s
        yield from _walk(getattr(s, "transforms", []))


def _uses_tabular(steps: Sequence[Step]) -> bool:
    return any(getattr(s, "modality", None) == "tabular" for s in _walk(steps))


def batch_problem(step: Step) -> str:
    """Why ``step`` cannot run in the batch stage ('' if it can)."""
    if not getattr(step, "batch_capable", False):
        return "has no batch-stage (torch) kernel; batch-stage steps: " + ", ".join(batch_capable_names())
    params = getattr(step, "params", None)
    if params is not None and getattr(params, "per_channel", True) is False and step.name == "image.GaussianNoise":
        return "per_channel: false is not supported in the batch stage"
    return ""


def batch_capable_names() -> list[str]:
    from .registry import get_transform, transform_names

    return [n for n in transform_names() if get_transform(n).batch_capable]
