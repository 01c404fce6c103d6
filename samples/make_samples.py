"""Regenerate the sample files in samples/ (deterministic; run from the repo root).

    python samples/make_samples.py
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent


def colour_scene(size: int = 256) -> np.ndarray:
    """A small RGB scene with smooth areas (where noise shows) and fine detail."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    img = np.zeros((size, size, 3), np.float32)
    img[..., 0] = 0.35 + 0.3 * y  # sky: blue at the top fading to pale
    img[..., 1] = 0.55 + 0.3 * y
    img[..., 2] = 0.95 - 0.1 * y
    hill = 0.62 + 0.08 * np.sin(6.0 * x + 1.0) + 0.03 * np.sin(23.0 * x)
    ground = y > hill
    img[ground] = np.stack([0.2 + 0.2 * y, 0.55 - 0.2 * y, 0.15 + 0 * y], -1)[ground]
    sun = (x - 0.78) ** 2 + (y - 0.2) ** 2 < 0.09**2
    img[sun] = (1.0, 0.85, 0.2)
    out = (img * 255 + 0.5).astype(np.uint8)
    # a house with a checkered wall: fine detail
    x0, y0, w, h = 40, 130, 80, 60
    cb = ((np.indices((h, w)) // 4).sum(0) % 2).astype(bool)
    wall = out[y0 : y0 + h, x0 : x0 + w]
    wall[cb] = (200, 60, 50)
    wall[~cb] = (240, 220, 200)
    roof = np.array([[x0 - 8, y0], [x0 + w + 8, y0], [x0 + w // 2, y0 - 40]], np.int32)
    cv2.fillPoly(out, [roof], (90, 40, 30))
    cv2.putText(out, "augnoise", (120, 240), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (255, 255, 255), 2, cv2.LINE_AA)
    return out


def gray_chart(size: int = 256) -> np.ndarray:
    """A grayscale test chart: zone plate, a ramp and flat patches at 0, 64, 128, 192, 255."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    r2 = ((x - size / 2) ** 2 + (y - size / 2) ** 2) / size
    img = 0.5 + 0.5 * np.cos(np.pi * r2 * 0.5)
    img[: size // 8] = x[: size // 8] / (size - 1)  # ramp
    for k, level in enumerate((0, 64, 128, 192, 255)):
        img[-size // 8 :, k * size // 5 : (k + 1) * size // 5] = level / 255
    return (img * 255 + 0.5).astype(np.uint8)


def main() -> None:
    cv2.imwrite(str(HERE / "scene.png"), cv2.cvtColor(colour_scene(), cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(HERE / "chart_gray.png"), gray_chart())
    for p in sorted(HERE.glob("*.png")):
        print(f"{p.name}: {p.stat().st_size} bytes")


if __name__ == "__main__":
    main()
