"""YAML pipelines: safe parsing with line numbers, validation of every step, exact dumping.

Format::

    seed: 7
    sample:
      - image.GaussianNoise: {std: [0.02, 0.08], p: 0.9}
      - OneOf:
          transforms:
            - image.SaltAndPepper: {amount: 0.01}
            - image.ShotNoise: {photons: [20, 80]}
    batch: []

Safety: the text is composed with ``yaml.SafeLoader`` into nodes and only plain YAML tags are
accepted (no ``!!python/...``); anchors and aliases are expanded under a node budget (alias
"billion laughs" bombs are refused); documents over 1 MiB are refused. Step names resolve only
through the registries. Every problem found is reported, one line each:
``FILE:LINE: step N (Name): field: message``.
"""
from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any

import yaml

from .compose import COMPOSITES
from .errors import ConfigError, ParamError, Problem
from .files import atomic_write, relative_to, resolve_path
from .registry import ALBU_PREFIX, albumentations_suggest, get_transform, suggest
from .transform import Step

MAX_BYTES = 1 << 20
MAX_NODES = 100_000
MAX_DEPTH = 64
TOP_KEYS = ("seed", "tabular", "sample", "batch")
_STD = "tag:yaml.org,2002:"
_ALLOWED_TAGS = {_STD + t for t in ("map", "seq", "str", "int", "float", "bool", "null")}


class LDict(dict):
    """A mapping read from YAML, remembering its line and each key's line (1-based)."""

    line: int = 0
    key_lines: dict[str, int]


class LList(list):
    line: int = 0


class _Reader:
    """Turns a composed YAML node graph into plain data, enforcing the safety rules."""

    def __init__(self, source: str, problems: list[Problem]):
        self.source = source
        self.problems = problems
        self.count = 0
        self.scalars = yaml.SafeLoader("")
        self.open: set[int] = set()  # ids of the collection nodes being read (recursion guard)

    def fail(self, node: yaml.Node | None, message: str) -> None:
        line = node.start_mark.line + 1 if node is not None else None
        raise ConfigError([Problem(message, self.source, line)])

    def read(self, node: yaml.Node, depth: int = 0) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            self.fail(None, f"document expands to more than {MAX_NODES} nodes (alias bomb?); refused")
        if id(node) in self.open:
            self.fail(node, "an alias refers to a node that contains it (recursive structure); refused")
        if depth > MAX_DEPTH:
            self.fail(node, f"document nests deeper than {MAX_DEPTH} levels; refused")
        if node.tag not in _ALLOWED_TAGS:
            self.fail(node, f"tag {node.tag!r} is not allowed; pipelines are plain YAML (no !!python or custom tags)")
        line = node.start_mark.line + 1
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
            self.open.add(id(node))
            try:
                return self._collection(node, line, depth)
            finally:
                self.open.discard(id(node))
        value = self.scalars.construct_object(node)
        if isinstance(value, float) and value != value:
            self.fail(node, "NaN is not a valid value")
        return value

    def _collection(self, node: yaml.Node, line: int, depth: int) -> Any:
        if isinstance(node, yaml.MappingNode):
            out = LDict()
            out.line, out.key_lines = line, {}
            for knode, vnode in node.value:
                key = self.read(knode, depth + 1)
                if not isinstance(key, (str, int)) or isinstance(key, bool):
                    self.fail(knode, f"keys must be strings (or column indices), got {key!r}")
                if key in out:
                    self.fail(knode, f"duplicate key {key!r}")
                out[key] = self.read(vnode, depth + 1)
                out.key_lines[key] = knode.start_mark.line + 1
            return out
        seq = LList(self.read(v, depth + 1) for v in node.value)
        seq.line = line
        return seq


def parse(text: str, source: str = "<string>") -> Any:
    """Safely parse YAML text into plain data with line information (raises ConfigError)."""
    size = len(text.encode("utf-8", errors="replace"))
    if size > MAX_BYTES:
        raise ConfigError([Problem(f"document is {size} bytes; the limit is {MAX_BYTES} (1 MiB)", source)])
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark is not None else None
        msg = ": ".join(x for x in (err.context, err.problem) if x)
        raise ConfigError([Problem(f"invalid YAML: {msg}", source, line)]) from None
    except yaml.YAMLError as err:
        raise ConfigError([Problem(f"invalid YAML: {err}", source)]) from None
    if node is None:
        return None
    return _Reader(source, []).read(node)


def _type_name(v: Any) -> str:
    return {dict: "a mapping", LDict: "a mapping", list: "a list", LList: "a list", str: "a string",
            type(None): "nothing"}.get(type(v), type(v).__name__)


class _Builder:
    def __init__(self, source: str):
        self.source = source
        self.problems: list[Problem] = []

    def add(self, message: str, line: int | None, where: str = "", field: str = "") -> None:
        self.problems.append(Problem(message, self.source, line, where, field))

    def steps(self, items: Any, stage: str, prefix: str, line: int | None) -> list[Step]:
        if items is None:
            return []
        if not isinstance(items, list):
            self.add(f"must be a list of steps, got {_type_name(items)}", line, field=stage)
            return []
        out = []
        for i, item in enumerate(items):
            step = self.step(item, f"{prefix}{i + 1}", stage, getattr(items, "line", line))
            if step is not None:
                out.append(step)
        return out if len(out) == len(items) else []

    def step(self, item: Any, pos: str, stage: str, parent_line: int | None) -> Step | None:
        label = f"{'batch ' if stage == 'batch' else ''}step {pos}"
        line = getattr(item, "line", parent_line)
        if not isinstance(item, dict) or len(item) != 1:
            what = f"a mapping with {len(item)} keys" if isinstance(item, dict) else _type_name(item)
            self.add(f"a step is a single-key mapping like 'image.GaussianNoise: {{std: 0.1}}', got {what}", line, label)
            return None
        (name, params), = item.items()
        where = f"{label} ({name})"
        if params is None:
            params = LDict()
            params.line, params.key_lines = line, {}
        if not isinstance(params, dict):
            self.add(f"parameters must be a mapping, got {_type_name(params)}", line, where)
            return None
        key_lines = getattr(params, "key_lines", {})

        def field_line(field: str) -> int | None:
            head = field.split("[")[0].split(".")[0]
            return key_lines.get(head, line)

        if name in COMPOSITES:
            cls = COMPOSITES[name]
            kwargs = {k: v for k, v in params.items() if k != "transforms"}
            unknown = [k for k in kwargs if k not in cls.options]
            for k in unknown:
                close = difflib.get_close_matches(k, ["transforms", *cls.options], n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                self.add(f"unknown parameter{hint} (known: transforms, {', '.join(cls.options)})", field_line(k), where, k)
            if "transforms" not in params:
                self.add("required parameter is missing (the list of child steps)", line, where, "transforms")
                return None
            children = self.steps(params["transforms"], stage, f"{pos}.", field_line("transforms"))
            if unknown or not children:
                if isinstance(params["transforms"], list) and not params["transforms"]:
                    self.add("needs at least one step", field_line("transforms"), where, "transforms")
                return None
            return self._construct(lambda: cls(children, **kwargs), where, field_line)

        if not isinstance(name, str) or not name:
            self.add("step name must be a non-empty string", line, label)
            return None
        if name.startswith(ALBU_PREFIX):
            from ..image.albu import AlbumentationsStep  # imports albumentations (and torch)

            try:
                return self._construct(lambda: AlbumentationsStep(name, **params), where, field_line)
            except KeyError:
                self.add(f"albumentations has no transform {name[len(ALBU_PREFIX):]!r}{albumentations_suggest(name)}", line, where)
                return None
        try:
            cls = get_transform(name)
        except KeyError:
            self.add(f"unknown transform{suggest(name)} (see 'augnoise list')", line, where)
            return None
        return self._construct(lambda: cls(**params), where, field_line)

    def _construct(self, make, where: str, field_line) -> Step | None:
        try:
            return make()
        except ParamError as err:
            for field, msg in err.issues:
                self.add(msg, field_line(field), where, field)
            return None


def from_data(data: Any, source: str = "<string>") -> "Pipeline":
    """Build a Pipeline from parsed YAML data (raises ConfigError listing every problem)."""
    from .pipeline import Pipeline

    b = _Builder(source)
    if not isinstance(data, dict):
        b.add(f"the top level must be a mapping with keys {', '.join(TOP_KEYS)}; got {_type_name(data)}", getattr(data, "line", 1))
        raise ConfigError(b.problems)
    key_lines = getattr(data, "key_lines", {})
    for key in data:
        if key not in TOP_KEYS:
            close = difflib.get_close_matches(str(key), TOP_KEYS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            b.add(f"unknown top-level key{hint} (known: {', '.join(TOP_KEYS)})", key_lines.get(key), field=str(key))
    seed = data.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63):
        b.add(f"must be an integer in [0, 2**63), got {seed!r}", key_lines.get("seed"), field="seed")
    tabular = _tabular_section(b, data.get("tabular"), key_lines.get("tabular")) if "tabular" in data else None
    sample = b.steps(data.get("sample"), "sample", "", key_lines.get("sample"))
    batch = b.steps(data.get("batch"), "batch", "", key_lines.get("batch"))
    from .pipeline import _walk, batch_problem

    for i, (item, step) in enumerate(zip(data.get("sample") or [], sample)):
        for s in _walk([step]):
            if getattr(s, "batch_only", None):
                b.add(s.batch_only, getattr(item, "line", key_lines.get("sample")), f"step {i + 1} ({s.name})")

    for i, (item, step) in enumerate(zip(data.get("batch") or [], batch)):
        problem = batch_problem(step)
        if problem:
            b.add(problem, getattr(item, "line", key_lines.get("batch")), f"batch step {i + 1} ({step.name})")
    if b.problems:
        raise ConfigError(sorted(b.problems, key=lambda p: p.line or 0))
    return Pipeline(sample=sample, batch=batch, seed=seed, tabular=tabular)


def _tabular_section(b: _Builder, sec: Any, line: int | None) -> Any:
    """The ``tabular:`` section: ``columns`` (kinds, bounds) and ``fitted`` (inline or sidecar)."""
    from ..tabular.schema import Fitted, TabularSpec

    if sec is None:
        return None
    if not isinstance(sec, dict):
        b.add(f"must be a mapping with keys columns, fitted; got {_type_name(sec)}", line, field="tabular")
        return None
    lines = getattr(sec, "key_lines", {})
    for k in sec:
        if k not in ("columns", "fitted"):
            b.add("unknown key (known: columns, fitted)", lines.get(k, line), field=f"tabular.{k}")
    try:
        spec = TabularSpec.from_config(sec.get("columns"))
    except ValueError as err:
        cols = sec.get("columns")
        where = getattr(cols, "line", lines.get("columns", line))
        b.add(str(err), where, field="tabular.columns")
        return None
    fitted = sec.get("fitted")
    fline = lines.get("fitted", line)
    if isinstance(fitted, str):
        path = resolve_path(fitted)
        try:
            spec.fitted = Fitted.load_npz(path)
            spec.sidecar = fitted
        except ValueError as err:
            b.add(f"{err}", fline, field="tabular.fitted")
    elif isinstance(fitted, dict):
        try:
            spec.fitted = Fitted.from_data(fitted)
        except ValueError as err:
            b.add(str(err), fline, field="tabular.fitted")
    elif fitted is not None:
        b.add(f"must be a sidecar file name or the statistics mapping, got {_type_name(fitted)}", fline, field="tabular.fitted")
    return spec


def loads(text: str, source: str = "<string>", base_dir: str | os.PathLike[str] | None = None) -> "Pipeline":
    """Load a pipeline from YAML text. ``source`` names it in error messages; relative paths in
    it (e.g. noise files) resolve against ``base_dir`` (default: the current directory)."""
    data = parse(text, source)
    if base_dir is None:
        return from_data(data, source)
    with relative_to(base_dir):
        return from_data(data, source)


def load(path: str | os.PathLike[str]) -> "Pipeline":
    """Load a pipeline from a YAML file (refuses files over 1 MiB before reading them)."""
    p = Path(path)
    source = str(path)
    try:
        size = p.stat().st_size
        if size > MAX_BYTES:
            raise ConfigError([Problem(f"file is {size} bytes; the limit is {MAX_BYTES} (1 MiB)", source)])
        raw = p.read_bytes()
    except OSError as err:
        raise ConfigError([Problem(f"cannot read: {err.strerror or err}", source)]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise ConfigError([Problem("not UTF-8 text", source, line)]) from None
    return loads(text, source, base_dir=p.parent)


class _Flow(dict):
    """A step's parameter mapping: dumped on one line, ``{std: 0.1, p: 0.5}``."""


class _Dumper(yaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        # indent list items under their key, as people write pipelines by hand
        return super().increase_indent(flow, False)


_Dumper.add_representer(
    _Flow, lambda d, v: d.represent_mapping("tag:yaml.org,2002:map", v.items(), flow_style=True)
)


def _plain_data(v: Any) -> Any:
    """Plain YAML data, keys kept as they are (column indices stay integers)."""
    if isinstance(v, dict):
        return {k: _plain_data(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain_data(x) for x in v]
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        return v.item()
    return v


def _plain(v: Any, params: bool = False) -> Any:
    if isinstance(v, dict):
        if len(v) == 1 and not params:  # a step: {Name: params}
            (name, inner), = v.items()
            if isinstance(inner, dict) and "transforms" not in inner:
                return {str(name): _Flow({str(k): _plain(x) for k, x in inner.items()})}
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):  # numpy scalars
        return v.item()
    return v


def dumps(pipeline: "Pipeline") -> str:
    """YAML text of a pipeline; ``loads(dumps(p)) == p`` exactly, seed included."""
    return _dump_data(pipeline.to_dict())


def _dump_data(data: dict[str, Any]) -> str:
    out: dict[str, Any] = {"seed": data["seed"]}
    if "tabular" in data:
        out["tabular"] = _plain_data(data["tabular"])
    out["sample"] = [_plain(s) for s in data["sample"]]
    out["batch"] = [_plain(s) for s in data["batch"]]
    return yaml.dump(out, Dumper=_Dumper, sort_keys=False, default_flow_style=None, width=100)


def dump(pipeline: "Pipeline", path: str | os.PathLike[str]) -> None:
    """Write a pipeline to a YAML file atomically (a temp file renamed into place). Fitted
    tabular statistics go to a sidecar ``<name>.fitted.npz`` beside it, named in the YAML."""
    target = Path(path)
    data = pipeline.to_dict()
    spec = pipeline._tabular
    if spec is not None and spec.fitted is not None:
        sidecar = f"{target.stem}.fitted.npz"
        atomic_write(target.parent / sidecar, spec.fitted.save_npz())
        spec.sidecar = sidecar
        data["tabular"] = spec.to_config(inline=False)
    atomic_write(target, _dump_data(data))
