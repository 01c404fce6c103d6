"""mkdocs hooks of the documentation site (mkdocs.yml ``hooks:``).

* The home page is the README: ``index.md`` holds a marker that is replaced by README.md with its
  ``docs/`` links made relative to the site's root, so the quick start is written once.
* ``<!-- steps PREFIX... -->`` in a reference page becomes, for every registered step whose name
  starts with one of the prefixes, a section with the step's docstring (mkdocstrings) and its
  parameter table (the one ``augnoise show`` prints), so the reference lists every step there is.
* Docstrings are written with Sphinx roles (``:class:`Pipeline```); in the API reference the
  role's name is dropped, leaving the code span (mkdocstrings renders ``:class:`` literally).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

MARKER = "<!-- the README, included by docs/_hooks.py -->"
STEPS = re.compile(r"^<!-- steps ([\w ]+) -->$", flags=re.M)
ROLE = re.compile(r":(?:class|func|meth|mod|attr|data|obj|exc|ref|py:\w+):(<code>)~?")


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def steps_markdown(prefixes: list[str]) -> str:
    """The reference sections of every registered step under ``prefixes`` (e.g. ``image``)."""
    from augnoise.cli.info import param_rows
    from augnoise.core.registry import get_transform, transform_names

    out: list[str] = []
    for name in transform_names():
        if name.split(".", 1)[0] not in prefixes:
            continue
        cls = get_transform(name)
        out += [f"## {name}", "", f"::: {cls.__module__}.{cls.__qualname__}", "    options:",
                "      show_root_heading: false", "      members: false", "",
                f"Parameters of `{name}` (YAML keys and keyword arguments):", "",
                "| parameter | type | default | meaning |", "|---|---|---|---|"]
        out += [f"| `{n}` | {_cell(kind)} | `{_cell(default)}` | {_cell(desc)} |" for n, kind, default, desc
                in param_rows(cls.Params)]
        out.append("")
    if not out:
        raise ValueError(f"no registered step starts with {' or '.join(prefixes)}")
    return "\n".join(out)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    if MARKER in markdown:
        readme = Path(config["config_file_path"]).parent / "README.md"
        text = re.sub(r"\]\(docs/", "](", readme.read_text(encoding="utf-8"))
        markdown = markdown.replace(MARKER, text)
    return STEPS.sub(lambda m: steps_markdown(m.group(1).split()), markdown)


def on_page_content(html: str, page: Any, config: Any, files: Any) -> str:
    return ROLE.sub(r"\1", html)
