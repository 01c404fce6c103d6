"""Ray Data integration: the same sample stage over a ``ray.data.Dataset``, with the same bytes.

``augment(ds, pipeline, ...)`` maps the pipeline over the dataset with ``map_batches`` and a
callable class (one pipeline instance per actor, ``batch_format="numpy"``). Every row is
augmented alone, keyed by ``(seed, epoch, row id)``: exactly what the DataLoader path gives for
index = row id, whatever the block size, batch size or actor count. The row id is a column you
name; without one it is created from the input order (which must then be stable). The pipeline
travels to the actors as YAML text with its fitted tabular statistics inline.

A row that cannot be augmented keeps its input values and gets the message in the
``augnoise_error`` column (empty for the others), so no other row is lost.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .core.config import _loads
from .core.errors import AugnoiseError
from .core.pipeline import Pipeline

ERROR_COLUMN = "augnoise_error"


def _num_rows(table: Any) -> int:
    return int(table.num_rows)


def _add_ids(table: Any, start: int, column: str) -> Any:
    import pyarrow as pa

    return table.append_column(column, pa.array(np.arange(start, start + table.num_rows, dtype=np.int64)))


def with_row_ids(ds: Any, column: str = "row_id") -> Any:
    """``ds`` with a ``column`` of row numbers in input order (execution keeps the order).

    Built from public APIs only: the dataset's Arrow blocks in order, their row counts, and
    each block extended with its range of numbers (no ``Dataset.zip``)."""
    import ray

    ray.data.DataContext.get_current().execution_options.preserve_order = True
    refs = ds.to_arrow_refs()
    count = ray.remote(_num_rows)
    counts = ray.get([count.remote(r) for r in refs])
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(int).tolist()
    add = ray.remote(_add_ids)
    return ray.data.from_arrow_refs([add.remote(r, s, column) for r, s in zip(refs, starts)])


class _Augment:
    """Callable class for ``map_batches``: one pipeline per actor."""

    def __init__(self, text: str, id_column: str, epoch: int, field: str, columns: Sequence[str] | None,
                 base_dir: str | None = None) -> None:
        # the driver built (and checked) this pipeline; its dump is trusted like the object
        self.pipeline: Pipeline = _loads(text, "<ray>", base_dir, confine=False)
        self.id_column, self.epoch, self.field, self.columns = id_column, int(epoch), field, columns

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        ids = batch[self.id_column]
        out = dict(batch)
        errors = np.full(len(ids), "", dtype=object)
        if self.columns is not None:  # tabular: one row of features per record, vectorised
            common = np.result_type(*[np.asarray(batch[c]).dtype for c in self.columns])
            work = common if common.kind == "f" else np.float64  # float columns keep their precision
            x = np.stack([np.asarray(batch[c], work) for c in self.columns], axis=1)
            y, failures = self.pipeline.apply_rows(x, np.asarray(ids).astype(np.int64), epoch=self.epoch, errors="keep")
            for i, msg in failures:
                errors[i] = f"row {int(ids[i])}: {msg}"
            for j, c in enumerate(self.columns):
                col = batch[c]
                out[c] = np.rint(y[:, j]).astype(col.dtype) if col.dtype.kind in "iu" else y[:, j].astype(col.dtype)
        else:
            values = batch[self.field]
            try:  # every row keyed alone; vectorised when the rows stack
                results = self.pipeline.apply_many(list(values), [int(r) for r in ids], epochs=self.epoch)
            except AugnoiseError:  # find the failing rows, keep the others
                results = []
                for i, rid in enumerate(ids):
                    try:
                        results.append(self.pipeline({self.field: values[i]}, index=int(rid), epoch=self.epoch)[self.field])
                    except AugnoiseError as err:
                        errors[i] = f"row {int(rid)}: {err}"
                        results.append(values[i])
            try:
                out[self.field] = np.stack(results)
            except ValueError:  # ragged shapes
                arr = np.empty(len(results), dtype=object)
                arr[:] = results
                out[self.field] = arr
        out[ERROR_COLUMN] = errors.astype(str)
        return out


def augment(ds: Any, pipeline: Pipeline, *, field: str = "image", columns: Sequence[str] | None = None,
            id_column: str = "row_id", epoch: int = 0, batch_size: int | str | None = "auto", concurrency: int = 1,
            num_cpus: float = 1.0, base_dir: str | None = None, **ray_remote_args: Any) -> Any:
    """Map ``pipeline``'s sample stage over ``ds`` (see the module doc).

    Images (or audio): ``field`` names the column. Tables: ``columns`` lists the feature columns
    (``[]``/None with ``field="features"`` means every column but the id), every row keyed
    alone as in the DataLoader, in vectorised passes (``Pipeline.apply_rows``). ``concurrency``
    actors of ``num_cpus`` each; leave CPUs for the read tasks (all CPUs on actors can stall
    the reads). ``batch_size="auto"``: 65,536 rows for tables (vectorised, so large batches
    pay off), 256 for images and audio. Other keyword arguments go to ``map_batches`` (e.g.
    ``resources=``).
    """
    names = ds.schema().names
    if id_column not in names:
        ds = with_row_ids(ds, id_column)
        names = [*names, id_column]
    if field == "features" and not columns:
        columns = [c for c in names if c != id_column]
    if batch_size == "auto":
        batch_size = 65536 if columns else 256
    kwargs = dict(text=pipeline.dumps(), id_column=id_column, epoch=epoch, field=field, columns=columns, base_dir=base_dir)
    import ray

    return ds.map_batches(_Augment, fn_constructor_kwargs=kwargs, batch_format="numpy", batch_size=batch_size,
                          compute=ray.data.ActorPoolStrategy(size=concurrency), num_cpus=num_cpus, **ray_remote_args)
