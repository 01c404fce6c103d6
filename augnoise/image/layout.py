"""Images as they come: layout, dtype and value domain resolved once per call, never guessed.

A batch of images is handed to a kernel as an :class:`ImageBatch`: the working array (the
input itself when nothing needs converting), whether it is channels-first, the number of
channels and pixels, and how to turn the kernel's result back into the caller's dtype and
domain. Noise positions are defined on the canonical HWC order (pixel ``p``, channel ``c`` ->
``p * C + c``), so the same image as a numpy HWC array or a torch CHW tensor gets the same
noise.

Layout: the field's declared layout (``fields:``), else the type the samples had in the
sample stage (the loader tells: numpy images collate to channels-last batches), else the
array's own type: numpy channels-last (HWC / HW), torch channels-first (CHW / HW). The number
of dimensions only tells whether there is a channel axis.

Domain: float data in [0, 1] unless a ``range`` or ``normalize`` is declared; integer data in
[0, the dtype's max]. Data in another domain is mapped to [0, 1] for the kernel and back; a
mapped value may exceed [0, 1] by rounding (at most ``TOLERANCE``), beyond that it is an error.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ..core.errors import InputError
from ..core.fields import FieldSpec, declared
from .checks import finite_range

INT_MAX = {"uint8": 255, "uint16": 65535}
FLOATS = ("float16", "bfloat16", "float32", "float64")
DTYPES = ("uint8", "uint16", *FLOATS)
LAYOUTS = ("HWC", "CHW", "HW")
#: how far (on the [0, 1] scale) a mapped value may exceed its range by rounding
TOLERANCE = 1e-5
#: most channels of an image whose layout is defaulted by its type (numpy HWC, torch CHW): a
#: channels-first numpy array must not be read as hundreds of channels
MAX_CHANNELS = 4
#: most channels of an image whose layout is declared (``fields: {image: {layout: HWC}}``):
#: multispectral images and stacked frames; every image transform works per value or per pixel
MAX_DECLARED_CHANNELS = 1024


#: dtype -> name: numpy's ``dtype.name`` is computed in Python on every access (~4 us, twice per
#: step and sample on the per-sample path), so each dtype is named once
_NAMES: dict[Any, str] = {}


def dtype_name(x: Any) -> str:
    """The dtype's name (``float32``, ``bfloat16``); numpy dtypes in a non-native byte order
    by their code (``>f4``), which is not one of :data:`DTYPES`."""
    dt = x.dtype
    name = _NAMES.get(dt)
    if name is None:
        if isinstance(dt, np.dtype):
            name = dt.name if dt.isnative else dt.str
        else:
            name = str(dt).replace("torch.", "")
        if len(_NAMES) < 256:  # a bound: structured dtypes are many (and refused)
            _NAMES[dt] = name
    return name


def default_layout(x: Any, ndim: int, numpy_item: bool) -> str:
    """The layout by type: numpy channels-last, torch channels-first (``ndim`` per sample)."""
    if ndim == 2:
        return "HW"
    return "HWC" if numpy_item else "CHW"


def resolve_layout(x: Any, batched: bool, spec: FieldSpec, item_type: str | None) -> str:
    ndim = x.ndim - (1 if batched else 0)
    if spec.layout is not None:
        layout = spec.layout
        if layout not in LAYOUTS:
            raise InputError(f"image layout must be one of HWC, CHW, HW (N-prefixed in batches), got {layout!r} "
                             f"(declared in fields:)")
        if ndim != len(layout):
            shape = tuple(x.shape)
            raise InputError(f"image of shape {shape} does not match the declared layout "
                             f"{'N' if batched else ''}{layout} ({len(layout) + batched} dimensions)")
        return layout
    if ndim not in (2, 3):
        what = "(B, H, W), (B, H, W, C) or (B, C, H, W)" if batched else "HxW, HxWxC or CxHxW"
        raise InputError(f"image must be {what}, got shape {tuple(x.shape)}")
    numpy_item = isinstance(x, np.ndarray) if item_type is None else item_type == "numpy"
    return default_layout(x, ndim, numpy_item)


@dataclass
class ImageBatch:
    """A batch of images ready for a kernel (see the module doc)."""

    x: Any                      # working array: (B, H, W[, C]) or (B, C, H, W), kernel dtype and domain
    layout: str                 # "HWC", "CHW" or "HW"
    channels: int
    pixels: int
    maxval: int                 # integer images: the dtype's max; 0 for float
    restore: Callable[[Any], Any]
    mapped: bool                # values were mapped to [0, 1] (range or normalize declared)

    @property
    def channels_first(self) -> bool:
        return self.layout == "CHW" and self.channels > 1


def describe(x: Any, ctx: Any, field: str, batched: bool) -> tuple[str, str, int, int, FieldSpec]:
    """``(dtype name, layout, channels, pixels per image, declared spec)`` of an image or a
    batch; raise :class:`InputError` for a dtype, shape or layout it cannot take (the domain is
    checked by :func:`image_batch`)."""
    spec = declared(ctx, field)
    item_type = getattr(ctx, "item_types", {}).get(field) if ctx is not None else None
    name = dtype_name(x)
    if name not in DTYPES:
        if isinstance(x, np.ndarray) and not x.dtype.isnative:
            hint = f" (non-native byte order: convert with .astype(np.{x.dtype.newbyteorder('=').name}))"
        else:
            hint = " (convert with .astype(np.float32) and scale to [0, 1])" if "float" in name else ""
        raise InputError(f"image dtype must be uint8, uint16, float16, bfloat16, float32 or float64, got {name}{hint}")
    layout = resolve_layout(x, batched, spec, item_type)
    shape = tuple(x.shape[1:]) if batched else tuple(x.shape)
    if 0 in shape:
        raise InputError(f"image is empty (shape {tuple(x.shape)})")
    channels = 1 if layout == "HW" else shape[layout.index("C")]
    limit = MAX_CHANNELS if spec.layout is None else MAX_DECLARED_CHANNELS
    if not 1 <= channels <= limit:
        n = "N" if batched else ""
        if spec.layout is None:  # defaulted by type: say which default and how to declare another
            other = "HWC" if layout == "CHW" else "CHW"
            default = "numpy arrays" if layout == "HWC" else "torch tensors"
            hint = (f"; {n}{layout} is the default for {default}: declare layout: {n}{other} under fields: if it "
                    f"is {n}{other}, or layout: {n}{layout} to take more than {MAX_CHANNELS} channels (multispectral)")
            raise InputError(f"image must have 1 to {MAX_CHANNELS} channels, got {channels} in layout "
                             f"{n}{layout} (shape {tuple(x.shape)}){hint}")
        raise InputError(f"image must have 1 to {MAX_DECLARED_CHANNELS} channels, got {channels} in the declared "
                         f"layout {n}{layout} (shape {tuple(x.shape)})")
    pixels = math.prod(shape) // channels
    return name, layout, channels, pixels, spec


def image_batch(x: Any, ctx: Any, field: str) -> ImageBatch:
    """Resolve ``x`` (a batch, samples on axis 0) for a kernel; raise :class:`InputError` with
    one clear sentence for a dtype, shape, layout or domain it cannot take."""
    name, layout, channels, pixels, spec = describe(x, ctx, field, True)
    if name in INT_MAX:
        if spec.normalized:
            raise InputError(f"{name} images cannot be normalised data; declare normalize: for float fields")
        if spec.range is not None and spec.range != (0.0, float(INT_MAX[name])):
            raise InputError(f"{name} images use their dtype's range [0, {INT_MAX[name]}], declared {list(spec.range)}")
        return ImageBatch(x, layout, channels, pixels, INT_MAX[name], lambda y: y, False)
    if isinstance(x, np.ndarray):
        return _float_numpy(x, spec, layout, channels, pixels, name)
    return _float_torch(x, spec, layout, channels, pixels, name)


def _channel_shape(layout: str, ndim: int, channels: int) -> tuple[int, ...]:
    """Broadcast shape of per-channel values for a batch of ``ndim`` dimensions."""
    shape = [1] * ndim
    if layout != "HW":
        shape[1 + layout.index("C")] = channels
    return tuple(shape)


def _affine(spec: FieldSpec, channels: int) -> tuple[np.ndarray, np.ndarray] | None:
    """``data = a * unit + b`` per channel, or None for the identity (float [0, 1])."""
    lo, hi = spec.range if spec.range is not None else (0.0, 1.0)
    a = np.full(channels, hi - lo, np.float64)
    b = np.full(channels, lo, np.float64)
    if spec.normalized:
        mean = np.broadcast_to(np.asarray(spec.mean, np.float64), (channels,)) if len(spec.mean) in (1, channels) else None
        std = np.broadcast_to(np.asarray(spec.std, np.float64), (channels,)) if len(spec.std) in (1, channels) else None
        if mean is None or std is None:
            raise InputError(f"normalize has {max(len(spec.mean), len(spec.std))} values per channel but the image has "
                             f"{channels} channel(s)")
        a, b = a / std, (b - mean) / std
    if np.all(a == 1.0) and np.all(b == 0.0):
        return None
    return a, b


def _check_unit(bad: int, lo: float, hi: float, mapped: bool) -> None:
    if bad:
        raise InputError(f"float image holds {bad} NaN or inf value(s)")
    tol = TOLERANCE if mapped else 0.0
    if lo < -tol or hi > 1.0 + tol:
        where = "its declared domain" if mapped else "[0, 1]"
        raise InputError(f"float image values lie outside {where}: [{lo:g}, {hi:g}] on the [0, 1] scale "
                         f"(declare its range or normalize: under fields:)")


def _check_numpy_unit(x: np.ndarray) -> None:
    """float32/float64 values in [0, 1]: one vectorised pass, exact counts only on suspicion."""
    from .kernels import maybe_outside_unit

    if maybe_outside_unit(x):
        finite = np.isfinite(x)
        bad = int(x.size - np.count_nonzero(finite))
        lo, hi = (float(x.min()), float(x.max())) if not bad else (0.0, 1.0)
        _check_unit(bad, lo, hi, False)


def _float_numpy(x: np.ndarray, spec: FieldSpec, layout: str, channels: int, pixels: int, name: str) -> ImageBatch:
    affine = _affine(spec, channels)
    if affine is None:
        if name in ("float32", "float64"):
            _check_numpy_unit(x)
            return ImageBatch(x, layout, channels, pixels, 0, lambda y: y, False)
        work = x.astype(np.float32)  # float16: computed in float32, returned in float16
        _check_numpy_unit(work)
        return ImageBatch(work, layout, channels, pixels, 0, lambda y: y.astype(x.dtype), False)
    a, b = affine
    cs = _channel_shape(layout, x.ndim, channels)
    wt = np.float64 if name == "float64" else np.float32
    a_, b_ = a.reshape(cs).astype(wt), b.reshape(cs).astype(wt)
    unit = (x.astype(wt) - b_) / a_
    finite = np.isfinite(unit)
    bad = int(unit.size - np.count_nonzero(finite))
    lo, hi = (float(unit.min()), float(unit.max())) if not bad else (0.0, 1.0)
    _check_unit(bad, lo, hi, True)
    np.clip(unit, 0.0, 1.0, out=unit)  # rounding only (checked above)

    def restore(y: np.ndarray) -> np.ndarray:
        return (y.astype(wt) * a_ + b_).astype(x.dtype)

    return ImageBatch(unit, layout, channels, pixels, 0, restore, True)


def _float_torch(x: Any, spec: FieldSpec, layout: str, channels: int, pixels: int, name: str) -> ImageBatch:
    import torch

    affine = _affine(spec, channels)
    wt = torch.float64 if name == "float64" else torch.float32
    if affine is None:
        work = x if name in ("float32", "float64") else x.to(wt)
        bad, lo, hi = finite_range(work)  # one fused reduction, one host sync
        _check_unit(bad, lo if not bad else 0.0, hi if not bad else 1.0, False)
        restore = (lambda y: y) if work is x else (lambda y: y.to(x.dtype))
        return ImageBatch(work, layout, channels, pixels, 0, restore, False)
    a, b = affine
    cs = _channel_shape(layout, x.dim(), channels)
    a_ = torch.from_numpy(a.reshape(cs)).to(device=x.device, dtype=wt)
    b_ = torch.from_numpy(b.reshape(cs)).to(device=x.device, dtype=wt)
    unit = (x.to(wt) - b_) / a_
    bad, lo, hi = finite_range(unit)  # one fused reduction, one host sync
    _check_unit(bad, lo if not bad else 0.0, hi if not bad else 1.0, True)
    unit = unit.clamp_(0.0, 1.0)

    def restore(y: Any) -> Any:
        return (y.to(wt) * a_ + b_).to(x.dtype)

    return ImageBatch(unit, layout, channels, pixels, 0, restore, True)
