"""Image files: reading (RGB order, original dtype), atomic PNG writing, preview grids."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np

from ..core.errors import InputError
from ..core.files import atomic_write

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm"}


def read_image(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an image file as HxW or HxWxC (RGB/RGBA order), keeping uint8/uint16 depth."""
    import cv2

    p = Path(path)
    if not p.is_file():
        raise InputError(f"{path}: no such file")
    data = np.fromfile(str(p), dtype=np.uint8)
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if img is None:
        raise InputError(f"{path}: not a readable image (corrupt or unsupported format)")
    if img.ndim == 3 and img.shape[2] == 3:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    elif img.ndim == 3 and img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2RGBA)
    if img.dtype not in (np.uint8, np.uint16):
        img = img.astype(np.float32)
    return img


def write_image(path: str | os.PathLike[str], image: np.ndarray) -> Path:
    """Write an image (RGB order) atomically: a temp file in the same folder, then a rename."""
    import cv2

    target = Path(path)
    img = to_display(image) if image.dtype not in (np.uint8, np.uint16) else image
    if img.ndim == 3 and img.shape[2] == 3:
        img = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    elif img.ndim == 3 and img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_RGBA2BGRA)
    ok, buf = cv2.imencode(target.suffix or ".png", img)
    if not ok:
        raise InputError(f"{path}: cannot encode image")
    atomic_write(target, buf.tobytes())
    return target


def to_display(image: np.ndarray) -> np.ndarray:
    """uint8 RGB view of any supported image (uint16 scaled, float [0, 1] scaled, gray -> RGB)."""
    if image.dtype == np.uint16:
        img = (image.astype(np.float32) / 257.0 + 0.5).astype(np.uint8)
    elif image.dtype.kind == "f":
        img = (np.clip(np.nan_to_num(image), 0, 1) * 255 + 0.5).astype(np.uint8)
    else:
        img = image.astype(np.uint8, copy=False)
    if img.ndim == 2:
        img = img[:, :, None]
    if img.shape[2] == 1:
        img = np.repeat(img, 3, axis=2)
    elif img.shape[2] == 2:
        img = np.concatenate([img, img[:, :, :1]], axis=2)
    elif img.shape[2] == 4:
        img = img[:, :, :3]
    return img


#: preview tiles are shown with their longest side at most this many pixels (``--max-size``)
MAX_TILE = 512
#: lines of label text above each tile at most (longer labels are cut with an ellipsis)
MAX_LABEL_LINES = 6


def _wrap(label: str, chars: int) -> list[str]:
    import textwrap

    lines = textwrap.wrap(label, max(chars, 8), break_long_words=True) or [""]
    if len(lines) > MAX_LABEL_LINES:
        lines = lines[:MAX_LABEL_LINES]
        lines[-1] = lines[-1][: max(chars - 3, 1)] + "..."
    return lines


def make_grid(images: Sequence[np.ndarray], labels: Sequence[str], columns: int | None = None,
              pad: int = 4, max_size: int | None = MAX_TILE) -> np.ndarray:
    """Tile images (any supported dtype) into one uint8 RGB grid with a label above each
    (wrapped over up to 6 lines). Tiles are shown with their longest side at most ``max_size``
    pixels (area-averaged; None or 0: at full resolution); tiny images are enlarged without
    smoothing so their pixels stay visible."""
    import cv2

    tiles = [to_display(im) for im in images]
    big = max(max(t.shape[:2]) for t in tiles)
    if max_size and big > max_size:
        f = max_size / big
        tiles = [cv2.resize(t, (max(1, round(t.shape[1] * f)), max(1, round(t.shape[0] * f))),
                            interpolation=cv2.INTER_AREA) for t in tiles]
    small = max(max(t.shape[:2]) for t in tiles)
    if small < 128:  # tiny images (e.g. 8x8 digits): enlarge without smoothing so pixels stay visible
        f = -(-128 // small)
        tiles = [cv2.resize(t, (t.shape[1] * f, t.shape[0] * f), interpolation=cv2.INTER_NEAREST) for t in tiles]
    h = max(t.shape[0] for t in tiles)
    w = max(t.shape[1] for t in tiles)
    cols = columns or min(len(tiles), 5)
    rows = -(-len(tiles) // cols)
    scale = max(0.35, min(0.6, w / 400))
    char_w = cv2.getTextSize("n", cv2.FONT_HERSHEY_SIMPLEX, scale, 1)[0][0] + 1
    line_h = int(cv2.getTextSize("Ag", cv2.FONT_HERSHEY_SIMPLEX, scale, 1)[0][1] * 1.8) + 2
    wrapped = [_wrap(label, (w - 4) // char_w) for label in labels]
    header = line_h * max(len(lines) for lines in wrapped) + 6
    grid = np.full((rows * (h + header + pad) + pad, cols * (w + pad) + pad, 3), 255, np.uint8)
    for k, (tile, lines) in enumerate(zip(tiles, wrapped)):
        r, c = divmod(k, cols)
        y = pad + r * (h + header + pad)
        x = pad + c * (w + pad)
        for j, line in enumerate(lines):
            cv2.putText(grid, line, (x + 2, y + line_h * (j + 1) - 2), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 1,
                        cv2.LINE_AA)
        grid[y + header : y + header + tile.shape[0], x : x + tile.shape[1]] = tile
    return grid
