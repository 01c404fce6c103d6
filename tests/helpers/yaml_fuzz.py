"""Mutations of pipeline YAML for fuzzing ``augnoise.loads`` (used by tests/core/test_yaml_fuzz.py
and by ``python -m tests.helpers.yaml_fuzz N`` for a long run that counts failures by class).

Every mutation is a function of a ``random.Random``, so a run is reproducible from its seed.
"""
from __future__ import annotations

import random
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PIPELINES = ROOT / "pipelines"

#: hostile scalars: bad tags, YAML 1.1/1.2 number forms, huge numbers, control characters,
#: names that try to forge output, aliases
HOSTILE = [
    "!!int abc", "!!int ''", "!!bool maybe", "!!float x", "!!null 3", "!!str", "!!map []", "!!seq {}",
    "!!python/object/apply:os.system ['true']", "!!binary AAAA", "!!timestamp 2001-99-99", "!custom 1",
    ".nan", ".inf", "-.inf", "1e-3", ".5", "1E400", "-0.0", "0x1F", "0o17", "1_000", "1:20",
    "1" * 5000, "-" + "9" * 4400, "2e308", "1e-320",
    '"\\x1b[31mred\\x1b[0m"', '"x\\nevil.yaml:1: ok"', '"\\u0000"', '"\\r\\t"', "'x'\n", "\x07", "\x1b[2J",
    "\u202e", "\ufeff", "~", "null", "yes", "on", "[]", "{}", "[[[[[[[]]]]]]]", "{self: 1}", "{0: 1}",
    "{1.5: 1}", "{null: 1}", "{[1]: 2}", "{? [a]: 1}", "*nope", "&a [*a]", "&b 1", "[*b, *b]", "? x",
    "{std: 0.1, std: 0.2}", "- 1", ": :", "|\n  block", ">", "'unterminated", '"unterminated', "{", "]",
]
#: hostile keys for step parameters and step names
HOSTILE_KEYS = [
    "self", "cls", "__class__", "0", "1.5", "null", "true", "p\nq", "std\x1b[0m", "x" * 400,
    "image.GaussianNoise\nevil.yaml:1: ok", "OneOf", "transforms", "", "''", '"a\\u0085b"', "[1]",
]


def corpus() -> list[str]:
    """The shipped pipelines: the starting points of every mutation."""
    return [p.read_text() for p in sorted(PIPELINES.glob("*.yaml"))]


def _scalar_positions(text: str) -> list[tuple[int, int]]:
    """Spans of plain values after ': ' or '- ' or inside flow collections (rough, on purpose)."""
    spans = []
    i = 0
    n = len(text)
    while i < n:
        if text[i] in ":,[{-" and i + 1 < n and text[i + 1] == " ":
            j = i + 2
            k = j
            while k < n and text[k] not in ",]}\n#":
                k += 1
            if k > j:
                spans.append((j, k))
            i = k
        else:
            i += 1
    return spans


def mutate(text: str, rng: random.Random, rounds: int = 0) -> str:
    """One to three mutations of ``text``: token swaps, hostile values and keys, structure
    changes, deep nesting, anchors, control characters."""
    rounds = rounds or rng.randint(1, 3)
    for _ in range(rounds):
        kind = rng.randrange(12)
        lines = text.splitlines()
        if kind <= 2:  # replace a scalar by a hostile one
            spans = _scalar_positions(text)
            if spans:
                a, b = rng.choice(spans)
                text = text[:a] + rng.choice(HOSTILE) + text[b:]
        elif kind == 3:  # hostile key in a flow mapping or a step name
            spans = [i for i, ch in enumerate(text) if ch == "{"]
            key = rng.choice(HOSTILE_KEYS)
            if spans and rng.random() < 0.7:
                i = rng.choice(spans)
                text = text[: i + 1] + f"{key}: {rng.choice(HOSTILE)}, " + text[i + 1:]
            else:
                text = text.replace("image.", key + ".", 1) if rng.random() < 0.5 else text + f"\n{key}: 1\n"
        elif kind == 4 and lines:  # delete, duplicate or swap lines
            i = rng.randrange(len(lines))
            op = rng.randrange(3)
            if op == 0:
                del lines[i]
            elif op == 1:
                lines.insert(i, lines[i])
            else:
                j = rng.randrange(len(lines))
                lines[i], lines[j] = lines[j], lines[i]
            text = "\n".join(lines) + "\n"
        elif kind == 5 and lines:  # change indentation
            i = rng.randrange(len(lines))
            lines[i] = (" " * rng.choice([0, 1, 3, 8])) + lines[i].lstrip() if rng.random() < 0.8 else "\t" + lines[i]
            text = "\n".join(lines) + "\n"
        elif kind == 6:  # deep nesting (flow or block)
            depth = rng.choice([30, 70, 200, 1000, 5000])
            if rng.random() < 0.5:
                text += f"\nextra: {'[' * depth}1{']' * depth}\n"
            else:
                text += "\nextra:\n" + "".join(" " * (2 * d) + f"k{d}:\n" for d in range(min(depth, 400))) + \
                        " " * 800 + "v\n"
        elif kind == 7:  # control characters / odd unicode anywhere
            i = rng.randrange(len(text) + 1)
            text = text[:i] + rng.choice(["\x00", "\x07", "\x1b[31m", "\x85", "\u2028", "\ud800", "\x7f", "\r"]) + text[i:]
        elif kind == 8:  # anchors and aliases (small bombs and self references)
            width = rng.choice([2, 5, 9])
            levels = rng.choice([2, 4, 6, 9])
            bomb = ["a0: &a0 [" + ",".join(["xxxxxxxxxx"] * width) + "]"]
            for d in range(1, levels):
                bomb.append(f"a{d}: &a{d} [" + ",".join([f"*a{d - 1}"] * width) + "]")
            text = "\n".join(bomb) + "\n" + text
            if rng.random() < 0.5:
                text = text.replace("transforms:", f"transforms: *a{levels - 1}\n      x:", 1)
        elif kind == 9:  # a long string aliased many times into values
            long = "y" * rng.choice([1000, 100_000, 600_000])
            text = f"l: &l {long}\n" + text.replace("{std: ", "{std: *l, s: ", 1)
        elif kind == 10:  # top-level shapes
            text = rng.choice(["[]\n", "5\n", "~\n", "sample: 5\n", "batch: {a: 1}\n", "seed: -1\n", "---\n---\n",
                               "seed: 1\nseed: 2\n", "sample: [{}]\n", "sample: [[1]]\n"]) + \
                (text if rng.random() < 0.5 else "")
        else:  # many problems at once
            n = rng.choice([5, 150, 3000])
            text = "seed: 1\nsample:\n" + "".join(f"  - image.GaussianNoise: {{std: -{i + 1}}}\n" for i in range(n))
    return text


def check(text: str, source: str = "fuzz.yaml", base_dir: Path = PIPELINES) -> str | None:
    """Load ``text``; return None when the library behaved (success or a well-formed
    ConfigError), else a short failure class name."""
    import augnoise
    from augnoise.core import errors
    from augnoise.core.errors import ConfigError

    max_message = getattr(errors, "MAX_MESSAGE", 300)
    max_problems = getattr(errors, "MAX_PROBLEMS", 100)

    try:
        augnoise.loads(text, source, base_dir=base_dir)
    except ConfigError as err:
        msg = str(err)
        lines = msg.split("\n")
        if len(lines) > max_problems + 1 or len(err.problems) and len(lines) > len(err.problems) + 1:
            return "too many or multi-line messages"
        for line in lines:
            if len(line) > max_message + 500:
                return "message too long"
            if any(not (ch.isprintable() or ch == " ") for ch in line):
                return "unescaped control characters"
        unlocated = [p for p in err.problems if p.line is None and "bytes; the limit" not in p.message]
        if unlocated:
            return "unlocated message"
        return None
    except RecursionError:
        return "RecursionError"
    except MemoryError:
        return "MemoryError"
    except Exception as err:  # noqa: BLE001 - counting what escapes
        return type(err).__name__
    return None


def run(n: int, seed: int = 0) -> Counter:
    """Fuzz ``n`` mutated documents; count failures by class."""
    rng = random.Random(seed)
    texts = corpus()
    failures: Counter = Counter()
    for _ in range(n):
        text = mutate(rng.choice(texts), rng)
        what = check(text)
        failures[what or "ok"] += 1
    return failures


if __name__ == "__main__":  # pragma: no cover
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    for name, k in sorted(run(count).items(), key=lambda kv: -kv[1]):
        print(f"{k:6d}  {name}")
