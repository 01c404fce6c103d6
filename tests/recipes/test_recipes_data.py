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


def test_classes_by_number_or_by_text_label(tmp_path):
    from augnoise.recipes.data import class_code

    rows = [f"{i * 0.1:.1f},{i % 3},{['AB', 'CD', 'EF'][i % 3]}" for i in range(30)]
    (tmp_path / "t.csv").write_text("a,b,kind\n" + "\n".join(rows) + "\n")
    d = load_data(str(tmp_path / "t.csv"), label_column="kind")
    assert d.classes == ["AB", "CD", "EF"] or sorted(d.classes) == ["AB", "CD", "EF"]
    assert d.classes[int(d.y[0])] == "AB" and d.x.shape == (30, 2)
    assert d.classes[class_code(d, "CD", "--anomaly-class")] == "CD"
    with pytest.raises(InputError, match=r"--anomaly-class 'XY': not a class of t \(classes: "):
        class_code(d, "XY", "--anomaly-class")
    n = load_data(str(tmp_path / "t.csv"), label_column="b")
    assert class_code(n, "2", "--normal-class") == 2
    with pytest.raises(InputError, match="--normal-class 7: no sample of t has this label"):
        class_code(n, 7, "--normal-class")
    with pytest.raises(InputError, match="the labels of t are numbers"):
        class_code(n, "AB", "--normal-class")
