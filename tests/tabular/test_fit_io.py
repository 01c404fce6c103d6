"""Fitted statistics (fit, save, load), errors, DataFrames, CSV files and the CLI preview."""
import subprocess
import sys

import numpy as np
import pytest

import augnoise
from tests.conftest import run_step
from augnoise.tabular.io import read_csv, write_csv
from tests.conftest import ROOT
from tests.tabular.test_transforms import table

YAML = """\
seed: 4
tabular:
  columns:
    1: {kind: integer, bounds: [-20, 20]}
    3: categorical
sample:
  - tabular.SwapNoise: {p_swap: 0.2, mask_field: m}
  - tabular.GaussianNoise: {scale: 0.3}
  - tabular.MaskNoise: {p_mask: 0.1, fill: marginal}
batch: []
"""


def outputs(p, x, n=20):
    return [p({"features": x[i]}, index=i)["features"] for i in range(n)]


def test_fit_dump_load_round_trip_sidecar_and_inline(tmp_path):
    x = table(2000)
    p = augnoise.loads(YAML).fit(features=x)
    f = p.section("tabular").fitted
    assert f.kinds == ["continuous", "integer", "binary", "categorical", "integer", "continuous"]
    assert len(f.pool_values[0]) == 256 and f.std[4] == 0 and f.std[5] == 0 and f.mean[5] == 0
    want = outputs(p, x)
    augnoise.dump(p, tmp_path / "p.yaml")
    assert sorted(q.name for q in tmp_path.iterdir()) == ["p.fitted.npz", "p.yaml"]
    assert "fitted: p.fitted.npz" in (tmp_path / "p.yaml").read_text()
    q = augnoise.load(tmp_path / "p.yaml")
    assert q == p
    inline = augnoise.loads(p.dumps())
    assert inline == p
    for other in (q, inline):
        assert all(np.array_equal(a, b, equal_nan=True) for a, b in zip(outputs(other, x), want))


def test_unfitted_and_mismatched_use_is_a_clear_error(tmp_path):
    p = augnoise.loads(YAML)
    with pytest.raises(augnoise.InputError, match=r"^step 1 \(tabular.SwapNoise\): needs fitted column statistics: call pipeline.fit"):
        p({"features": table(5)[0]}, index=0)
    p.fit(features=table(100))
    with pytest.raises(augnoise.InputError, match=r"features have 4 columns but the statistics were fitted on 6"):
        p({"features": np.zeros(4)}, index=0)
    (tmp_path / "p.yaml").write_text(YAML.replace("batch: []", "batch: []").replace(
        "    3: categorical\n", "    3: categorical\n  fitted: gone.fitted.npz\n"))
    with pytest.raises(augnoise.ConfigError, match=rf"^{tmp_path / 'p.yaml'}:6: tabular.fitted: cannot read fitted statistics"):
        augnoise.load(tmp_path / "p.yaml")


@pytest.mark.parametrize("section, message", [
    ("tabular:\n  columns:\n    age: {kind: ordinal}\n", "4: tabular.columns: column 'age': kind must be one of continuous, integer, binary, categorical, got 'ordinal'"),
    ("tabular:\n  columns:\n    age: {bounds: [5, 1]}\n", "4: tabular.columns: column 'age': bounds lo must be <= hi, got [5, 1]"),
    ("tabular:\n  colums: {}\n", "3: tabular.colums: unknown key (known: columns, fitted)"),
    ("tabular:\n  fitted: {columns: 3}\n", "3: tabular.fitted: fitted statistics are malformed"),
    ("tabular: [1]\n", "2: tabular: must be a mapping with keys columns, fitted; got a list"),
])
def test_tabular_section_errors(section, message):
    with pytest.raises(augnoise.ConfigError) as info:
        augnoise.loads("seed: 1\n" + section + "sample:\n  - tabular.SwapNoise: {}\n", "t.yaml")
    assert str(info.value).startswith(f"t.yaml:{message}")


@pytest.mark.parametrize("bad, msg", [
    (np.array([["a", "b"]]), "features must be numeric, got dtype <U1"),
    (np.zeros((2, 2, 2)), "features must be one row (n_columns,) or a table (rows, columns), got shape (2, 2, 2)"),
    (np.zeros((0, 3)), "features are empty (shape (0, 3))"),
    (np.array([1.0, np.inf]), "features hold 1 inf value(s)"),
    ([1.0, 2.0], "features must be a numpy array or a pandas DataFrame, got list"),
])
def test_input_errors(bad, msg):
    p = augnoise.Pipeline(sample=[augnoise.get_transform("tabular.SwapNoise")(stats="batch")], seed=0)
    with pytest.raises(augnoise.InputError) as info:
        p({"features": bad}, index=0)
    assert str(info.value).startswith(f"step 1 (tabular.SwapNoise): {msg}")


def test_fit_errors():
    p = augnoise.loads(YAML.replace("    1: {kind: integer, bounds: [-20, 20]}", "    1: {kind: integer, bounds: [-2, 2]}"))
    with pytest.raises(augnoise.InputError, match=r"column 1: declared bounds \[-2, 2\] but the table holds values in"):
        p.fit(features=table(100))
    named = augnoise.loads("seed: 1\ntabular:\n  columns:\n    age: integer\nsample:\n  - tabular.SwapNoise: {}\n")
    with pytest.raises(augnoise.InputError, match=r"column 'age' is declared by name but the table has no column names"):
        named.fit(features=table(10))
    named.fit(features=table(10), names=["age", "b", "c", "d", "e", "f"])
    assert named.section("tabular").fitted.names[0] == "age" and named.section("tabular").fitted.kinds[0] == "integer"
    with pytest.raises(augnoise.InputError, match=r"stats: batch needs a table of at least 2 rows"):
        run_step(augnoise.get_transform("tabular.GaussianNoise")(stats="batch"), {"features": np.ones(3)})


def test_dataframe_in_dataframe_out():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    df = pd.DataFrame({
        "age": rng.integers(18, 90, 300).astype("int64"),
        "income": rng.normal(5e4, 1e4, 300),
        "smoker": rng.random(300) < 0.3,
        "blood": pd.Categorical(rng.choice(["A", "B", "O"], 300)),
    })
    p = augnoise.Pipeline(sample=[augnoise.get_transform("tabular.SwapNoise")(p_swap=0.3),
                                  augnoise.get_transform("tabular.GaussianNoise")(scale=0.5)], seed=2).fit(features=df)
    assert p.section("tabular").fitted.kinds == ["integer", "continuous", "binary", "categorical"]
    out = p({"features": df}, index=0)["features"]
    assert isinstance(out, pd.DataFrame) and list(out.columns) == list(df.columns)
    assert list(out.dtypes) == list(df.dtypes) and out.index.equals(df.index)
    assert set(out["blood"].unique()) <= {"A", "B", "O"} and out["smoker"].dtype == bool
    assert not out["income"].equals(df["income"])
    with pytest.raises(augnoise.InputError, match=r"column 'name' has dtype (object|str): features must be numeric, bool or category"):
        p({"features": df.assign(name="x")}, index=0)


def test_csv_round_trip(tmp_path):
    t = read_csv(f"{ROOT}/samples/patients.csv")
    assert t.names == ["age", "income", "bmi", "smoker", "blood_type", "visits"]
    assert t.categories[4] == ["A", "AB", "B", "O"] and np.isnan(t.x[:, 0]).sum() == 6
    write_csv(tmp_path / "c.csv", t, t.x)
    assert (tmp_path / "c.csv").read_text() == open(f"{ROOT}/samples/patients.csv").read()
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n3\n")
    with pytest.raises(augnoise.InputError, match=r"bad.csv:3: row has 1 fields, the header has 2"):
        read_csv(tmp_path / "bad.csv")


def test_cli_csv_preview(tmp_path):
    out = subprocess.run([sys.executable, "-m", "augnoise.cli.main", "preview", "pipelines/tabular_noise.yaml",
                          "samples/patients.csv", "-n", "2", "-o", str(tmp_path)], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["patients_0.csv", "patients_1.csv", "patients_before_after.txt"]
    assert "* = changed" in out.stdout and "*" in out.stdout.split("-> ", 1)[1] and "changed cells:" in out.stdout
    src, aug = read_csv(f"{ROOT}/samples/patients.csv"), read_csv(tmp_path / "patients_0.csv")
    assert aug.names == src.names and aug.x.shape == src.x.shape
    assert set(aug.categories[4]) <= set(src.categories[4])
    assert np.array_equal(np.isnan(aug.x), np.isnan(src.x))
    assert (aug.x[:, 0][~np.isnan(aug.x[:, 0])] >= 0).all()  # declared bounds


def test_fit_if_unfitted_keeps_csv_string_columns_categorical():
    from augnoise.tabular.io import fit_if_unfitted

    t = read_csv(f"{ROOT}/samples/patients.csv")
    p = augnoise.load(f"{ROOT}/pipelines/tabular_noise.yaml")
    assert fit_if_unfitted(p, t) and not fit_if_unfitted(p, t)  # fits once
    kinds = dict(zip(t.names, p.section("tabular").fitted.kinds))
    assert kinds == {"age": "integer", "income": "continuous", "bmi": "continuous", "smoker": "binary",
                     "blood_type": "categorical", "visits": "integer"}
    with pytest.raises(augnoise.InputError, match=r"kinds has 2 entries for 6 columns"):
        augnoise.load(f"{ROOT}/pipelines/tabular_noise.yaml").fit(features=t.x, names=t.names, kinds=["integer", None])
