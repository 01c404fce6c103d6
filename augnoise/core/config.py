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
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Iterable

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from pydantic.functional_validators import BeforeValidator

from .compose import COMPOSITES
from .errors import ConfigError, ParamError, Problem, escape
from .files import atomic_write, read_regular, relative_to
from .pipeline import stage_problems
from .registry import get_transform, load_builtins, prefix_for, suggest
from .sections import SECTIONS, Section
from .sections import type_name as _type_name
from .transform import Step

if TYPE_CHECKING:  # pragma: no cover
    from .pipeline import Pipeline

MAX_BYTES = 1 << 20
MAX_NODES = 100_000
MAX_DEPTH = 64
#: characters of scalar text after aliases are expanded (a small file cannot make huge data,
#: or huge error messages, by aliasing one long string many times)
MAX_CHARS = 4 << 20
#: the reader's problem for a NaN scalar; it gives way to a step's own message at the same line
NAN_MESSAGE = "NaN is not a valid value"
_STD = "tag:yaml.org,2002:"
_ALLOWED_TAGS = {_STD + t for t in ("map", "seq", "str", "int", "float", "bool", "null")}


class _Loader(yaml.SafeLoader):
    """SafeLoader that also reads the YAML 1.2 float forms people write (``1e-3``, ``2E5``):
    YAML 1.1 wants a dot in an exponent float and would read ``1e-3`` as a string."""


_Loader.add_implicit_resolver(
    _STD + "float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)


class LDict(dict):
    """A mapping read from YAML, remembering its line and each key's line (1-based)."""

    line: int = 0
    key_lines: dict[str, int]


class LList(list):
    line: int = 0


class _Fatal(Exception):
    """Reading stops: the document is too big, too deep or self-referential."""


def _line(node: Any) -> int | None:
    mark = getattr(node, "start_mark", None)
    return mark.line + 1 if mark is not None else None


def _compose(text: str, source: str) -> yaml.Node | None:
    """Compose the YAML node graph without recursion (PyYAML's composer recurses per nesting
    level, so a 1 KB file of brackets raised RecursionError): nesting deeper than MAX_DEPTH
    and more than MAX_NODES events are refused while the events stream in."""
    anchors: dict[str, yaml.Node] = {}
    stack: list[tuple[yaml.Node, list[Any]]] = []  # open collections and their pending items
    root: yaml.Node | None = None
    documents = 0
    events = 0
    loader: _Loader | None = None
    try:
        loader = _Loader(text)  # its reader refuses non-printable characters right here
        while loader.check_event():
            event = loader.get_event()
            events += 1
            if events > MAX_NODES:
                raise ConfigError([Problem(f"document has more than {MAX_NODES} nodes; refused", source,
                                           _line(event))])
            if isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise ConfigError([Problem("invalid YAML: expected a single document in the stream: but found "
                                               "another document", source, _line(event))])
                continue
            if isinstance(event, (yaml.StreamStartEvent, yaml.StreamEndEvent, yaml.DocumentEndEvent)):
                continue
            node: yaml.Node | None = None
            if isinstance(event, yaml.AliasEvent):
                if event.anchor not in anchors:
                    raise ConfigError([Problem(f"invalid YAML: found undefined alias {escape(event.anchor, 60)!r}",
                                               source, _line(event))])
                node = anchors[event.anchor]
            elif isinstance(event, yaml.ScalarEvent):
                tag = event.tag
                if tag is None or tag == "!":
                    tag = loader.resolve(yaml.ScalarNode, event.value, event.implicit)
                node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, style=event.style)
                if event.anchor is not None:
                    anchors[event.anchor] = node
            elif isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                if len(stack) >= MAX_DEPTH:
                    raise ConfigError([Problem(f"document nests deeper than {MAX_DEPTH} levels; refused", source,
                                               _line(event))])
                is_seq = isinstance(event, yaml.SequenceStartEvent)
                kind = yaml.SequenceNode if is_seq else yaml.MappingNode
                tag = event.tag
                if tag is None or tag == "!":
                    tag = loader.resolve(kind, None, event.implicit)
                coll = kind(tag, [], event.start_mark, None, flow_style=event.flow_style)
                if event.anchor is not None:
                    anchors[event.anchor] = coll
                stack.append((coll, []))
                continue
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                coll, items = stack.pop()
                coll.end_mark = event.end_mark
                coll.value = items if isinstance(coll, yaml.SequenceNode) else list(zip(items[::2], items[1::2]))
                node = coll
            if node is None:  # pragma: no cover - every event kind is handled above
                continue
            if stack:
                stack[-1][1].append(node)
            else:
                root = node
    except yaml.reader.ReaderError as err:
        line = text[: max(err.position, 0)].count("\n") + 1
        char = err.character if isinstance(err.character, str) else chr(err.character)
        raise ConfigError([Problem(f"invalid YAML: character {escape(char)!r} (U+{ord(char):04X}) is not allowed "
                                   f"in YAML text", source, line)]) from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark is not None else None
        msg = ": ".join(x for x in (err.context, err.problem) if x)
        raise ConfigError([Problem(f"invalid YAML: {msg}", source, line)]) from None
    except yaml.YAMLError as err:
        raise ConfigError([Problem(f"invalid YAML: {err}", source)]) from None
    finally:
        if loader is not None:
            loader.dispose()
    return root


class _Reader:
    """Turns a composed YAML node graph into plain data, enforcing the safety rules. Problems
    that leave the rest readable (bad scalars, NaN, duplicate keys, disallowed tags) are
    collected and reading goes on, so one file reports all of them; size, depth and recursion
    problems stop reading."""

    def __init__(self, source: str, problems: list[Problem]):
        self.source = source
        self.problems = problems
        self.count = 0
        self.chars = 0
        self.scalars = _Loader("")
        self.open: set[int] = set()  # ids of the collection nodes being read (recursion guard)

    def fatal(self, node: yaml.Node | None, message: str) -> None:
        raise ConfigError([Problem(message, self.source, _line(node))])

    def note(self, node: yaml.Node | None, message: str) -> None:
        self.problems.append(Problem(message, self.source, _line(node)))

    def read(self, node: yaml.Node, depth: int = 0) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            self.fatal(node, f"document expands to more than {MAX_NODES} nodes (alias bomb?); refused")
        if id(node) in self.open:
            self.fatal(node, "an alias refers to a node that contains it (recursive structure); refused")
        if depth > MAX_DEPTH:
            self.fatal(node, f"document nests deeper than {MAX_DEPTH} levels (aliases included); refused")
        if node.tag not in _ALLOWED_TAGS:
            self.note(node, f"tag {escape(node.tag, 80)!r} is not allowed; pipelines are plain YAML (no !!python or "
                            f"custom tags)")
            return None
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
            if isinstance(node, yaml.MappingNode) and node.tag != _STD + "map" or \
                    isinstance(node, yaml.SequenceNode) and node.tag != _STD + "seq":
                self.note(node, f"tag {escape(node.tag, 80)!r} does not fit a {'mapping' if isinstance(node, yaml.MappingNode) else 'list'}")
                return None
            self.open.add(id(node))
            try:
                return self._collection(node, _line(node) or 0, depth)
            finally:
                self.open.discard(id(node))
        self.chars += len(node.value)
        if self.chars > MAX_CHARS:
            self.fatal(node, f"document expands to more than {MAX_CHARS} characters of text (aliases included); refused")
        try:
            value = self.scalars.construct_object(node)
        except (ValueError, TypeError, IndexError, KeyError, OverflowError, yaml.YAMLError) as err:
            kind = node.tag[len(_STD):] if node.tag.startswith(_STD) else node.tag
            why = str(err).splitlines()[0] if "digits" in str(err) else ""
            self.note(node, f"cannot read {escape(node.value, 40)!r} as {kind}" + (f" ({escape(why, 120)})" if why else ""))
            return None
        if isinstance(value, float) and value != value:
            self.note(node, NAN_MESSAGE)
        return value

    def _collection(self, node: yaml.Node, line: int, depth: int) -> Any:
        if isinstance(node, yaml.MappingNode):
            out = LDict()
            out.line, out.key_lines = line, {}
            for knode, vnode in node.value:
                if not isinstance(knode, yaml.ScalarNode):
                    self.note(knode, "keys must be strings (or column indices), got a "
                                     f"{'mapping' if isinstance(knode, yaml.MappingNode) else 'list'}")
                    continue
                key = self.read(knode, depth + 1)
                if key is None and knode.tag in _ALLOWED_TAGS and knode.tag != _STD + "null":
                    continue  # the key itself could not be read (noted)
                if not isinstance(key, (str, int)) or isinstance(key, bool):
                    self.note(knode, f"keys must be strings (or column indices), got {escape(repr(key), 60)}")
                    continue
                if key in out:
                    self.note(knode, f"duplicate key {escape(repr(key), 60)}")
                    continue
                out[key] = self.read(vnode, depth + 1)
                out.key_lines[key] = _line(knode) or line
            return out
        seq = LList(self.read(v, depth + 1) for v in node.value)
        seq.line = line
        return seq


def parse(text: str, source: str = "<string>") -> Any:
    """Safely parse YAML text into plain data with line information (raises ConfigError
    listing every problem the reader finds)."""
    data, problems = _parse(text, source)
    if problems:
        raise ConfigError(problems)
    return data


def _parse(text: str, source: str) -> tuple[Any, list[Problem]]:
    """(data, reader problems): reading goes on past recoverable problems."""
    size = len(text.encode("utf-8", errors="replace"))
    if size > MAX_BYTES:
        raise ConfigError([Problem(f"document is {size} bytes; the limit is {MAX_BYTES} (1 MiB)", source)])
    node = _compose(text, source)
    if node is None:
        return None, []
    problems: list[Problem] = []
    reader = _Reader(source, problems)
    return reader.read(node), problems


#: the pipeline file format's version: written by dumps, read by loads (a newer one is refused
#: with one line, since its keys may mean things this version does not know)
FORMAT_VERSION = 1


def top_keys() -> tuple[str, ...]:
    """The keys a pipeline document may have: version, seed, the registered sections, sample,
    batch."""
    load_builtins()
    return ("version", "seed", *SECTIONS, "sample", "batch")


def _check_version(v: Any) -> Any:
    if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
        raise ValueError(f"must be a positive integer (the file format version; this augnoise writes "
                         f"{FORMAT_VERSION}), got {v!r}")
    return v


def _check_seed(v: Any) -> Any:
    if v is not None and (isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < 2**63):
        raise ValueError(f"must be an integer in [0, 2**63), got {v!r}")
    return v


def _check_stage(v: Any) -> Any:
    if v is not None and not isinstance(v, list):
        raise ValueError(f"must be a list of steps, got {_type_name(v)}")
    return v


_DOC_MODELS: dict[tuple[str, ...], type[BaseModel]] = {}


def document_model() -> type[BaseModel]:
    """The pydantic model of a pipeline document's top level (sections as opaque values; each
    section validates its own)."""
    sections = tuple(SECTIONS)
    model = _DOC_MODELS.get(sections)
    if model is None:
        fields: dict[str, Any] = {
            "version": (Annotated[Any, BeforeValidator(_check_version)], Field(None, description="file format version")),
            "seed": (Annotated[Any, BeforeValidator(_check_seed)], Field(None, description="pipeline seed; drawn and recorded when left out")),
            "sample": (Annotated[Any, BeforeValidator(_check_stage)], Field(None, description="per-sample steps")),
            "batch": (Annotated[Any, BeforeValidator(_check_stage)], Field(None, description="batch-stage steps")),
        }
        for key in sections:
            fields[key] = (Any, Field(None, description=f"the {key} section"))
        model = create_model("PipelineDocument", __config__=ConfigDict(extra="forbid"), **fields)
        _DOC_MODELS[sections] = model
    return model


class _Builder:
    def __init__(self, source: str):
        self.source = source
        self.problems: list[Problem] = []

    def add(self, message: str, line: int | None, where: str = "", field: str = "") -> None:
        self.problems.append(Problem(message, self.source, line, where, field))

    def document(self, data: Any) -> dict[str, Any] | None:
        keys = top_keys()
        if not isinstance(data, dict):
            self.add(f"the top level must be a mapping with keys {', '.join(keys)}; got {_type_name(data)}",
                     getattr(data, "line", 1))
            return None
        key_lines = {str(k): v for k, v in getattr(data, "key_lines", {}).items()}
        version = data.get("version")
        if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
            from .. import __version__

            self.add(f"file format version {version} is newer than this augnoise ({__version__}) reads "
                     f"(up to {FORMAT_VERSION}): upgrade augnoise", key_lines.get("version"), field="version")
            return None
        try:
            document_model()(**{str(k): v for k, v in data.items()})
        except ValidationError as err:
            for e in err.errors():
                key = str(e["loc"][0]) if e.get("loc") else ""
                if e["type"] == "extra_forbidden":
                    close = difflib.get_close_matches(key, keys, n=1)
                    hint = f"; did you mean {close[0]!r}?" if close else ""
                    self.add(f"unknown top-level key{hint} (known: {', '.join(keys)})", key_lines.get(key), field=key)
                else:
                    ctx_err = (e.get("ctx") or {}).get("error")
                    self.add(str(ctx_err) if ctx_err is not None else e["msg"], key_lines.get(key), field=key)
        return data

    def steps(self, items: Any, stage: str, prefix: str, line: int | None) -> list[Step] | None:
        """The steps of a list (None if any of them is invalid)."""
        out = []
        for i, item in enumerate(items):
            step = self.step(item, f"{prefix}{i + 1}", stage, getattr(items, "line", line))
            out.append(step)
        return out if all(s is not None for s in out) else None

    def step(self, item: Any, pos: str, stage: str, parent_line: int | None) -> Step | None:
        label = f"{'batch ' if stage == 'batch' else ''}step {pos}"
        line = getattr(item, "line", parent_line)
        if not isinstance(item, dict) or len(item) != 1:
            what = f"a mapping with {len(item)} keys" if isinstance(item, dict) else _type_name(item)
            self.add(f"a step is a single-key mapping like 'image.GaussianNoise: {{std: 0.1}}', got {what}", line, label)
            return None
        (name, params), = item.items()
        if not isinstance(name, str) or not name:
            self.add("step name must be a non-empty string", line, label)
            return None
        where = f"{label} ({name})"
        if params is None:
            params = LDict()
            params.line, params.key_lines = line, {}
        if not isinstance(params, dict):
            self.add(f"parameters must be a mapping, got {_type_name(params)}", line, where)
            return None
        key_lines = {str(k): v for k, v in getattr(params, "key_lines", {}).items()}

        def field_line(field: str) -> int | None:
            head = field.split("[")[0].split(".")[0]
            return key_lines.get(head, line)

        kwargs = {str(k): v for k, v in params.items()}
        if name in COMPOSITES:
            cls = COMPOSITES[name]
            issues = cls.validate_config(kwargs)
            for field, msg in issues:
                self.add(msg, field_line(field), where, field)
            children = kwargs.get("transforms")
            built = None
            if isinstance(children, list):
                built = self.steps(children, stage, f"{pos}.", field_line("transforms"))
            if issues or built is None:
                return None
            kwargs["transforms"] = built
            return self._construct(lambda: cls(**kwargs), where, field_line)
        resolver = prefix_for(name)
        if resolver is not None:
            try:
                return self._construct(lambda: resolver.build(name, kwargs), where, field_line)
            except KeyError:
                short = name[len(resolver.prefix):]
                self.add(f"{resolver.prefix.rstrip('.')} has no transform {short!r}{resolver.suggest(name)}", line, where)
                return None
        try:
            cls_t = get_transform(name)
        except KeyError:
            self.add(f"unknown transform{suggest(name)} (see 'augnoise list')", line, where)
            return None
        for nested in getattr(cls_t, "nested_steps", ()):  # steps inside a parameter: sub-steps pos.1, ...
            children = kwargs.get(nested)
            if isinstance(children, list) and children:
                built = self.steps(children, stage, f"{pos}.", field_line(nested))
                if built is None:
                    return None
                kwargs[nested] = built
        return self._construct(lambda: cls_t(**kwargs), where, field_line)

    def _construct(self, make, where: str, field_line) -> Step | None:
        try:
            return make()
        except ParamError as err:
            for field, msg in err.issues:
                self.add(msg, field_line(field), where, field)
            return None
        except TypeError as err:  # a parameter name that collides with the constructor's own
            text = str(err)
            m = re.search(r"(?:multiple values for|unexpected keyword) argument '([^']*)'", text)
            if m:
                self.add(f"unknown parameter {escape(m.group(1), 60)!r}", field_line(m.group(1)), where, m.group(1))
            else:
                self.add(f"invalid parameters: {escape(text.splitlines()[0] if text else type(err).__name__)}",
                         field_line(""), where)
            return None

    def stage(self, items: list[Any], steps: list[Step], stage: str, line: int | None, fields: Any = None) -> None:
        """Report every step that cannot stand in ``stage`` (or honour ``fields``), at its own line."""
        for pos, name, msg in stage_problems(steps, stage, fields):
            node: Any = items
            item = None
            for part in pos.split("."):
                item = node[int(part) - 1] if isinstance(node, list) else None
                node = None
                if isinstance(item, dict) and len(item) == 1:
                    inner = next(iter(item.values()))
                    node = inner.get("transforms") if isinstance(inner, dict) else None
            label = f"{'batch ' if stage == 'batch' else ''}step {pos} ({name})"
            self.add(msg, getattr(item, "line", line), label)

    def sections(self, data: dict[str, Any]) -> dict[str, Section]:
        key_lines = getattr(data, "key_lines", {})
        out = {}
        for key, cls in SECTIONS.items():
            if key not in data or data[key] is None:
                continue

            def report(message: str, field: str, line: int | None, key: str = key) -> None:
                self.add(message, line if line is not None else key_lines.get(key), field=f"{key}.{field}" if field else key)

            sec = cls.from_config(data[key], report, key_lines.get(key))
            if sec is not None:
                out[key] = sec
        return out


def from_data(data: Any, source: str = "<string>") -> "Pipeline":
    """Build a Pipeline from parsed YAML data (raises ConfigError listing every problem)."""
    pipeline, problems = _build(data, source)
    if pipeline is None:
        raise ConfigError(problems)
    return pipeline


def _build(data: Any, source: str) -> "tuple[Pipeline | None, list[Problem]]":
    from .pipeline import Pipeline

    b = _Builder(source)
    doc = b.document(data)
    if doc is None:
        return None, b.problems
    key_lines = getattr(doc, "key_lines", {})
    sections = b.sections(doc)
    stages: dict[str, list[Step]] = {}
    for stage in ("sample", "batch"):
        items = doc.get(stage)
        if not isinstance(items, list):
            stages[stage] = []
            continue
        built = b.steps(items, stage, "", key_lines.get(stage))
        if built is not None:
            b.stage(items, built, stage, key_lines.get(stage), sections.get("fields"))
            stages[stage] = built
    if b.problems:
        return None, sorted(b.problems, key=lambda p: p.line or 0)
    seed = doc.get("seed")
    return Pipeline(sample=stages["sample"], batch=stages["batch"], seed=seed, sections=sections), []


def loads(text: str, source: str = "<string>", base_dir: str | os.PathLike[str] | None = None,
          allow_paths: Iterable[str | os.PathLike[str]] = ()) -> "Pipeline":
    """Load a pipeline from YAML text. ``source`` names it in error messages. Files the pipeline
    names (noise files, sidecars) resolve against ``base_dir`` (default: the current directory)
    and must stay inside it or inside one of ``allow_paths`` (see the documentation's "Safety and
    limits")."""
    return _loads(text, source, base_dir, allow_paths, confine=True)


def _loads(text: str, source: str, base_dir: str | os.PathLike[str] | None,
           allow_paths: Iterable[str | os.PathLike[str]] = (), confine: bool = True) -> "Pipeline":
    """:func:`loads`; ``confine=False`` only for text dumped from a pipeline the caller already
    built in this program (e.g. sent to Ray actors), whose files were checked when it was built."""
    data, problems = _parse(text, source)
    with relative_to(base_dir, confine=confine, allow=allow_paths):
        pipeline, built = _build(data, source)
    if not problems and pipeline is not None:
        return pipeline
    # the reader's generic "NaN" problem gives way to the step/field message of its line
    lines = {p.line for p in built}
    problems = [p for p in problems if not (p.message == NAN_MESSAGE and p.line in lines)]
    raise ConfigError(sorted(problems + built, key=lambda p: p.line or 0))


def load(path: str | os.PathLike[str], allow_paths: Iterable[str | os.PathLike[str]] = ()) -> "Pipeline":
    """Load a pipeline from a YAML file (at most 1 MiB, a regular file). Files it names resolve
    against the file's folder and must stay inside it or inside one of ``allow_paths``."""
    p = Path(path)
    source = str(path)
    try:
        raw = read_regular(p, MAX_BYTES, "pipeline file", detail=True)
    except ValueError as err:
        raise ConfigError([Problem(_read_problem(str(err), source), source)]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise ConfigError([Problem("not UTF-8 text", source, line)]) from None
    return loads(text, source, base_dir=p.parent, allow_paths=allow_paths)


def _read_problem(message: str, source: str) -> str:
    """read_regular's message without the file name (the Problem names it already)."""
    prefix = f"pipeline file {source!r}: "
    message = message[len(prefix):] if message.startswith(prefix) else message
    return message + " (1 MiB)" if message.endswith(f"the limit is {MAX_BYTES}") else message


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
    out: dict[str, Any] = {"version": FORMAT_VERSION, "seed": data["seed"]}
    for key in SECTIONS:
        if key in data:
            out[key] = _plain_data(data[key])
    out["sample"] = [_plain(s) for s in data["sample"]]
    out["batch"] = [_plain(s) for s in data["batch"]]
    return yaml.dump(out, Dumper=_Dumper, sort_keys=False, default_flow_style=None, width=100)


def dump(pipeline: "Pipeline", path: str | os.PathLike[str]) -> None:
    """Write a pipeline to a YAML file atomically (a temp file renamed into place). Sections
    may write sidecar files beside it (fitted tabular statistics: ``<name>.fitted.npz``),
    named in the YAML."""
    target = Path(path)
    data = pipeline.to_dict()
    for key, sec in pipeline.sections.items():
        files = sec.sidecars(target.stem)
        for name, blob in files.items():
            atomic_write(target.parent / name, blob)
        if files:
            data[key] = sec.to_config(inline=False)
    atomic_write(target, _dump_data(data))
