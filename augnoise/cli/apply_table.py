"""``augnoise apply`` for a table file (CSV, or Parquet with pyarrow), local or on Ray.

Row r of copy k is augmented alone, keyed by ``(seed, epoch = k, index = r)``: the same as the
DataLoader path with index = row number, and the same on both engines. A pipeline without
fitted statistics is fitted on the table itself. A row that fails keeps its input values and is
reported with its row number; the output is written anyway, and the exit status is 1.

The same protections as the folder mode (:mod:`augnoise.cli.apply`): the run holds DST's lock
(a second run on the same DST exits at once), leftover temp files of its outputs are removed
under that lock, and no output may resolve (symlinks followed) to the source table: such a run
is refused before anything is written. Paths in messages are escaped.
"""
from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import numpy as np

from ..core.errors import InputError, escape
from ..core.files import atomic_write
from ..core.pipeline import Pipeline


class Table:
    def __init__(self, path: Path):
        self.path = path
        self.suffix = path.suffix.lower()
        if self.suffix == ".csv":
            from ..tabular.io import read_csv

            self.csv = read_csv(path)
            self.names, self.x = self.csv.names, self.csv.x
            self.frame_kinds = self.csv.frame_kinds
        elif self.suffix == ".parquet":
            try:
                import pyarrow.parquet as pq
            except ImportError:
                raise InputError(f"{path}: reading Parquet needs pyarrow (pip install 'augnoise[ray]')") from None
            t = pq.read_table(path)
            self.arrow_schema = t.schema
            cols = []
            for name, col in zip(t.column_names, t.columns):
                a = col.to_numpy(zero_copy_only=False)
                if a.dtype.kind not in "fiub":
                    raise InputError(f"{path}: column {name!r} is not numeric ({a.dtype})")
                cols.append(a.astype(np.float64))
            self.names, self.x = list(t.column_names), np.stack(cols, axis=1)
            self.frame_kinds = None
        else:
            raise InputError(f"{path}: a table SRC must be .csv or .parquet")

    def write(self, target: Path, y: np.ndarray) -> Path:
        if self.suffix == ".csv":
            from ..tabular.io import write_csv

            return write_csv(target, self.csv, y)
        import pyarrow as pa
        import pyarrow.parquet as pq

        arrays = [pa.array(y[:, j]).cast(f.type, safe=False) if pa.types.is_integer(f.type) or pa.types.is_boolean(f.type)
                  else pa.array(y[:, j]).cast(f.type) for j, f in enumerate(self.arrow_schema)]
        arrays = [pa.array(np.rint(y[:, j]).astype(np.int64)).cast(f.type) if pa.types.is_integer(f.type) else a
                  for j, (a, f) in enumerate(zip(arrays, self.arrow_schema))]
        buf = io.BytesIO()
        pq.write_table(pa.Table.from_arrays(arrays, schema=self.arrow_schema), buf)
        return atomic_write(target, buf.getvalue())


def augment_local(pipeline: Pipeline, x: np.ndarray, epoch: int) -> tuple[np.ndarray, list[str]]:
    """Every row keyed alone by its row number, in vectorised passes (``apply_rows``); a row
    that fails keeps its values and is reported."""
    y, failures = pipeline.apply_rows(x, np.arange(len(x)), epoch=epoch, errors="keep")
    return y, [f"row {r}: {msg}" for r, msg in failures]


def augment_ray(pipeline: Pipeline, table: Table, epoch: int, concurrency: int, batch_size: int = 1024,
                blocks: int | None = None) -> tuple[np.ndarray, list[str]]:
    import pyarrow as pa
    import ray

    from ..ray import ERROR_COLUMN, augment

    data = {n: table.x[:, j] for j, n in enumerate(table.names)}
    data["row_id"] = np.arange(len(table.x))
    ds = ray.data.from_arrow(pa.table(data))
    if blocks:
        ds = ds.repartition(blocks)
    out = augment(ds, pipeline, field="features", columns=table.names, id_column="row_id", epoch=epoch,
                  batch_size=batch_size, concurrency=concurrency).to_pandas()
    out = out.sort_values("row_id")
    y = np.stack([out[n].to_numpy(np.float64) for n in table.names], axis=1)
    errors = [e for e in out[ERROR_COLUMN].tolist() if e]
    return y, errors


def cmd_apply_table(pipeline: Pipeline, src: Path, dst: Path, copies: int, engine: str, concurrency: int) -> int:
    """Augment every row of the table ``src`` into ``copies`` tables in ``dst`` (see the module
    doc); returns the exit status (1 when any row failed)."""
    from ..tabular.io import fit_if_unfitted
    from .apply import DstLock, clean_stale, real, shown

    src_real = real(src)
    targets = [dst / f"{src.stem}_{k}{src.suffix}" for k in range(copies)]
    for target in targets:  # before anything is created or written
        if real(target) == src_real:
            raise InputError(f"{shown(target)}: output would overwrite the source, symlinks followed "
                             f"(SRC is never written)")
    try:
        dst.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError(f"{shown(dst)}: cannot create DST ({escape(err.strerror)})") from None
    with DstLock(dst):
        stale = clean_stale(targets, src_real)
        try:
            table = Table(src)
        except InputError as err:  # one printable line, whatever the file name or its header hold
            raise InputError(escape(str(err), 2000)) from None
        fit_if_unfitted(pipeline, table)
        failures: list[str] = []
        written = skipped = 0
        from tqdm import tqdm

        # rows over all copies, on a terminal only (a copy is one vectorised pass: the bar moves per copy)
        bar = tqdm(total=len(table.x) * copies, unit="row", unit_scale=True, desc="augnoise apply", file=sys.stderr,
                   disable=None, leave=False)
        try:
            for k, target in enumerate(targets):
                if real(target) == src_real:  # again, under the lock, just before the work
                    raise InputError(f"{shown(target)}: output would overwrite the source, symlinks followed "
                                     f"(SRC is never written)")
                if os.path.exists(target):
                    skipped += 1
                    bar.update(len(table.x))
                    continue
                if engine == "ray":
                    y, errors = augment_ray(pipeline, table, k, concurrency)
                else:
                    y, errors = augment_local(pipeline, table.x, k)
                table.write(target, y)
                written += 1
                failures += [f"{shown(src)} copy {k}: {escape(e)}" for e in errors]
                bar.update(len(table.x))
        finally:  # the bar's line is gone before any message
            bar.close()
    extra = f", {stale} stale temp file(s) removed" if stale else ""
    print(f"{shown(src)}: {len(table.x)} rows x {copies} cop{'y' if copies == 1 else 'ies'}: {written} written, "
          f"{skipped} already done (skipped), {len(failures)} row failure(s)" + extra)
    for f in failures:
        print(f"failed: {f}", file=sys.stderr)
    return 1 if failures else 0
