"""The documentation site (mkdocs.yml, docs/): every page is in the navigation, the API
reference covers every registered step, and the site builds in strict mode with the gallery
that ``augnoise gallery`` makes, while a broken link fails the build. The build runs on a copy
of the sources in a temporary folder, so the repository is never written."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT
from tests.docs_pages import GENERATED, PAGES

CONFIG = yaml.safe_load(Path(ROOT, "mkdocs.yml").read_text())
DOCS = Path(ROOT, CONFIG["docs_dir"])


def _nav_pages(nav) -> list[str]:
    out = []
    for entry in nav:
        for value in (entry.values() if isinstance(entry, dict) else [entry]):
            out += _nav_pages(value) if isinstance(value, list) else [value]
    return out


NAV = _nav_pages(CONFIG["nav"])


def test_every_page_is_in_the_navigation_and_every_entry_exists():
    excluded = set(CONFIG["exclude_docs"].split())
    pages = {p.relative_to(DOCS).as_posix() for p in PAGES if p.is_relative_to(DOCS)} - excluded
    assert len(NAV) == len(set(NAV)) and pages == {p for p in NAV if not p.startswith(f"{GENERATED}/")}
    assert f"{GENERATED}/gallery.md" in NAV


def test_the_reference_lists_every_registered_step():
    from augnoise.core.registry import transform_names

    marked = set()
    for page in Path(DOCS, "reference").glob("*.md"):
        for prefixes in re.findall(r"^<!-- steps ([\w ]+) -->$", page.read_text(), flags=re.M):
            assert not marked & set(prefixes.split()), f"{page.name}: a prefix listed twice"
            marked |= set(prefixes.split())
    assert marked == {name.split(".", 1)[0] for name in transform_names()}


def test_the_home_page_is_the_readme():
    assert Path(DOCS, "index.md").read_text().strip() == "<!-- the README, included by docs/_hooks.py -->"


def _build(src: Path) -> subprocess.CompletedProcess:
    # never -q: mkdocs then drops warnings before strict mode counts them, and a broken link passes
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(src / "mkdocs.yml"),
                           "-d", str(src / "site")], capture_output=True, text=True, cwd=src,
                          env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})


@pytest.fixture(scope="module")
def site_sources(tmp_path_factory):
    """The site's sources copied to a temporary folder, with the gallery generated into it."""
    src = tmp_path_factory.mktemp("docs")
    shutil.copy(Path(ROOT, "mkdocs.yml"), src)
    shutil.copy(Path(ROOT, "README.md"), src)
    shutil.copytree(DOCS, src / CONFIG["docs_dir"], ignore=shutil.ignore_patterns(GENERATED, "__pycache__"))
    out = subprocess.run([sys.executable, "-m", "augnoise.cli.main", "gallery", str(src / "docs" / GENERATED)],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    return src


def test_the_site_builds_strict(site_sources):
    out = _build(site_sources)
    assert out.returncode == 0, out.stderr[-3000:]
    site = site_sources / "site"
    home = (site / "index.html").read_text()
    assert "make demo" in home and 'href="guide/pipelines/"' in home  # the README, its docs/ links rewritten
    gallery = (site / GENERATED / "gallery" / "index.html").read_text()
    from augnoise.core.registry import transform_names

    for name in transform_names():
        if name.split(".")[0] in ("image", "audio"):
            picture = f"{name.replace('.', '_')}.png"
            assert picture in gallery and (site / GENERATED / picture).is_file(), name
    image = (site / "reference" / "image" / "index.html").read_text()
    assert "fraction of the full range" in image and "same_on_batch" in image  # docstrings and parameter tables
    assert ":class:" not in image


def test_a_broken_link_fails_the_strict_build(site_sources, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(site_sources, broken, ignore=shutil.ignore_patterns("site"))
    page = broken / "docs" / "guide" / "cli.md"
    page.write_text(page.read_text() + "\nSee [the missing page](nowhere.md).\n")
    out = _build(broken)
    assert out.returncode != 0 and "nowhere.md" in out.stderr
