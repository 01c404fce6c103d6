"""What ``pip install augnoise`` alone runs, and the one line every extra-only feature prints
instead of a traceback (issue 17, item 1). The extras' packages are blocked in a subprocess
(``sys.modules[name] = None``, so importing them fails as when they are not installed)."""
from __future__ import annotations

import subprocess
import sys

import pytest

from augnoise.core.extras import EXTRAS
from tests.conftest import ROOT

BLOCK_ALL = ",".join(EXTRAS)
RUN = ("import sys\n"
       "for name in filter(None, sys.argv[1].split(',')):\n"
       "    sys.modules[name] = None\n"
       "from augnoise.cli.main import main\n"
       "sys.exit(main(sys.argv[2:]))\n")


def cli(block: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", RUN, block, *args], capture_output=True, text=True, cwd=ROOT)


@pytest.mark.parametrize("args", [
    ("list",),
    ("show", "image.AdditiveNoise"),
    ("schema",),
    ("validate", "pipelines/image_noise.yaml", "pipelines/audio_noise.yaml", "pipelines/tabular_noise.yaml"),
])
def test_core_commands_run_without_any_extra(args):
    out = cli(BLOCK_ALL, *args)
    assert out.returncode == 0, out.stderr


def test_preview_runs_without_any_extra(tmp_path):
    out = cli(BLOCK_ALL, "preview", "pipelines/image_noise.yaml", "samples/chart_gray.png", "-n", "1", "-o", str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "chart_gray_preview.png").is_file()


@pytest.mark.parametrize("args, what", [
    (("recipe", "denoise", "-p", "pipelines/denoise_digits.yaml"), "the digits data needs scikit-learn"),
    (("recipe", "anomaly", "-p", "pipelines/denoise_digits.yaml"), "anomaly detection"),
])
def test_extra_only_commands_name_their_extra_in_one_line(args, what, tmp_path):
    out = cli("sklearn", *args, "-o", str(tmp_path))
    assert out.returncode == 1
    assert out.stderr.count("\n") == 1 and what in out.stderr
    assert out.stderr.rstrip().endswith("pip install 'augnoise[recipes]'") and "Traceback" not in out.stderr


def test_apply_with_ray_names_its_extra(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.png").write_bytes(open(f"{ROOT}/samples/chart_gray.png", "rb").read())
    out = cli("ray", "apply", "pipelines/image_noise.yaml", str(src), str(tmp_path / "dst"), "--engine", "ray")
    assert out.returncode == 1 and out.stderr == ("augnoise: --engine ray needs ray[data], which is not installed: "
                                                  "pip install 'augnoise[ray]'\n")
    assert not (tmp_path / "dst").exists()  # nothing made before the refusal


def test_apply_says_a_missing_src_does_not_exist(tmp_path):
    out = cli("", "apply", "pipelines/image_noise.yaml", str(tmp_path / "nope"), str(tmp_path / "dst"))
    assert out.returncode == 1 and out.stderr.endswith("nope: SRC does not exist\n") and out.stderr.count("\n") == 1


def test_python_api_raises_one_clear_error():
    code = ("import sys\nsys.modules['sklearn'] = None\n"
            "from augnoise.recipes.data import load_data\n"
            "try:\n    load_data('digits')\n"
            "except ImportError as err:\n    print(type(err).__name__, err)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip() == ("MissingExtra the digits data needs scikit-learn, which is not installed: "
                                  "pip install 'augnoise[recipes]'")


def test_preview_says_what_is_wrong_with_a_folder_or_a_missing_file(tmp_path):
    out = cli("", "preview", "pipelines/image_noise.yaml", "samples", str(tmp_path / "gone.png"), "-o", str(tmp_path))
    assert out.returncode == 1
    lines = out.stderr.splitlines()
    assert lines == ["augnoise: samples: is a folder; preview takes files (give the files, e.g. a shell glob "
                     "folder/*.png)", f"augnoise: {tmp_path / 'gone.png'}: does not exist"]
