"""Features in and out: numpy rows/tables and (optionally) pandas DataFrames, as one
2-D float table plus what is needed to give back the same type, shape and dtypes."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ..core.errors import InputError


def is_frame(x: Any) -> bool:
    """A pandas DataFrame (checked without importing pandas)."""
    return type(x).__module__.split(".")[0] == "pandas" and hasattr(x, "columns") and hasattr(x, "dtypes")


@dataclass
class Table:
    """A 2-D float view of the input: ``x`` (rows x columns; NaN = missing)."""

    x: np.ndarray
    names: list[str] | None
    frame_kinds: list[str | None] | None
    restore: Callable[[np.ndarray], Any]
    mask_shape: tuple[int, ...]


def to_table(data: Any) -> Table:
    if is_frame(data):
        return _from_frame(data)
    if not isinstance(data, np.ndarray):
        raise InputError(f"features must be a numpy array or a pandas DataFrame, got {type(data).__name__}")
    if data.dtype.kind not in "fiu":
        raise InputError(f"features must be numeric, got dtype {data.dtype} (encode categories as integer codes, "
                         f"or pass a pandas DataFrame with 'category' columns)")
    if data.ndim not in (1, 2):
        raise InputError(f"features must be one row (n_columns,) or a table (rows, columns), got shape {data.shape}")
    if data.size == 0:
        raise InputError(f"features are empty (shape {data.shape})")
    if data.dtype.kind == "f":
        from .kernels import count_inf

        infs = count_inf(data)
        if infs:
            raise InputError(f"features hold {infs} inf value(s) (NaN marks a missing cell; inf is not allowed)")
        x = data.reshape(1, -1) if data.ndim == 1 else data
        dtype, shape = data.dtype, data.shape

        def restore(y: np.ndarray) -> np.ndarray:
            return y.astype(dtype, copy=False).reshape(shape)
    else:
        x = (data.reshape(1, -1) if data.ndim == 1 else data).astype(np.float64)
        dtype, shape = data.dtype, data.shape
        info = np.iinfo(dtype)

        def restore(y: np.ndarray) -> np.ndarray:
            return np.clip(np.rint(y), info.min, info.max).astype(dtype).reshape(shape)
    kinds = ["integer"] * x.shape[1] if data.dtype.kind in "iu" else None
    return Table(x, None, kinds, restore, data.shape)


def _from_frame(df: Any) -> Table:
    import pandas as pd

    if df.shape[0] == 0 or df.shape[1] == 0:
        raise InputError(f"features are empty (DataFrame of shape {df.shape})")
    cols, kinds, makers = [], [], []
    for name in df.columns:
        s = df[name]
        dt = s.dtype
        if isinstance(dt, pd.CategoricalDtype):
            codes = s.cat.codes.to_numpy().astype(np.float64)
            codes[codes < 0] = np.nan
            cols.append(codes)
            kinds.append("categorical")
            makers.append(lambda v, dt=dt: pd.Categorical.from_codes(np.where(np.isnan(v), -1, v).astype(int), dtype=dt))
        elif pd.api.types.is_bool_dtype(dt):
            cols.append(s.to_numpy().astype(np.float64))
            kinds.append("binary")
            makers.append(lambda v: v != 0)
        elif pd.api.types.is_integer_dtype(dt):
            cols.append(s.to_numpy().astype(np.float64))
            kinds.append(None)
            makers.append(lambda v, dt=dt: np.rint(v).astype(dt))
        elif pd.api.types.is_float_dtype(dt):
            v = s.to_numpy().astype(np.float64)
            if np.isinf(v).any():
                raise InputError(f"column {name!r} holds inf value(s)")
            cols.append(v)
            kinds.append(None)
            makers.append(lambda v, dt=dt: v.astype(dt))
        else:
            raise InputError(f"column {name!r} has dtype {dt}: features must be numeric, bool or category "
                             f"(convert string columns with .astype('category'))")
    x = np.stack(cols, axis=1)
    names = [str(c) for c in df.columns]
    index, columns = df.index, df.columns

    def restore(y: np.ndarray) -> Any:
        data = {c: make(y[:, j]) for j, (c, make) in enumerate(zip(columns, makers))}
        return pd.DataFrame(data, index=index, columns=columns)

    return Table(x, names, kinds, restore, tuple(df.shape))
