"""recipes.data: a folder with a corrupt image is read without it (issue 17, item 6)."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from augnoise import InputError
from augnoise.recipes.data import load_data


def test_a_corrupt_image_is_skipped_and_reported(tmp_path, capsys):
    for i in range(3):
        cv2.imwrite(str(tmp_path / f"ok{i}.png"), np.full((10, 12), 40 * i, np.uint8))
    (tmp_path / "broken.png").write_bytes(b"\x89PNG not really")
    d = load_data(str(tmp_path), image_size=8)
    assert d.x.shape == (3, 8, 8) and np.allclose(d.x[:, 0, 0], [0, 40 / 255, 80 / 255], atol=1e-6)
    assert "skipped 1 unreadable image(s), first" in capsys.readouterr().err
    for f in tmp_path.glob("ok*.png"):
        f.unlink()
    with pytest.raises(InputError, match="none of its 1 images could be read"):
        load_data(str(tmp_path))
