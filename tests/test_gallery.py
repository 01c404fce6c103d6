"""The README's pictures exist and come from pipelines that load: every image the README links
is in the repository, and every gallery pipeline (pipelines/gallery/) loads and has its
picture (made with `augnoise preview`, see docs/gallery/README.md)."""
import re
from pathlib import Path

import pytest

import augnoise
from tests.conftest import ROOT

README = Path(ROOT, "README.md").read_text()
LINKS = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", README)
GALLERY = sorted(Path(ROOT, "pipelines", "gallery").glob("*.yaml"))


def test_readme_links_pictures():
    assert len(LINKS) >= 3


@pytest.mark.parametrize("link", LINKS)
def test_every_linked_picture_exists(link):
    path = Path(ROOT, link)
    assert path.is_file() and path.stat().st_size > 1000 and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("pipeline", GALLERY, ids=lambda p: p.stem)
def test_gallery_pipelines_load_and_have_their_picture(pipeline):
    augnoise.load(pipeline)
    assert Path(ROOT, "docs", "gallery", f"{pipeline.stem}.png").is_file()
    assert f"docs/gallery/{pipeline.stem}.png" in LINKS
