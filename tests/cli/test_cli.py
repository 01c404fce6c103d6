"""The CLI, run as a user runs it: through subprocess."""
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.conftest import ROOT

BAD = Path(ROOT, "tests", "data", "bad_yaml")


def run(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "augnoise.cli.main", *args], capture_output=True, text=True, cwd=cwd)


def test_console_script_exists():
    exe = Path(sys.executable).parent / "augnoise"
    assert exe.exists()
    out = subprocess.run([str(exe), "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "preview" in out.stdout and "validate" in out.stdout


def test_list_and_modality_filter():
    out = run("list")
    assert out.returncode == 0
    for name in ("image.GaussianNoise", "image.SaltAndPepper", "image.ShotNoise", "image.SpeckleNoise", "OneOf", "albumentations.<Name>"):
        assert name in out.stdout
    out = run("list", "--modality", "image")
    assert "OneOf" not in out.stdout and "image.ShotNoise" in out.stdout
    out = run("list", "-m", "nonsense")
    assert out.returncode == 2 and "no transforms for modality 'nonsense'" in out.stderr


def test_show():
    out = run("show", "image.GaussianNoise")
    assert out.returncode == 0
    assert "std" in out.stdout and "fraction of the full range" in out.stdout and "default 0.05" in out.stdout
    out = run("show", "image.GausianNoise")
    assert out.returncode == 2 and "did you mean image.GaussianNoise?" in out.stderr
    out = run("show", "albumentations.HorizontalFlip")
    assert out.returncode == 0 and "p" in out.stdout


def test_show_every_registered_step():
    """``show`` prints a parameter table for every step (it failed on a factory-made default)."""
    from augnoise.cli.info import param_rows
    from augnoise.core.registry import get_transform, transform_names

    for name in transform_names():
        rows = param_rows(get_transform(name).Params)
        assert [r[0] for r in rows][-3:] == ["p", "field", "same_on_batch"], name
    rows = {r[0]: r for r in param_rows(get_transform("audio.ShortNoises").Params)}
    assert json.loads(rows["level"][2]) == {"mode": "relative", "snr_db": [0.0, 20.0]}
    out = run("show", "audio.ShortNoises")
    assert out.returncode == 0 and '"snr_db": [0.0, 20.0]' in out.stdout


def test_validate_ok_and_bad():
    ok = run("validate", "pipelines/image_noise.yaml")
    assert ok.returncode == 0 and "pipelines/image_noise.yaml: ok (seed 7" in ok.stdout
    bad = run("validate", str(BAD / "05_negative_std.yaml"), str(BAD / "24_many_errors.yaml"))
    assert bad.returncode == 2
    lines = bad.stderr.strip().splitlines()
    assert lines[0] == f"{BAD / '05_negative_std.yaml'}:6: step 3 (image.GaussianNoise): std: must be >= 0, got -0.1"
    assert len(lines) == 6 and "Traceback" not in bad.stderr


def test_validate_hostile_file_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    f = tmp_path / "evil.yaml"
    f.write_text(f"seed: 1\nsample:\n  - image.GaussianNoise: !!python/object/apply:os.system ['touch {marker}']\n")
    out = run("validate", str(f))
    assert out.returncode == 2 and "is not allowed" in out.stderr and not marker.exists()


def test_schema_is_json_and_covers_transforms():
    out = run("schema")
    schema = json.loads(out.stdout)
    assert out.returncode == 0
    assert set(schema["properties"]) == {"version", "seed", "fields", "tabular", "sample", "batch"}
    gauss = schema["$defs"]["image.GaussianNoise"]["properties"]["image.GaussianNoise"]["anyOf"][0]
    assert gauss["additionalProperties"] is False and "std" in gauss["properties"]


def test_preview_writes_grid(tmp_path):
    out = run("preview", "pipelines/image_noise.yaml", "samples/scene.png", "samples/chart_gray.png",
              "-n", "4", "-o", str(tmp_path))
    assert out.returncode == 0, out.stderr
    written = [tmp_path / "scene_preview.png", tmp_path / "chart_gray_preview.png"]
    assert out.stdout.split() == ["wrote", str(written[0]), "wrote", str(written[1])]
    grid = cv2.imread(str(written[0]))
    src = cv2.imread(str(Path(ROOT, "samples", "scene.png")))
    assert grid.shape[1] >= 5 * src.shape[1]  # original + 4 variants side by side
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in written)
    again = run("preview", "pipelines/image_noise.yaml", "samples/scene.png", "-n", "4", "-o", str(tmp_path / "again"))
    assert again.returncode == 0
    assert (tmp_path / "again" / "scene_preview.png").read_bytes() == written[0].read_bytes()  # deterministic
    other = run("preview", "pipelines/image_noise.yaml", "samples/scene.png", "-n", "4", "--seed", "8", "-o", str(tmp_path / "s8"))
    assert other.returncode == 0
    assert (tmp_path / "s8" / "scene_preview.png").read_bytes() != written[0].read_bytes()


def test_preview_corrupt_input_reports_and_continues(tmp_path):
    corrupt = tmp_path / "broken.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    out = run("preview", "pipelines/image_noise.yaml", str(corrupt), "samples/chart_gray.png", "-n", "2", "-o", str(tmp_path / "o"))
    assert out.returncode == 1
    assert f"augnoise: {corrupt}: not a readable image (corrupt or unsupported format)" in out.stderr
    assert (tmp_path / "o" / "chart_gray_preview.png").exists()
    assert not (tmp_path / "o" / "broken_preview.png").exists()
    assert "Traceback" not in out.stderr


def test_preview_bad_pipeline_exits_2(tmp_path):
    out = run("preview", str(BAD / "06_range_order.yaml"), "samples/scene.png", "-o", str(tmp_path))
    assert out.returncode == 2 and "lo must be <= hi" in out.stderr and not any(tmp_path.iterdir())


def test_preview_input_error_names_step(tmp_path):
    img = tmp_path / "deep.png"
    cv2.imwrite(str(img), np.zeros((8, 8, 3), np.uint16))  # uint16 is fine
    flt = tmp_path / "float.tiff"
    cv2.imwrite(str(flt), np.full((8, 8), 7.0, np.float32))  # float outside [0, 1]
    out = run("preview", "pipelines/image_noise.yaml", str(img), str(flt), "-n", "2", "-o", str(tmp_path / "o"))
    assert out.returncode == 1
    assert f"augnoise: {flt}: step 1 (image.GaussianNoise): float image values lie outside [0, 1]: [7, 7] on the [0, 1] scale" in out.stderr


def test_bad_usage_exits_2():
    out = run("frobnicate")
    assert out.returncode == 2 and "invalid choice" in out.stderr


LIGHT = """
import sys
from augnoise.cli.main import main
code = main({args!r})
heavy = sorted(m for m in ("torch", "albumentations", "numba", "scipy", "cv2", "soundfile") if m in sys.modules)
print("HEAVY=" + ",".join(heavy))
"""


@pytest.mark.parametrize("args", [["list"], ["validate", "tests/data/light.yaml"], ["show", "image.ShotNoise"]])
def test_light_commands_do_not_import_heavy_modules(args):
    out = subprocess.run([sys.executable, "-c", LIGHT.format(args=args)], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "HEAVY="


def test_import_and_help_are_light():
    code = ("import sys, augnoise\n"
            "print(sorted(m for m in ('torch', 'albumentations', 'numba', 'scipy', 'cv2') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"
    code = ("import sys\nfrom augnoise.cli.main import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('torch', 'albumentations', 'numba', 'yaml', 'pydantic') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_preview_never_overwrites_inputs_and_keeps_same_stems_apart(tmp_path):
    src = tmp_path / "scene_preview.png"
    src.write_bytes(Path(ROOT, "samples", "scene.png").read_bytes())
    before = src.read_bytes()
    (tmp_path / "scene.png").write_bytes(before)  # its preview would be scene_preview.png, the other input
    out = run("preview", "pipelines/image_noise.yaml", str(tmp_path / "scene.png"), str(src), "-n", "1", "-o", str(tmp_path))
    assert out.returncode == 1 and "output would overwrite an input" in out.stderr
    assert src.read_bytes() == before
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "scene.png").write_bytes(before)
    out = run("preview", "pipelines/image_noise.yaml", "samples/scene.png", str(tmp_path / "a" / "scene.png"),
              "-n", "1", "-o", str(tmp_path / "o"))
    assert out.returncode == 0
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["scene_2_preview.png", "scene_preview.png"]


def test_show_describes_types_truthfully():
    out = run("show", "audio.BackgroundNoise").stdout
    rows = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ")}
    assert "string or list of string" in rows["paths"]
    assert "number >=-40 <=120, or [lo, hi]" in rows["snr_db"]
    assert 'boolean or "rescale"' in rows["clip"]
    assert list(rows)[-3:] == ["p", "field", "same_on_batch"]
    listed = run("list", "-m", "audio").stdout
    assert "audio.GaussianSNR" in listed and "  " not in listed.split("audio.ColorNoise", 1)[1].split("\n")[0].strip()


def test_list_is_plain_text_in_whole_sentences():
    out = run("list")
    assert out.returncode == 0 and "``" not in out.stdout
    lines = [line for line in out.stdout.splitlines() if not line.startswith("albumentations.")]
    assert all(line.rstrip().endswith((".", ")")) for line in lines), [line for line in lines if not line.endswith(".")]
    fgsm = next(line for line in lines if line.startswith("adversarial.FGSMNoise"))
    assert fgsm.endswith("by variant (seed, rfgsm, fgsm_rs, nfgsm).")


def test_recipe_help_shows_defaults_and_conflicting_classes_are_refused():
    out = run("recipe", "--help")
    assert out.returncode == 0
    text = " ".join(out.stdout.split())
    for want in ("(default: digits)", "(default: 30)", "(default: out/recipe)", "(default: 0)"):
        assert want in text
    assert "(default: None)" not in text
    out = run("recipe", "anomaly", "-p", "pipelines/denoise_digits.yaml", "--normal-class", "3", "--anomaly-class", "4")
    assert out.returncode == 2 and "not allowed with argument --normal-class" in out.stderr
    text = " ".join(run("robustness", "--help").stdout.split())
    assert "(default: out/robustness)" in text and "(default: digits)" in text


def test_a_model_that_cannot_take_the_data_is_one_line(tmp_path):
    import torch

    model = torch.jit.script(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10)))  # MNIST-sized
    model.save(str(tmp_path / "m.pt"))
    out = run("robustness", "--model", str(tmp_path / "m.pt"), "--data", "digits", "--corruptions", "gaussian_noise",
              "--severities", "1", "--limit", "16", "--no-progress", "-o", str(tmp_path / "o"))
    assert out.returncode == 1 and out.stderr.count("\n") == 1, out.stderr
    assert out.stderr.startswith("augnoise: the model failed on inputs of shape (16, 1, 8, 8): ")
    assert "cannot be multiplied" in out.stderr and "Traceback" not in out.stderr


def test_preview_with_a_model_that_cannot_take_the_data_is_one_line(tmp_path):
    import torch

    model = torch.jit.script(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10)))
    model.save(str(tmp_path / "m.pt"))
    out = run("preview", "pipelines/adversarial_digits.yaml", "samples/chart_gray.png", "--model", str(tmp_path / "m.pt"),
              "--label", "1", "-n", "1", "-o", str(tmp_path / "o"))
    assert out.returncode == 1 and out.stderr.count("\n") == 1 and "Traceback" not in out.stderr, out.stderr
    assert "the model failed on the data" in out.stderr and "cannot be multiplied" in out.stderr
