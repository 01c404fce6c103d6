"""The documentation's pictures exist and come from pipelines that load: every image the README
or a docs page shows is in the repository, and every gallery pipeline (pipelines/gallery/)
loads and has its picture (made with `augnoise preview`, see docs/gallery/README.md)."""
from pathlib import Path

import pytest

import augnoise
from tests.conftest import ROOT
from tests.docs_pages import picture_links

LINKS = picture_links()
SHOWN = {path for _, path in LINKS}
GALLERY = sorted(Path(ROOT, "pipelines", "gallery").glob("*.yaml"))


def test_readme_links_pictures():
    assert len(LINKS) >= 3


@pytest.mark.parametrize("page, path", LINKS, ids=[f"{p}:{f.name}" for p, f in LINKS])
def test_every_linked_picture_exists(page, path):
    assert path.is_file() and path.stat().st_size > 1000 and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("pipeline", GALLERY, ids=lambda p: p.stem)
def test_gallery_pipelines_load_and_have_their_picture(pipeline):
    augnoise.load(pipeline)
    picture = Path(ROOT, "docs", "gallery", f"{pipeline.stem}.png").resolve()
    assert picture.is_file() and picture in SHOWN
