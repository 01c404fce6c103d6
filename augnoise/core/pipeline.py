"""The Pipeline: a seed, a per-sample stage and a batch stage of steps, and its sections."""
from __future__ import annotations

import hashlib
import json
import threading
import warnings
import weakref
from types import MappingProxyType
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from .arrays import is_array, like, numpy_view
from .context import Context
from .errors import AugnoiseError, InputError, KeyReuseWarning, ParamError, escape, locate
from .fields import FieldsSection
from .keys import (BATCH_STAGE, MAX_EPOCH, MAX_OCCURRENCE, SAMPLE_STAGE, Tree, batch_rand, check_key_part,
                   key_array, sample_rand)
from .sections import SECTIONS, Section
from .params import show
from .transform import SHARED, NotStackable, Recorder, Replayer, Sample, Step

#: the format tag of records (``pipeline(..., record=True)``); a record carries it as
#: ``{"augnoise_record": RECORD_VERSION, ...}``
RECORD_VERSION = 1

#: rows per vectorised call of :meth:`Pipeline.apply_rows` (bounds the memory of the keys)
ROWS_PER_CALL = 1 << 16


def fresh_seed() -> int:
    """A new pipeline seed from OS entropy (used when none is given; it is then recorded)."""
    return int(np.random.SeedSequence().entropy % (2**63))


def stage_problems(steps: Sequence[Step], stage: str, fields: Any = None) -> list[tuple[str, str, str]]:
    """``(position, step name, message)`` for every step that cannot stand in ``stage``, or
    cannot honour the ``fields`` section's declarations for the fields it acts on."""
    out: list[tuple[str, str, str]] = []
    specs = getattr(fields, "specs", {})

    def visit(step: Step, pos: str) -> None:
        msg = step.stage_problem(stage) or (step.field_problem(specs) if specs and not step.children() else "")
        if msg:
            out.append((pos, step.name, msg))
        for j, child in enumerate(step.children()):
            visit(child, f"{pos}.{j + 1}")

    for i, s in enumerate(steps):
        visit(s, str(i + 1))
    return out


_PLAIN = (np.ndarray, int, float, str, bytes, bool, np.generic, type(None))


def _item_types(sample: Mapping[str, Any]) -> Mapping[str, str]:
    """``{field: "torch"}`` for the fields that are tensors (numpy needs no entry: it is the
    default for the kernels' zero-copy views), so layout defaults follow the caller's type."""
    out = {}
    for k, v in sample.items():
        if not isinstance(v, _PLAIN) and is_array(v):
            out[k] = type(v).__module__.split(".", 1)[0]
    return MappingProxyType(out) if out else MappingProxyType({})


def walk(steps: Iterable[Step]) -> Iterable[Step]:
    """Every step, nested ones included, depth first."""
    for s in steps:
        yield from s.walk()


class Pipeline:
    """Noise pipeline: ``sample`` steps run per sample (numpy, in DataLoader workers), ``batch``
    steps run on collated batches on the device. ``sections`` are pipeline-level blocks that
    modalities own (e.g. ``tabular``: column kinds and fitted statistics); ``fields`` declares
    per-field conventions (layout, value range, normalisation; see :mod:`augnoise.core.fields`),
    e.g. ``fields={"image": {"layout": "CHW", "normalize": {"mean": [0.5], "std": [0.25]}}}``.

    Every random number of a call is a function of ``(seed; stage, epoch, index, occurrence,
    step path)`` only (see :mod:`augnoise.core.keys`), so a sample's augmentation depends on
    nothing else: not worker count, order, threads, batch size or batch composition.

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
                 sections: Mapping[str, Section] | None = None, fields: Mapping[str, Any] | None = None) -> None:
        if seed is None:
            seed = fresh_seed()
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**63:
            raise ParamError("Pipeline", [("seed", f"must be an integer in [0, 2**63), got {seed!r}")])
        for stage, steps in (("sample", sample), ("batch", batch)):
            if isinstance(steps, (Step, str, bytes)) or not isinstance(steps, Iterable):
                raise ParamError("Pipeline", [(stage, f"must be a list of steps, got {type(steps).__name__}")])
            for s in steps:
                if not isinstance(s, Step):
                    raise ParamError("Pipeline", [(stage, f"items must be augnoise steps, got {s!r}")])
        if fields is not None:
            if sections and "fields" in sections:
                raise ParamError("Pipeline", [("fields", "give fields= or sections['fields'], not both")])
            try:
                sections = {**(sections or {}), "fields": FieldsSection.from_data(fields)}
            except ValueError as err:
                raise ParamError("Pipeline", [("fields", str(err))]) from None
        declared = (sections or {}).get("fields")
        problems = [(stage, f"step {pos} ({name}): {msg}") for stage, steps in (("sample", sample), ("batch", batch))
                    for pos, name, msg in stage_problems(list(steps), stage, declared)]
        if problems:
            raise ParamError("Pipeline", problems)
        self.seed = int(seed)
        self.sample: tuple[Step, ...] = tuple(sample)
        self.batch: tuple[Step, ...] = tuple(batch)
        self.sections: dict[str, Section] = {}
        for key, sec in (sections or {}).items():
            if not isinstance(sec, Section) or sec.key != key:
                raise ParamError("Pipeline", [("sections", f"{key!r} must be a {key} section, got {sec!r}")])
            self.sections[key] = sec
        for step in walk([*self.sample, *self.batch]):
            for key in getattr(step, "sections", ()):
                if key not in self.sections:
                    self.sections[key] = SECTIONS[key]()
        self._trees = {SAMPLE_STAGE: Tree(self.sample), BATCH_STAGE: Tree(self.batch)}
        self._sections_view = MappingProxyType(self.sections)
        self._primary = self._find_primary_field()
        self._last_batch: tuple[Any, ...] | None = None  # (keys digest, weak reference to the data)
        self._reuse_warned = False
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        del state["_lock"], state["_last_batch"], state["_sections_view"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()
        self._last_batch = None
        self._sections_view = MappingProxyType(self.sections)

    # -- sections -----------------------------------------------------------------------------
    def section(self, key: str) -> Section:
        """The section ``key`` (e.g. ``"tabular"``); KeyError if the pipeline has none."""
        return self.sections[key]

    def fit(self, *args: Any, **kwargs: Any) -> "Pipeline":
        """Fit the statistics the pipeline's steps need (each fittable section's ``fit``; for
        tables: ``fit(features=X, names=None, kinds=None)``, see the tabular section)."""
        fittable = [s for s in self.sections.values() if s.fittable]
        if not fittable:
            raise InputError("nothing to fit: no step of this pipeline uses fitted statistics")
        for sec in fittable:
            sec.fit(*args, **kwargs)
        return self

    def with_seed(self, seed: int) -> "Pipeline":
        """The same steps and sections (copied) under another seed."""
        return Pipeline(self.sample, self.batch, seed=seed, sections={k: s.copy() for k, s in self.sections.items()})

    @property
    def primary_field(self) -> str:
        """The field of the first leaf step (what a bare array stands for); ``image`` if none."""
        return self._primary

    def _find_primary_field(self) -> str:
        for step in walk([*self.sample, *self.batch]):
            if not step.children() and step.fields():
                return getattr(step, "field", None) or sorted(step.fields())[0]
        return "image"

    def _context(self, stage: int, **kw: Any) -> Context:
        return Context(stage=stage, sections=self._sections_view, **kw)

    # -- running ------------------------------------------------------------------------------
    def __call__(self, data: Any, *, index: int | None = None, epoch: int = 0, occurrence: int = 0,
                 trace: list | None = None, record: bool = False) -> Any:
        """Run the sample stage on one sample dict (or a bare array, the pipeline's primary
        field) keyed by ``(seed, epoch, index, occurrence)``; returns a new dict (or array).
        ``index`` is required: it is what makes two samples' noise differ (a call without it is
        an error that says how to key the call). The input is not modified. Pass a list as
        ``trace`` to collect ``(step name, drawn values)`` of the applied steps.

        With ``record=True`` the call returns ``(output, record)``: ``record`` is plain
        JSON-serialisable data holding the parameters that were applied (see :meth:`replay`)."""
        if record is not False and record is not True:
            raise InputError(f"record must be true or false, got {show(record)}")
        if index is None:
            raise InputError(
                "pipeline(x) needs the sample's key: pass index= (the sample's position in its dataset) and "
                "epoch=; in a transforms chain use augnoise.torch.NoiseTransform inside augnoise.torch.KeyedDataset, "
                "for a HuggingFace dataset augnoise.torch.hf_transform, for a DataLoader augnoise.torch.make_loader")
        index = check_key_part("index", index, 2**64)
        epoch = check_key_part("epoch", epoch, MAX_EPOCH)
        occurrence = check_key_part("occurrence", occurrence, MAX_OCCURRENCE)
        tape = Recorder() if record else None
        out = self._run_sample(data, index, epoch, occurrence, trace, tape)
        if tape is None:
            return out
        return out, self._make_record(tape, index, epoch, occurrence)

    def _run_sample(self, data: Any, index: int, epoch: int, occurrence: int, trace: list | None,
                    tape: Any) -> Any:
        bare = not isinstance(data, Mapping)
        if bare and not is_array(data):
            raise InputError(f"a sample must be a dict of fields or an array, got {type(data).__name__}")
        field = self.primary_field if bare else ""
        sample: Sample = {field: data} if bare else dict(data)
        if self.sample:
            rands = sample_rand(self._trees[SAMPLE_STAGE], self.seed, SAMPLE_STAGE, epoch, index, occurrence)
            ctx = self._context(SAMPLE_STAGE, epoch=epoch, index=index, occurrence=occurrence, trace=trace,
                                item_types=_item_types(sample))
            for i, (step, r) in enumerate(zip(self.sample, rands)):
                r.tape = tape
                try:
                    sample = step.run(sample, r, ctx)
                except InputError as err:
                    raise locate(err, i + 1, step.name) from None
                except Exception as err:  # noqa: BLE001 - only a replayed record's values can get here
                    if not isinstance(tape, Replayer) or isinstance(err, AugnoiseError):
                        raise
                    raise InputError(f"step {i + 1} ({step.name}): the record's values could not be applied: "
                                     f"{type(err).__name__}: {escape(err)}") from None
        return sample[field] if bare else sample

    # -- records ------------------------------------------------------------------------------
    def _digests(self) -> list[str]:
        """Per node of the sample tree: a short digest of the step's own configuration (its
        children left out), so a record names the step whose configuration differs."""
        cached = self.__dict__.get("_digest_cache")
        if cached is None:
            cached = []
            for step in self._trees[SAMPLE_STAGE].steps:
                (name, params), = step.to_config().items()
                own = {k: v for k, v in (params or {}).items() if k != "transforms"} if step.children() else params
                text = json.dumps([name, own], sort_keys=True, default=repr)
                cached.append(hashlib.sha256(text.encode()).hexdigest()[:16])
            self.__dict__["_digest_cache"] = cached
        return cached

    def _make_record(self, tape: Recorder, index: int, epoch: int, occurrence: int) -> dict[str, Any]:
        tree = self._trees[SAMPLE_STAGE]
        digests = dict(zip(tree.paths, self._digests()))
        steps = {}
        for path, e in tape.steps.items():
            steps[path] = {"name": e["name"], "config": digests[path],
                           **{k: v for k, v in e.items() if k != "name"}}
        return {"augnoise_record": RECORD_VERSION, "seed": self.seed, "stage": "sample", "index": index,
                "epoch": epoch, "occurrence": occurrence, "steps": steps}

    def replay(self, data: Any, record: Mapping[str, Any]) -> Any:
        """Apply exactly the parameters of ``record`` (what ``pipeline(x, index=..., record=True)``
        returned, or its JSON round trip) to ``data``, a sample dict or a bare array; returns
        what a normal call returns.

        Every step gets the record's probability test, drawn values, composite choices and kernel
        keys, so replaying on the recorded sample gives the recorded output byte for byte, and
        replaying on another sample applies the same parameters and the same noise streams to
        it. A record is checked first: it must come from a pipeline with these steps (names and
        configurations, path by path) and this seed; each value must be of the kind the step
        draws and pass the step's own parameter checks (an edited ``std`` is fine within the
        step's bounds). Problems are :class:`InputError` naming the step."""
        tape, index, epoch, occurrence = self._check_record(record)
        return self._run_sample(data, index, epoch, occurrence, None, tape)

    def _check_record(self, record: Any) -> tuple[Replayer, int, int, int]:
        if not isinstance(record, Mapping):
            raise InputError(f"record must be a mapping (what pipeline(x, index=..., record=True) returns), "
                             f"got {type(record).__name__}")
        if record.get("augnoise_record") != RECORD_VERSION:
            raise InputError(f"record: augnoise_record: must be {RECORD_VERSION} (an augnoise record of this "
                             f"version), got {show(record.get('augnoise_record'))}")
        seed = record.get("seed")
        if seed != self.seed or isinstance(seed, bool):
            raise InputError(f"record: seed: the record was made by a pipeline with seed {show(seed)}, this "
                             f"pipeline has seed {self.seed}")
        if record.get("stage") != "sample":
            raise InputError(f"record: stage: only sample-stage records can be replayed, got "
                             f"{show(record.get('stage'))}")
        parts = []
        for name, limit in (("index", 2**64), ("epoch", MAX_EPOCH), ("occurrence", MAX_OCCURRENCE)):
            try:
                parts.append(check_key_part(name, record.get(name), limit))
            except (TypeError, ValueError):
                raise InputError(f"record: {name}: must be an integer in [0, {limit}), "
                                 f"got {show(record.get(name))}") from None
        steps = record.get("steps")
        if not isinstance(steps, Mapping):
            raise InputError(f"record: steps: must be a mapping of step paths to entries, got {show(steps)}")
        tree = self._trees[SAMPLE_STAGE]
        nodes = {path: node for node, path in enumerate(tree.paths)}
        digests = self._digests()
        for path, entry in steps.items():
            node = nodes.get(path) if isinstance(path, str) else None
            label = escape(path, 40) if isinstance(path, str) else show(path)
            if node is None:
                raise InputError(f"record: step {label}: this pipeline has no such step (its sample steps: "
                                 f"{', '.join(tree.paths) or 'none'}): a record from another pipeline")
            here = tree.steps[node].name
            if not isinstance(entry, Mapping):
                raise InputError(f"step {path} ({here}): record: must be a mapping, got {show(entry)}")
            if entry.get("name") != here:
                raise InputError(f"step {path} ({here}): record: name: the record has {show(entry.get('name'))} "
                                 f"here: a record from another pipeline")
            if entry.get("config") != digests[node]:
                raise InputError(f"step {path} ({here}): record: config: the record was made with other parameters "
                                 f"for this step ({show(entry.get('config'))}, this step: {digests[node]}): a record "
                                 f"from another pipeline")
        missing = [p for p in tree.paths if "." not in p and p not in steps]
        if missing:
            raise InputError(f"step {missing[0]} ({tree.steps[nodes[missing[0]]].name}): record: has no entry for "
                             f"this step: a record from another pipeline, or cut")
        return Replayer(steps), parts[0], parts[1], parts[2]

    def _run_steps(self, stage: int, data: Sample, indices: np.ndarray, epochs: np.ndarray,
                   occurrences: np.ndarray, ctx: Context) -> Sample:
        steps = self.sample if stage == SAMPLE_STAGE else self.batch
        if not steps:
            return data
        rands = batch_rand(self._trees[stage], self.seed, stage, indices, epochs, occurrences)
        gate = np.ones(indices.shape[0], bool)
        for k, (step, r) in enumerate(zip(steps, rands)):
            if stage == BATCH_STAGE and step.same_on_batch:
                r.tape = SHARED  # one draw per batch: the first row's (see Pipeline.apply_batch)
            try:
                data = step.run_batch(data, r, gate, ctx)
            except InputError as err:
                raise locate(err, k + 1, step.name, batch=stage == BATCH_STAGE) from None
        return data

    def apply_many(self, samples: Sequence[Any], indices: Sequence[int], epochs: Sequence[int] | int = 0,
                   occurrences: Sequence[int] | int = 0) -> list[Any]:
        """The sample stage over several samples at once, each keyed by its own ``(epoch,
        index, occurrence)``: the same bytes as calling the pipeline on each. Samples whose
        fields stack (same shapes and dtypes) run through every kernel once, vectorised."""
        n = len(samples)
        if len(indices) != n:
            raise InputError(f"{n} samples but {len(indices)} indices")
        idx = key_array("indices", np.asarray(indices), n, 2**64)
        eps = key_array("epochs", epochs, n, MAX_EPOCH)
        occ = key_array("occurrences", occurrences, n, MAX_OCCURRENCE)
        bare = [not isinstance(s, Mapping) for s in samples]
        field = self.primary_field
        dicts = [{field: s} if b else dict(s) for s, b in zip(samples, bare)]
        stacked = self._stack(dicts)
        result = None
        if stacked is not None:
            ctx = self._context(SAMPLE_STAGE, epoch=eps.astype(np.int64), index=idx, occurrence=occ.astype(np.int64))
            try:
                result = self._run_steps(SAMPLE_STAGE, dict(stacked), idx, eps, occ, ctx)
            except NotStackable:
                result = None
        if result is None:
            outs = [self(d, index=int(i), epoch=int(e), occurrence=int(o)) for d, i, e, o in zip(dicts, idx, eps, occ)]
        else:
            changed = [f for f, v in result.items() if f not in stacked or v is not stacked[f]]
            outs = []
            for b, d in enumerate(dicts):
                o = dict(d)
                for f in changed:
                    o[f] = result[f][b]
                outs.append(o)
        return [o[field] if b else o for o, b in zip(outs, bare)]

    def _stack(self, dicts: list[Sample]) -> Sample | None:
        """The fields the sample steps use, stacked over samples, or None when they do not
        stack (missing fields, other types, different shapes or dtypes)."""
        if not dicts or not self.sample:
            return None
        used = set().union(*(s.fields() for s in self.sample))
        out: Sample = {}
        for f in used:
            present = [f in d for d in dicts]
            if not any(present):
                continue
            if not all(present):
                return None
            vals = [d[f] for d in dicts]
            first = vals[0]
            if not isinstance(first, np.ndarray) or first.dtype.kind not in "biuf" or any(
                    not isinstance(v, np.ndarray) or v.shape != first.shape or v.dtype != first.dtype for v in vals):
                return None
            out[f] = np.stack(vals)
        return out

    def apply_batch(self, batch: Any, indices: Any, *, epoch: int = 0, occurrence: Any = 0, model: Any = None,
                    targets: Any = None, loss_fn: Any = None, item_types: Mapping[str, str] | None = None) -> Any:
        """Run the batch stage on a collated batch (a dict of fields, or one array or tensor
        for the primary field), keyed per sample by ``(seed, epoch, indices[b], occurrence)``.
        Tensors on the CPU run the numpy (numba) kernels on their memory; other devices run the
        torch kernels. Adversarial steps need ``model`` and ``targets`` (and use ``loss_fn``,
        default cross-entropy). ``item_types`` tells, per field, the array type the samples had
        before collation (the loader passes ``{"image": "numpy"}`` for numpy images, which
        collate to channels-last batches); declared ``fields`` layouts take precedence.
        Returns a new dict (or array).

        A step with ``same_on_batch: true`` draws its parameters once per batch: the batch's
        first row's probability test, values and composite choices go to every row (kernel
        keys, the noise streams, stay per row). This is a deliberate, opt-in exception to keying
        by sample: with it, a row's parameters depend on which sample leads its batch.

        Batches with no dataset indices (a GAN's generated batch, say) need keys that change
        from call to call, e.g. ``indices = step * B + arange(B)``: calling again with the same
        indices, epoch and occurrences on other data warns once (:class:`KeyReuseWarning`),
        because the noise would repeat."""
        idx_list = indices.tolist() if hasattr(indices, "tolist") else list(indices)
        n = len(idx_list)
        idx = key_array("indices", np.asarray(idx_list, dtype=np.int64) if n else np.zeros(0, np.int64), n, 2**64)
        epoch = check_key_part("epoch", epoch, MAX_EPOCH)
        occ = key_array("occurrence", occurrence, n, MAX_OCCURRENCE)
        bare = not isinstance(batch, Mapping)
        field = self.primary_field
        data: Sample = {field: batch} if bare else dict(batch)
        self._check_reuse(batch if bare else next(iter(batch.values()), None), idx, epoch, occ)
        types = {**_item_types(data), **(item_types or {})}
        originals = {}
        for f, v in list(data.items()):
            if not isinstance(v, np.ndarray):
                view = numpy_view(v) if is_array(v) else None
                if view is not None:
                    originals[f] = v
                    data[f] = view
        ctx = self._context(BATCH_STAGE, epoch=epoch, index=idx, occurrence=occ.astype(np.int64), model=model,
                            targets=targets, loss_fn=loss_fn, item_types=MappingProxyType(types))
        data = self._run_steps(BATCH_STAGE, data, idx, np.full(n, epoch, np.uint64), occ, ctx)
        for f, orig in originals.items():
            v = data.get(f)
            if v is numpy_view(orig) or (isinstance(v, np.ndarray) and np.shares_memory(v, numpy_view(orig))):
                data[f] = orig  # untouched: the caller's own tensor
            elif isinstance(v, np.ndarray):
                data[f] = like(v, orig)
        return data[field] if bare else data

    def _check_reuse(self, data: Any, idx: np.ndarray, epoch: int, occ: np.ndarray) -> None:
        """Warn once when the keys of the previous batch call come again with other data."""
        if self._reuse_warned or data is None:
            return
        digest = (epoch, idx.tobytes(), occ.tobytes())
        try:
            ref = weakref.ref(data)
        except TypeError:
            return
        with self._lock:
            last, self._last_batch = self._last_batch, (digest, ref)
        if last is not None and last[0] == digest and last[1]() is not data and idx.size:
            self._reuse_warned = True
            warnings.warn("apply_batch was called again with the same indices, epoch and occurrences on other data: "
                          "the noise repeats; give each batch its own keys (e.g. indices = step * B + arange(B) for "
                          "generated batches, or the loader's keys)", KeyReuseWarning, stacklevel=3)

    def apply_rows(self, table: Any, indices: Any, *, epoch: int = 0, occurrence: int = 0,
                   errors: str = "raise") -> Any:
        """The sample stage over every row of a 2-D table (array or DataFrame) at once, row
        ``r`` keyed by ``indices[r]``: equal row for row to calling the pipeline on each row
        (``{field: table[r]}``), in one vectorised pass per step.

        With ``errors="keep"`` a row that cannot be augmented keeps its values and the call
        returns ``(table, failures)``: ``(row position, message)`` for each failed row."""
        if errors not in ("raise", "keep"):
            raise ValueError(f"errors must be 'raise' or 'keep', got {errors!r}")
        n = len(table)
        idx = key_array("indices", np.asarray(indices) if not isinstance(indices, range) else np.arange(
            indices.start, indices.stop, indices.step, dtype=np.int64), n, 2**64)
        epoch = check_key_part("epoch", epoch, MAX_EPOCH)
        occurrence = check_key_part("occurrence", occurrence, MAX_OCCURRENCE)
        field = self.primary_field
        chunk = ROWS_PER_CALL if isinstance(table, np.ndarray) else max(n, 1)
        parts, messages = [], []
        for a in range(0, max(n, 1), chunk):
            sub = table[a:a + chunk] if isinstance(table, np.ndarray) else table
            sub_idx = idx[a:a + chunk]
            try:
                parts.append(self._rows(sub, sub_idx, epoch, occurrence, field))
            except AugnoiseError:
                if errors == "raise":
                    raise
                out, msgs = self._rows_one_by_one(sub, sub_idx, epoch, occurrence, field)
                parts.append(out)
                messages += [(a + r, m) for r, m in msgs]
        out = parts[0] if len(parts) == 1 else np.concatenate(parts)
        return (out, messages) if errors == "keep" else out

    def _rows(self, table: Any, idx: np.ndarray, epoch: int, occurrence: int, field: str) -> Any:
        m = idx.shape[0]
        ctx = self._context(SAMPLE_STAGE, epoch=epoch, index=idx, occurrence=occurrence)
        eps = np.full(m, epoch, np.uint64)
        occ = np.full(m, occurrence, np.uint64)
        return self._run_steps(SAMPLE_STAGE, {field: table}, idx, eps, occ, ctx)[field]

    def _rows_one_by_one(self, table: Any, idx: np.ndarray, epoch: int, occurrence: int,
                         field: str) -> tuple[Any, list[tuple[int, str]]]:
        rows, messages = [], []
        for r in range(len(idx)):
            row = table[r:r + 1] if isinstance(table, np.ndarray) else table.iloc[r:r + 1]
            try:
                rows.append(self._rows(row, idx[r:r + 1], epoch, occurrence, field))
            except AugnoiseError as err:
                messages.append((r, str(err)))
                rows.append(row)
        if isinstance(table, np.ndarray):
            return (np.concatenate(rows) if rows else table.copy()), messages
        import importlib

        concat = getattr(importlib.import_module(type(table).__module__.split(".")[0]), "concat")
        return concat(rows), messages

    # -- configuration ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (what :meth:`dumps` writes; section data inline)."""
        out: dict[str, Any] = {"seed": self.seed}
        for key, sec in self.sections.items():
            cfg = sec.to_config(inline=True)
            if cfg:
                out[key] = cfg
        out["sample"] = [s.to_config() for s in self.sample]
        out["batch"] = [s.to_config() for s in self.batch]
        return out

    def dumps(self) -> str:
        """YAML text that :func:`augnoise.loads` turns back into an equal pipeline, seed included."""
        from .config import dumps

        return dumps(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Pipeline) and other.to_dict() == self.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:  # noqa: D105
        return f"Pipeline(seed={self.seed}, sample={list(self.sample)!r}, batch={list(self.batch)!r})"
