"""The core knows no modality: nothing under augnoise/core imports a modality package, the
torch integration, the CLI, or a heavy library (they plug in through registries)."""
import ast
from pathlib import Path

from tests.conftest import ROOT

CORE = Path(ROOT, "augnoise", "core")
FORBIDDEN_PACKAGES = ("augnoise.image", "augnoise.audio", "augnoise.tabular", "augnoise.torch", "augnoise.adversarial",
                      "augnoise.recipes", "augnoise.cli", "augnoise.ray")
FORBIDDEN_LIBRARIES = ("torch", "albumentations", "soundfile", "cv2", "pandas", "ray")


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """Absolute names of the modules a file imports (relative imports resolved), with lines."""
    package = ["augnoise", "core"]
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            mod = ".".join([*base, *(node.module.split(".") if node.module else [])])
            out.append((node.lineno, mod))
            out += [(node.lineno, f"{mod}.{a.name}") for a in node.names]  # `from .. import image`
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module":
            for arg in node.args:  # importlib.import_module("augnoise.image") is an import too
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    out.append((node.lineno, arg.value))
    return out


def test_core_imports_no_modality_and_no_heavy_library():
    offenders = []
    for path in sorted(CORE.glob("*.py")):
        for line, mod in imported_modules(path):
            bad_pkg = any(mod == p or mod.startswith(p + ".") for p in FORBIDDEN_PACKAGES)
            bad_lib = mod.split(".")[0] in FORBIDDEN_LIBRARIES
            if bad_pkg or bad_lib:
                offenders.append(f"{path.relative_to(ROOT)}:{line}: {mod}")
    assert offenders == []


def test_the_scan_sees_what_it_must(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from ..image import kernels\nfrom .. import tabular\nimport torch\n"
                   "import importlib\nimportlib.import_module('augnoise.audio')\n")
    mods = [m for _, m in imported_modules(bad)]
    assert "augnoise.image" in mods and "augnoise.tabular" in mods and "torch" in mods and "augnoise.audio" in mods
