"""Hostile pipeline documents (issue 14, items 2 to 5 and 11): only ConfigError, located,
single-line, escaped and bounded messages, every problem of a file reported, and the limits
applied before composition work can blow up."""
from __future__ import annotations

import os
import random
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import augnoise
from augnoise import ConfigError
from augnoise.core.config import MAX_CHARS, MAX_DEPTH, MAX_NODES, parse
from augnoise.core.errors import MAX_MESSAGE, MAX_PROBLEMS, escape
from tests.conftest import ROOT
from tests.helpers import yaml_fuzz

STEP = "seed: 1\nsample:\n  - image.GaussianNoise: {std: 0.1}\n"


def problems_of(text: str, source: str = "t.yaml") -> list:
    with pytest.raises(ConfigError) as info:
        augnoise.loads(text, source)
    return info.value.problems


def assert_well_formed(err: ConfigError) -> None:
    lines = str(err).split("\n")
    assert len(lines) <= MAX_PROBLEMS + 1
    assert len(lines) == min(len(err.problems), MAX_PROBLEMS) + (len(err.problems) > MAX_PROBLEMS)
    for line in lines:
        assert all(ch.isprintable() or ch == " " for ch in line), line
        assert len(line) <= MAX_MESSAGE + 500, len(line)


# ---- the fuzz ------------------------------------------------------------------------------

@settings(max_examples=300)
@given(st.randoms(use_true_random=False))
def test_issue14_fuzzed_documents_end_in_config_errors(rng):
    """Structure and token mutations of the shipped pipelines (hostile tags, anchors, control
    characters, deep nesting, huge numbers, forged names): only ConfigError, every problem
    located, one escaped bounded line each."""
    text = yaml_fuzz.mutate(rng.choice(yaml_fuzz.corpus()), rng)
    assert yaml_fuzz.check(text) is None, text[:500]


def test_issue14_fuzz_harness_detects_the_old_failures(monkeypatch):
    """The fuzz check is not vacuous: it flags each failure class the old parser showed."""
    from augnoise.core.errors import Problem

    assert yaml_fuzz.check("seed: 1\n", "x") is None
    cases = {
        "unlocated message": ConfigError([Problem("x", "s")]),
        "unescaped control characters": ConfigError([Problem("x", "s", 1)]),
        "RecursionError": RecursionError(),
        "KeyError": KeyError("k"),
    }
    for want, exc in cases.items():
        if want == "unescaped control characters":
            exc.args = ("s:1: a\x1bb",)

        def boom(*a, exc=exc, **k):
            raise exc

        monkeypatch.setattr(augnoise, "loads", boom)
        assert yaml_fuzz.check("seed: 1\n") == want


# ---- item 2: non-library exceptions ----------------------------------------------------------

@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 1000, 20_000])
def test_issue14_recursion_error_deep_nesting(depth):
    text = "seed: 1\nextra: " + "[" * depth + "]" * depth + "\n"
    (p,) = problems_of(text)
    assert p.line == 2 and f"nests deeper than {MAX_DEPTH} levels" in p.message
    block = "seed: 1\nextra:\n" + "".join(" " * (2 * d) + f"k{d}:\n" for d in range(min(depth, 300)))
    (p,) = problems_of(block)
    assert p.line is not None and "nests deeper" in p.message


@pytest.mark.parametrize("text, line, field, message", [
    ("sample: 5\n", 1, "sample", "must be a list of steps, got a number"),
    ("sample:\n  - image.GaussianNoise: {self: 1}\n", 2, "self", "unknown parameter"),
    ("sample:\n  - image.GaussianNoise: {0: 1}\n", 2, "0", "unknown parameter"),
    ("0: 1\nseed: 1\n", 1, "0", "unknown top-level key"),
])
def test_issue14_type_error_keys(text, line, field, message):
    problems = problems_of(text)
    assert any(p.line == line and p.field == field and message in p.message for p in problems), problems


@pytest.mark.parametrize("value, message", [
    ("!!int abc", "cannot read 'abc' as int"),
    ("!!int ''", "cannot read '' as int"),
    ("!!bool maybe", "cannot read 'maybe' as bool"),
    ("!!float x", "cannot read 'x' as float"),
    ("1" * 5000, "cannot read '1111111111111111111111111111111111111...' as int (Exceeds the limit"),
])
def test_issue14_value_error_from_tags(value, message):
    problems = problems_of(f"seed: {value}\nsample:\n  - image.GaussianNoise: {{std: -1}}\n")
    assert problems[0].line == 1 and problems[0].message.startswith(message), problems
    # reading went on: the step's own problem is reported too
    assert any(p.line == 3 and p.field == "std" for p in problems)


def test_issue14_validate_checks_every_file_and_exits_2(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text(STEP)
    deep = tmp_path / "deep.yaml"
    deep.write_text("seed: " + "[" * 5000 + "]" * 5000 + "\n")
    tag = tmp_path / "tag.yaml"
    tag.write_text("seed: !!int abc\n")
    res = subprocess.run([sys.executable, "-m", "augnoise.cli.main", "validate", str(deep), str(tag), str(good), "/dev/zero"],
                         capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 2
    err = res.stderr.splitlines()
    assert err == [
        f"{deep}:1: document nests deeper than {MAX_DEPTH} levels; refused",
        f"{tag}:1: cannot read 'abc' as int",
        "/dev/zero: cannot read: not a regular file",
    ]
    assert res.stdout.startswith(f"{good}: ok")
    assert "unexpected" not in res.stderr and "Traceback" not in res.stderr


# ---- item 3: unlocated, multi-line and forged messages ------------------------------------

@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\x7f", "\ud800", "\ufffe"])
def test_issue14_control_characters_located(char):
    text = f"seed: 1\nsample:\n  - image.GaussianNoise: {{std: 0.1}}  # {char}\n"
    (p,) = problems_of(text)
    assert p.line == 3 and p.message.startswith("invalid YAML: character")
    assert "\n" not in str(p) and all(ch.isprintable() for ch in str(p))


@pytest.mark.parametrize("name", ["x\nevil.yaml:1: ok", "\x1b[2J\x1b[31mred", "a\rb", "a\u2028b\x85c"])
def test_issue14_names_escaped(name):
    quoted = name.encode("unicode_escape").decode("ascii").replace('"', '\\"')
    text = f'seed: 1\nsample:\n  - "{quoted}": {{"{quoted}": 1}}\n  - image.GaussianNoise: {{"{quoted}": 1}}\n'
    with pytest.raises(ConfigError) as info:
        augnoise.loads(text, "t.yaml")
    out = str(info.value)
    assert out.count("\n") == len(info.value.problems) - 1
    assert all(ch.isprintable() or ch in " \n" for ch in out)
    assert escape(name, 80) in out
    # the file name is escaped the same way
    with pytest.raises(ConfigError) as info:
        augnoise.loads("seed: -1\n", "evil\n.yaml")
    assert str(info.value) == "evil\\n.yaml:1: seed: must be an integer in [0, 2**63), got -1"


def test_issue14_multi_line_messages_are_single_lines():
    """PyYAML's scanner messages span lines; ours never do."""
    for text in ["seed: 1\n  bad: [\n", "seed: 'x\n", "a: b: c\n", "- a\nb: c\n", "seed: 1\n\t- x\n", "*nope\n"]:
        with pytest.raises(ConfigError) as info:
            augnoise.loads(text, "t.yaml")
        (p,) = info.value.problems
        assert "\n" not in str(p) and p.line is not None, str(p)


# ---- item 4: message amplification ------------------------------------------------------

def test_issue14_message_amplification_bounded():
    """A long string aliased into many fields: bounded message, bounded expansion."""
    long = "y" * 900_000
    text = f"l: &l {long}\nseed: 1\nsample:\n" + "".join(
        "  - image.GaussianNoise: {std: *l, mean: *l}\n" for _ in range(20))
    with pytest.raises(ConfigError) as info:
        augnoise.loads(text, "t.yaml")
    assert len(str(info.value)) < 2 * MAX_MESSAGE
    assert f"more than {MAX_CHARS} characters" in str(info.value)
    # within the character budget: each value's message is cut
    text = f"l: &l {'y' * 100_000}\nseed: 1\nsample:\n" + "".join(
        "  - image.GaussianNoise: {std: *l}\n" for _ in range(30))
    with pytest.raises(ConfigError) as info:
        augnoise.loads(text, "t.yaml")
    assert_well_formed(info.value)
    assert len(str(info.value)) < 32 * (MAX_MESSAGE + 100)


def test_issue14_problems_capped_at_100():
    text = "seed: 1\nsample:\n" + "".join(f"  - image.GaussianNoise: {{std: -{i + 1}}}\n" for i in range(3000))
    with pytest.raises(ConfigError) as info:
        augnoise.loads(text, "t.yaml")
    assert len(info.value.problems) == 3000  # all found, for callers
    lines = str(info.value).splitlines()
    assert len(lines) == MAX_PROBLEMS + 1 and lines[-1] == "t.yaml: ... and 2900 more problems"
    assert_well_formed(info.value)


def test_issue14_node_limit_located():
    width = 10
    rows = ["a0: &a0 [" + ",".join(["x"] * width) + "]"]
    rows += [f"a{d}: &a{d} [" + ",".join([f"*a{d - 1}"] * width) + "]" for d in range(1, 6)]
    (p,) = problems_of("\n".join(rows) + "\n")
    assert p.line is not None and f"more than {MAX_NODES} nodes" in p.message


# ---- item 5: validation stops early ------------------------------------------------------

def test_issue14_nan_does_not_hide_other_problems():
    text = ("seed: 1\nsample:\n  - image.GaussianNoise: {std: .nan}\n  - image.ShotNoise: {photons: -1}\n"
            "  - image.GaussianNoise: {std: 0.1, bogus: 1}\n")
    problems = problems_of(text)
    assert [(p.line, p.where, p.field) for p in problems] == [
        (3, "step 1 (image.GaussianNoise)", "std"),
        (4, "step 2 (image.ShotNoise)", "photons"),
        (5, "step 3 (image.GaussianNoise)", "bogus"),
    ]
    assert "got nan" in problems[0].message


def test_issue14_duplicate_keys_all_reported():
    text = "seed: 1\nseed: 2\nsample:\n  - image.GaussianNoise: {std: 0.1, std: 0.2, p: 0.5, p: 0.4}\n"
    problems = problems_of(text)
    assert [(p.line, p.message) for p in problems] == [
        (2, "duplicate key 'seed'"), (4, "duplicate key 'std'"), (4, "duplicate key 'p'")]


# ---- item 11: YAML 1.2 floats ---------------------------------------------------------

@pytest.mark.parametrize("text, value", [
    ("1e-3", 1e-3), ("1E-3", 1e-3), ("2e5", 2e5), ("+1e2", 100.0), ("-1.5e-2", -0.015), (".5", 0.5),
    ("1.0e-3", 1e-3), ("5.", 5.0),
])
def test_issue14_yaml12_floats_are_numbers(text, value):
    data = parse(f"x: {text}\n")
    assert data["x"] == value and isinstance(data["x"], float)


def test_issue14_std_1e_3_accepted():
    p = augnoise.loads("seed: 1\nsample:\n  - image.GaussianNoise: {std: 1e-3}\n")
    assert p.sample[0].params.std == 1e-3
    # strings stay strings; integers stay integers
    data = parse("a: e5\nb: 1e\nc: '1e-3'\nd: 12\n")
    assert data == {"a": "e5", "b": "1e", "c": "1e-3", "d": 12}


def test_issue14_dev_zero_and_fifo_pipeline_files(tmp_path):
    with pytest.raises(ConfigError, match=r"^/dev/zero: cannot read: not a regular file$"):
        augnoise.load("/dev/zero")
    fifo = tmp_path / "p.yaml"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError, match="not a regular file"):
        augnoise.load(fifo)  # opened non-blocking: never waits for a writer


def test_fuzz_mutations_are_reproducible():
    a = [yaml_fuzz.mutate(STEP, random.Random(s)) for s in range(20)]
    b = [yaml_fuzz.mutate(STEP, random.Random(s)) for s in range(20)]
    assert a == b and len(set(a)) > 10
