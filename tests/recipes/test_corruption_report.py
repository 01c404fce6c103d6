"""The corruption-robustness report: mCE arithmetic on a hand-made table, baseline validation,
a report on digits whose files agree with the returned table, and the CLI's two forms."""
import json
import numpy as np
import pytest
import torch

import augnoise
from augnoise.cli.main import main
from augnoise.image import GaussianNoise
from augnoise.recipes import robustness
from augnoise.recipes.data import Data, load_data
from augnoise.recipes.robustness import Baseline, CorruptionReport, corruption_report
from tests.conftest import ROOT

# -- the arithmetic, by hand -----------------------------------------------------------------
ERRORS = {"a": {1: 0.2, 2: 0.4}, "b": {1: 0.1, 2: 0.3}}
CLEAN = 0.1
BASE = {"a": {1: 0.4, 2: 0.6}, "b": {1: 0.5, 2: 0.7}, "clean": 0.2}
# CE_a = (0.2 + 0.4) / (0.4 + 0.6) = 0.6          CE_b = (0.1 + 0.3) / (0.5 + 0.7) = 1/3
# rel_a = (0.1 + 0.3) / (0.2 + 0.4) = 2/3         rel_b = (0.0 + 0.2) / (0.3 + 0.5) = 1/4
HAND = {"ce": {"a": 0.6, "b": 1 / 3}, "mce": (0.6 + 1 / 3) / 2, "relative_ce": {"a": 2 / 3, "b": 0.25},
        "relative_mce": (2 / 3 + 0.25) / 2, "mean_error": 0.25}


def test_mce_and_relative_mce_on_a_hand_made_table():
    r = CorruptionReport(ERRORS, CLEAN, baseline=BASE)
    assert r.ce == pytest.approx(HAND["ce"]) and r.mce == pytest.approx(HAND["mce"])
    assert r.relative_ce == pytest.approx(HAND["relative_ce"]) and r.relative_mce == pytest.approx(HAND["relative_mce"])
    assert r.mean_error == pytest.approx(HAND["mean_error"]) and r.notes == []
    assert r.accuracy == {"a": {1: pytest.approx(0.8), 2: pytest.approx(0.6)}, "b": {1: pytest.approx(0.9), 2: pytest.approx(0.7)}}
    # no baseline: no mCE, and a note says why; the unnormalised mean error is still given
    bare = CorruptionReport(ERRORS, CLEAN)
    assert bare.ce is None and bare.mce is None and bare.relative_mce is None
    assert bare.mean_error == pytest.approx(0.25) and "no baseline errors given" in bare.notes[0]
    # a baseline without a clean error: mCE only
    no_clean = CorruptionReport(ERRORS, CLEAN, baseline={k: v for k, v in BASE.items() if k != "clean"})
    assert no_clean.mce == pytest.approx(HAND["mce"]) and no_clean.relative_mce is None
    assert "relative mCE needs it" in no_clean.notes[0]
    # a report is its own baseline: every CE is exactly 1
    assert CorruptionReport(ERRORS, CLEAN, baseline=bare).ce == {"a": 1.0, "b": 1.0}


def test_baseline_from_csv_equals_the_dict_and_a_report_csv_is_a_baseline(tmp_path):
    path = tmp_path / "base.csv"
    path.write_text("corruption,severity,error\nclean,,0.2\na,1,0.4\na,2,0.6\nb,2,0.7\nb,1,0.5\n")
    from_csv = Baseline.from_csv(path)
    assert from_csv.errors == Baseline.from_dict(BASE).errors and from_csv.clean == 0.2
    assert CorruptionReport(ERRORS, CLEAN, baseline=str(path)).relative_mce == pytest.approx(HAND["relative_mce"])
    written = CorruptionReport(BASE_ERRORS := {c: r for c, r in BASE.items() if c != "clean"}, 0.2).to_csv(tmp_path / "r.csv")
    again = Baseline.from_csv(written)
    assert again.errors == BASE_ERRORS and again.clean == 0.2


@pytest.mark.parametrize("baseline, match", [
    ({"a": {1: 0.4, 2: 0.6}, "b": {1: 0.5}}, r"missing error for b severity 2"),
    ({"a": {1: 0.4, 2: 1.5}, "b": {1: 0.5, 2: 0.7}}, r"baseline <dict>: a severity 2: error: must be a number in \[0, 1\], got 1\.5"),
    ({"a": {1: 0.4, 2: float("nan")}, "b": {1: 0.5, 2: 0.7}}, r"got nan"),
    ({"a": {1: 0.4, 2: "x"}, "b": {1: 0.5, 2: 0.7}}, r"got 'x'"),
    ({"a": {0: 0.4, 2: 0.6}, "b": {1: 0.5, 2: 0.7}}, r"severity: must be an integer >= 1, got 0"),
    ({"a": {1: 0.0, 2: 0.0}, "b": {1: 0.5, 2: 0.7}}, r"a: errors sum to 0 over severities 1,2, so CE"),
    ({"a": {1: 0.4, 2: 0.6}, "b": {1: 0.5, 2: 0.7}, "clean": 0.5}, r"a: errors minus the clean error \(0\.5\) sum to 0\.0"),
    ({"a": {1: 0.4, 2: "\x1b[31m"}, "b": {1: 0.5, 2: 0.7}}, r"got '\\x1b\[31m'"),
    ({"a": {1: 0.4, 2: 0.6}, "b": {1: 0.5, 2: 0.7}, "clean": -0.1}, r"clean: error: must be a number in \[0, 1\]"),
    ([("a", 1, 0.4)], r"baseline: expected a CSV path, a mapping or a CorruptionReport, got list"),
])
def test_baseline_errors_are_one_clear_line(baseline, match):
    with pytest.raises(augnoise.InputError, match=match) as info:
        CorruptionReport(ERRORS, CLEAN, baseline=baseline)
    assert "\n" not in str(info.value) and "\x1b" not in str(info.value)


@pytest.mark.parametrize("text, match", [
    ("corruption,error\na,0.4\n", r"base\.csv:1: header: missing column\(s\) severity"),
    ("corruption,severity,error\na,one,0.4\n", r"base\.csv:2: severity: must be an integer >= 1, got 'one'"),
    ("corruption,severity,error\na,1,0.4\na,1,0.5\n", r"base\.csv:3: a severity 1 is given twice"),
    ("corruption,severity,error\na,1,2\n", r"base\.csv:2: error: must be a number in \[0, 1\], got '2'"),
    ("corruption,severity,error\nclean,3,0.1\na,1,0.4\n", r"base\.csv:2: severity: the clean row takes severity 0"),
    ("corruption,severity,error\na,1\n", r"base\.csv:2: expected 3 cells, got 2"),
    ("", r"base\.csv: empty file"),
    ("corruption,severity,error\n", r"base\.csv: no corruption rows"),
])
def test_baseline_csv_errors(tmp_path, text, match):
    path = tmp_path / "base.csv"
    path.write_text(text)
    with pytest.raises(augnoise.InputError, match=match) as info:
        Baseline.from_csv(path)
    assert "\n" not in str(info.value)


def test_missing_baseline_file_and_bad_report_arguments(tmp_path):
    with pytest.raises(augnoise.InputError, match=r"baseline .*nope\.csv.*cannot read"):
        Baseline.from_csv(tmp_path / "nope.csv")
    data = Data("tiny", "image", np.zeros((4, 8, 8), np.float32), np.zeros(4, np.int64))
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))
    bad = [({"severities": [1, 1]}, r"severities: expected distinct integers"),
           ({"severities": [0]}, r"severities: severity: must be an integer >= 1, got 0"),
           ({"corruptions": []}, r"corruptions: expected non-empty names"),
           ({"pipeline_for": None, "table": "mnist_c"}, r"table: must be one of imagenet_c, cifar10_c, got 'mnist_c'"),
           ({"batch_size": 0}, r"batch_size: must be an integer >= 1"),
           ({"pipeline_for": lambda c, s: None}, r"pipeline_for\('gaussian_noise', 1\) must return an augnoise\.Pipeline"),
           ({"input_shape": (3, 5)}, r"the model failed on inputs of shape")]
    for kwargs, match in bad:
        with pytest.raises(augnoise.InputError, match=match):
            corruption_report(net, data, progress=False, **({"pipeline_for": _factory} | kwargs))
    with pytest.raises(augnoise.InputError, match="needs labels"):
        corruption_report(net, Data("x", "image", data.x, None), progress=False, pipeline_for=_factory)


# -- a real report on digits ------------------------------------------------------------------
def _has_corruption_step():
    try:
        augnoise.core.registry.get_transform("image.Corruption")
    except KeyError:
        return False
    return True


def _factory(corruption, severity):
    """An injected pipeline per cell (seed 5): image.Corruption where it is
    registered, else a stand-in from an existing step; one numba kernel either way, so the file
    compiles little."""
    if _has_corruption_step():
        cls = augnoise.core.registry.get_transform("image.Corruption")
        return augnoise.Pipeline(sample=[cls(name=corruption, severity=severity)], seed=5)
    return augnoise.Pipeline(sample=[GaussianNoise(std=(0.2 if corruption == "impulse_noise" else 0.1) * severity)], seed=5)


@pytest.fixture(scope="module")
def net():
    d = load_digits_tensors()
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
    opt = torch.optim.Adam(model.parameters(), 1e-2)
    for _ in range(60):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(d[0]), d[1]).backward()
        opt.step()
    return model.eval()


def load_digits_tensors():
    d = load_data("digits")
    return torch.from_numpy(d.x)[:, None], torch.from_numpy(d.y)


def test_report_on_digits_files_agree_with_the_table(net, tmp_path, capsys):
    r = corruption_report(net, "digits", corruptions=["gaussian_noise", "impulse_noise"], severities=[1, 3],
                          pipeline_for=_factory, limit=300, batch_size=64)
    assert "corruption report" in capsys.readouterr().err  # the progress bar, on stderr
    assert r.samples == 300 and r.corruptions == ["gaussian_noise", "impulse_noise"] and r.severities == [1, 3]
    # each cell recomputed independently: the cell's pipeline on each sample, keyed by its index
    d = load_data("digits")
    x, y = d.x[:300], d.y[:300]
    with torch.no_grad():
        clean = float(np.mean(net(torch.from_numpy(x)[:, None]).argmax(1).numpy() != y))
        pipe = _factory("impulse_noise", 3)  # all 300 at once (the report ran them in chunks of 64)
        noisy = np.stack(pipe.apply_many(list(x), np.arange(300)))
        cell = float(np.mean(net(torch.from_numpy(noisy)[:, None]).argmax(1).numpy() != y))
    assert r.clean_error == clean and r.errors["impulse_noise"][3] == cell
    assert not np.array_equal(noisy, x)  # the cells are corrupted
    # keyed per sample index: the batch size does not change a single prediction
    again = corruption_report(net, "digits", corruptions=["gaussian_noise", "impulse_noise"], severities=[1, 3],
                              pipeline_for=_factory, limit=300, batch_size=7, progress=False)
    assert again.errors == r.errors and again.clean_error == r.clean_error
    csv, js, png = r.to_csv(tmp_path / "r.csv"), r.to_json(tmp_path / "r.json"), r.heatmap(tmp_path / "r.png")
    lines = csv.read_text().splitlines()
    assert lines[0] == "corruption,severity,accuracy,error" and len(lines) == 1 + 1 + 4
    parsed = [dict(zip(lines[0].split(","), ln.split(","))) for ln in lines[1:]]
    assert [(p["corruption"], int(p["severity"]), float(p["accuracy"]), float(p["error"])) for p in parsed] == \
        [(q["corruption"], q["severity"], q["accuracy"], q["error"]) for q in r.rows()]
    doc = json.loads(js.read_text())
    assert doc == json.loads(json.dumps(r.to_dict()))
    assert doc["error"]["impulse_noise"]["3"] == cell and doc["clean"]["error"] == clean and doc["mce"] is None
    assert doc["mean_error"] == pytest.approx(np.mean([e for row in r.errors.values() for e in row.values()]))
    import matplotlib.image

    img = matplotlib.image.imread(png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and img.shape[0] > 100 and img.shape[1] > 200
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes leave no temp files
    # the report as the baseline of another run: CE exactly 1 for the same model
    assert corruption_report(net, "digits", corruptions=["gaussian_noise", "impulse_noise"], severities=[1, 3],
                             pipeline_for=_factory, limit=300, progress=False, baseline=csv).mce == 1.0


# -- the CLI ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def model_file(net, tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "net.pt"
    torch.jit.script(net).save(str(path))
    return path


def test_cli_report_end_to_end(model_file, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(robustness, "corruption_pipelines", lambda *a, **k: _factory)  # the stand-in corruptions
    out = tmp_path / "rep"
    argv = ["robustness", "--model", str(model_file), "--data", "digits", "--corruptions", "gaussian_noise,impulse_noise",
            "--severities", "1-2", "--limit", "200", "-o", str(out)]
    assert main(argv) == 0
    cap = capsys.readouterr()
    assert "mean error" in cap.out and "note: no baseline errors given" in cap.out and "corruption report" in cap.err
    doc = json.loads((out / "corruption_report.json").read_text())
    assert doc["samples"] == 200 and doc["severities"] == [1, 2] and (out / "corruption_report.png").exists()
    api = corruption_report(net_from(model_file), "digits", corruptions=["gaussian_noise", "impulse_noise"],
                            severities=[1, 2], pipeline_for=_factory, limit=200, progress=False)
    assert doc["error"] == json.loads(json.dumps(api.to_dict()))["error"]
    # its own CSV as the baseline: mCE and relative mCE are exactly 1
    assert main([*argv, "--baseline", str(out / "corruption_report.csv"), "-o", str(tmp_path / "b"), "--no-progress"]) == 0
    cap = capsys.readouterr()
    assert "mCE 1.000" in cap.out and "relative mCE 1.000" in cap.out and cap.err == ""
    doc = json.loads((tmp_path / "b" / "corruption_report.json").read_text())
    assert doc["mce"] == 1.0 and doc["relative_mce"] == 1.0 and doc["notes"] == []


def net_from(path):
    return torch.jit.load(str(path)).eval()


@pytest.mark.parametrize("extra, code, match", [
    ([], 2, "give --corruptions C1,C2 [--severities 1-5] (corruption report) or --pipeline P --levels L"),
    (["--corruptions", "gaussian_noise", "--pipeline", "p.yaml"], 2, "--corruptions (corruption report) and --pipeline"),
    (["--pipeline", "p.yaml"], 2, "the one-parameter sweep needs --pipeline P and --levels L (missing --levels)"),
    (["--pipeline", "p.yaml", "--levels", "0,1", "--severities", "1-5"], 2, "--severities belong(s) to the corruption report"),
    (["--corruptions", "gaussian_noise", "--severities", "5-1"], 1, "--severities: 5-1 is not a range of severities"),
    (["--corruptions", "gaussian_noise", "--severities", "a"], 1, "--severities: expected integers or ranges"),
    (["--corruptions", "gaussian_noise", "--baseline", "missing\x1b.csv"], 1, "baseline 'missing\\x1b.csv': cannot read"),
])
def test_cli_usage_and_input_errors_are_one_line(extra, code, match, capsys, tmp_path):
    assert main(["robustness", "--model", str(tmp_path / "m.pt"), *extra]) == code
    err = capsys.readouterr().err
    assert match in err and len(err.strip().splitlines()) == 1 and "\x1b" not in err and "Traceback" not in err


def test_cli_sweep_form_still_works(monkeypatch, tmp_path, capsys):
    """The old form reaches robustness_curve with its arguments (the curve itself: test_recipes.py)."""
    seen = {}

    def curve(model, data, pipeline, levels, **kw):
        seen.update(model=model, data=data, step=pipeline.sample[0].name, levels=levels, **kw)
        return {"param": "std", "step": "image.GaussianNoise", "levels": [(0.0, 0.99), (0.5, 0.4)]}

    monkeypatch.setattr(robustness, "robustness_curve", curve)
    monkeypatch.setattr("augnoise.cli.preview.load_model", lambda path: f"model:{path}")
    argv = ["robustness", "--model", "m.pt", "--pipeline", f"{ROOT}/pipelines/denoise_digits.yaml",
            "--levels", "0,0.5", "-o", str(tmp_path), "--param", "std"]
    assert main(argv) == 0
    assert capsys.readouterr().out.splitlines() == ["image.GaussianNoise std -> accuracy", "  0: 0.9900", "  0.5: 0.4000"]
    assert seen["model"] == "model:m.pt" and seen["levels"] == [0.0, 0.5] and seen["param"] == "std"
    assert seen["step"] == "image.GaussianNoise" and seen["out_dir"] == str(tmp_path) and seen["data"] == "digits"
    assert seen["progress"] is True
    assert main([*argv, "--no-progress"]) == 0 and seen["progress"] is False


@pytest.mark.skipif(not _has_corruption_step(), reason="image.Corruption is not registered")
def test_real_corruption_step_end_to_end(model_file, tmp_path, capsys):
    """The default cells are image.Corruption pipelines: the CLI's numbers equal the step applied
    by hand, sample i keyed by index i."""
    argv = ["robustness", "--model", str(model_file), "--corruptions", "gaussian_noise,impulse_noise",
            "--severities", "2,5", "--table", "cifar10_c", "--limit", "150", "--seed", "3", "-o", str(tmp_path),
            "--no-progress"]
    assert main(argv) == 0, capsys.readouterr().err
    doc = json.loads((tmp_path / "corruption_report.json").read_text())
    assert doc["table"] == "cifar10_c" and doc["seed"] == 3 and doc["samples"] == 150
    cls = augnoise.core.registry.get_transform("image.Corruption")
    pipe = augnoise.Pipeline(sample=[cls(name="impulse_noise", severity=5, table="cifar10_c")], seed=3)
    x, y = load_data("digits").x[:150], load_data("digits").y[:150]
    noisy = np.stack(pipe.apply_many(list(x), np.arange(150)))
    assert not np.array_equal(noisy, x)
    with torch.no_grad():
        err = float(np.mean(net_from(model_file)(torch.from_numpy(noisy)[:, None]).argmax(1).numpy() != y))
    assert doc["error"]["impulse_noise"]["5"] == err
