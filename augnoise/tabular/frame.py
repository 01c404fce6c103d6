"""Features in and out: numpy rows/tables and (optionally) pandas DataFrames, as an array
``(B, R, M)`` (B samples of R rows by M columns) plus what is needed to give back the same
type, shape and dtypes.

Integer tables stay integer (the kernels compute them exactly and saturate at the dtype's
range); float32 and float64 stay as they are; float16 (and bfloat16 tensors) are computed in
float32, which holds them exactly, and cast back saturating at the dtype's largest value. A
DataFrame's numeric columns are viewed as float64; cells whose value did not change are given
back exactly (int64 beyond 2**53 included).

One sample is a row ``(M,)`` (B = R = 1), a table ``(R, M)`` or a DataFrame (B = 1). In a batch
(samples on axis 0), ``(B, M)`` is B row samples, ``(B, R, M)`` B table samples, and a DataFrame
of B rows is B row samples (:meth:`augnoise.Pipeline.apply_rows`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ..core.arrays import is_array, like, numpy_view
from ..core.errors import InputError, escape


def is_frame(x: Any) -> bool:
    """A pandas DataFrame (checked without importing pandas)."""
    return type(x).__module__.split(".")[0] == "pandas" and hasattr(x, "columns") and hasattr(x, "dtypes")


@dataclass
class Table:
    """The kernels' view of the input: ``x`` (B samples, R rows, M columns; NaN = missing),
    integer or float (see the module doc), numpy, or a tensor on a device the numpy kernels
    cannot reach."""

    x: Any
    names: list[str] | None
    frame_kinds: list[str | None] | None
    restore: Callable[[Any], Any]
    mask_shape: tuple[int, ...]

    def restore_mask(self, mask: Any) -> Any:
        """The corruption mask in the input's shape (and array type)."""
        return mask.reshape(self.mask_shape)

    @property
    def table(self) -> np.ndarray:
        """The rows of all samples as one 2-D table ``(B * R, M)``."""
        return self.x.reshape(-1, self.x.shape[2])


def zeros_like_bool(x: Any) -> Any:
    """An all-False mask of ``x``'s shape, on its device."""
    if isinstance(x, np.ndarray):
        return np.zeros(x.shape, bool)
    import torch

    return torch.zeros(x.shape, dtype=torch.bool, device=x.device)


def to_table(data: Any, batched: bool = False) -> Table:
    """The float view of one sample, or of a batch of samples (see the module doc)."""
    if not isinstance(data, np.ndarray) and not is_frame(data) and is_array(data):
        view = numpy_view(data)
        if view is not None:  # a CPU tensor: the numpy path on its memory, a tensor back
            t = to_table(view, batched)
            t.restore = lambda y, r=t.restore: like(r(y), data)
            t.restore_mask = lambda m, s=t.mask_shape: like(m.reshape(s), data)  # type: ignore[method-assign]
            return t
        return tensor_table(data, batched)
    if is_frame(data):
        t = _from_frame(data)
        shape = (t.x.shape[0], 1, t.x.shape[1]) if batched else (1,) + t.x.shape
        return Table(t.x.reshape(shape), t.names, t.frame_kinds, lambda y, r=t.restore: r(y.reshape(-1, y.shape[2])),
                     t.mask_shape)
    if not isinstance(data, np.ndarray):
        raise InputError(f"features must be a numpy array or a pandas DataFrame, got {type(data).__name__}")
    if data.dtype.kind not in "fiu":
        raise InputError(f"features must be numeric, got dtype {data.dtype} (encode categories as integer codes, "
                         f"or pass a pandas DataFrame with 'category' columns)")
    lo_dim = 2 if batched else 1
    if data.ndim not in (lo_dim, lo_dim + 1):
        what = ("a batch of rows (B, n_columns) or of tables (B, rows, columns)" if batched
                else "one row (n_columns,) or a table (rows, columns)")
        raise InputError(f"features must be {what}, got shape {data.shape}")
    if data.size == 0:
        raise InputError(f"features are empty (shape {data.shape})")
    t = _from_array(data)
    if batched:
        shape = (data.shape[0], 1, data.shape[1]) if data.ndim == 2 else data.shape
    else:
        shape = (1, 1, data.shape[0]) if data.ndim == 1 else (1,) + data.shape
    t.x = t.x.reshape(shape)
    return t


def tensor_table(data: Any, batched: bool) -> Table:
    """A tensor's view for the torch kernels (tensors on devices numpy cannot reach): integer
    tensors as they are, float16/bfloat16 as float32."""
    import torch

    lo_dim = 2 if batched else 1
    if data.dim() not in (lo_dim, lo_dim + 1):
        what = "a batch of rows (B, n_columns) or of tables (B, rows, columns)" if batched else "one row or a table"
        raise InputError(f"features must be {what}, got shape {tuple(data.shape)}")
    if data.is_floating_point():
        if bool(torch.isinf(data).any()):
            raise InputError(f"features hold {int(torch.isinf(data).sum())} inf value(s) (NaN marks a missing cell; "
                             f"inf is not allowed)")
        if data.dtype in (torch.float32, torch.float64):
            x = data
            restore = lambda y: y.reshape(data.shape)  # noqa: E731
        else:  # float16, bfloat16: computed in float32 (exact), cast back with saturation
            x = data.to(torch.float32)
            top = float(torch.finfo(data.dtype).max)
            restore = lambda y: y.clamp(-top, top).to(data.dtype).reshape(data.shape)  # noqa: E731
        kinds = None
    elif data.dtype == torch.bool or data.is_complex():
        raise InputError(f"features must be a numeric tensor, got dtype {str(data.dtype).replace('torch.', '')}")
    else:  # integer tensors stay integer: the torch kernels compute them exactly
        x = data
        restore = lambda y: y.reshape(data.shape)  # noqa: E731
        kinds = ["integer"] * int(data.shape[-1])
    if batched:
        shape = (data.shape[0], 1, data.shape[1]) if data.dim() == 2 else tuple(data.shape)
    else:
        shape = (1, 1, data.shape[0]) if data.dim() == 1 else (1,) + tuple(data.shape)
    return Table(x.reshape(shape), None, kinds, restore, tuple(data.shape))


def _from_array(data: np.ndarray) -> Table:
    # Integer tables stay integer (the kernels compute them exactly); float16 is viewed as
    # float32 (exact) and cast back with saturation; float32 and float64 are used as they are.
    from .kernels import compute_dtype, count_inf, saturate

    dtype, shape = data.dtype, data.shape
    x = data.reshape(-1, data.shape[-1])
    if dtype.kind == "f":
        infs = count_inf(data)
        if infs:
            raise InputError(f"features hold {infs} inf value(s) (NaN marks a missing cell; inf is not allowed)")
        ct = compute_dtype(dtype)
        if ct != dtype:
            x = x.astype(ct)

    def restore(y: np.ndarray) -> np.ndarray:
        return (y if y.dtype == dtype else saturate(y, dtype)).reshape(shape)

    kinds = ["integer"] * x.shape[1] if dtype.kind in "iu" else None
    return Table(x, None, kinds, restore, shape)


def _column_back(y: np.ndarray, raw: np.ndarray, view: np.ndarray, dt: Any) -> Any:
    """A numeric DataFrame column back in its dtype: cells whose float64 value did not change
    keep their original value exactly (int64 beyond 2**53 included); changed cells are
    rounded and saturated at the dtype's range."""
    from .kernels import saturate

    if raw.dtype.kind not in "iuf":  # pandas extension arrays (nullable Int64, ...): as before
        return (np.rint(y) if raw.dtype.kind != "f" else y).astype(dt)
    same = (y == view) | (np.isnan(y) & np.isnan(view))
    if same.all():
        return raw.copy()
    out = raw.copy()
    out[~same] = saturate(y[~same], raw.dtype)
    return out


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
        elif pd.api.types.is_integer_dtype(dt) or pd.api.types.is_float_dtype(dt):
            raw = s.to_numpy()
            v = raw.astype(np.float64)
            if raw.dtype.kind == "f" and np.isinf(v).any():
                raise InputError(f"column {escape(repr(str(name)), 80)} holds inf value(s)")
            cols.append(v)
            kinds.append(None)
            makers.append(lambda y, raw=raw, v=v, dt=dt: _column_back(y, raw, v, dt))
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
