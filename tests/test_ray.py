"""Ray engine: the same bytes as the local paths, whatever block size, batch size or actor
count; failing rows reported with their id. One small local Ray instance for the session."""
import shutil

import numpy as np
import pytest

ray = pytest.importorskip("ray")  # the `ray` extra; `make test` installs it

import augnoise  # noqa: E402
from augnoise.ray import ERROR_COLUMN, augment  # noqa: E402
from tests.conftest import ROOT  # noqa: E402


@pytest.fixture(scope="module")
def local_ray():
    import logging

    ray.init(num_cpus=2, object_store_memory=256 * 1024 * 1024, include_dashboard=False, log_to_driver=False,
             logging_level=logging.WARNING)
    ray.data.DataContext.get_current().enable_progress_bars = False
    yield
    ray.shutdown()


# two settings; actors take 0.5 CPU each so the read tasks always have a CPU
SETTINGS = [dict(blocks=3, batch_size=7, concurrency=1), dict(blocks=1, batch_size=64, concurrency=2)]


def table_pipeline():
    x = np.random.default_rng(0).normal(size=(150, 5))
    x[:, 1] = np.round(x[:, 1] * 3)
    x[7, 2] = np.nan
    p = augnoise.loads("seed: 6\nsample:\n  - tabular.SwapNoise: {p_swap: 0.3}\n  - tabular.GaussianNoise: {scale: 0.2}\n")
    return p.fit(features=x), x


@pytest.mark.parametrize("setting", SETTINGS, ids=["3 blocks, batch 7, 1 actor", "1 block, batch 64, 2 actors"])
def test_table_rows_equal_the_local_per_row_path(local_ray, setting):
    import pyarrow as pa

    p, x = table_pipeline()
    names = [f"c{j}" for j in range(x.shape[1])]
    data = {n: x[:, j] for j, n in enumerate(names)}
    data["rid"] = np.arange(len(x)) * 3 + 10  # any stable id
    ds = ray.data.from_arrow(pa.table(data)).repartition(setting["blocks"])
    out = augment(ds, p, field="features", columns=names, id_column="rid", epoch=2, batch_size=setting["batch_size"],
                  concurrency=setting["concurrency"], num_cpus=0.5).to_pandas().sort_values("rid")
    got = np.stack([out[n].to_numpy() for n in names], axis=1)
    want = np.stack([p({"features": x[i]}, index=int(data["rid"][i]), epoch=2)["features"] for i in range(len(x))])
    assert np.array_equal(got, want, equal_nan=True)  # fitted statistics travelled to the actors
    assert (out[ERROR_COLUMN] == "").all()


@pytest.mark.parametrize("setting", SETTINGS, ids=["3 blocks, batch 7, 1 actor", "1 block, batch 64, 2 actors"])
def test_images_equal_the_local_path(local_ray, setting):
    p = augnoise.load(f"{ROOT}/pipelines/image_noise.yaml")
    imgs = np.random.default_rng(1).integers(0, 256, (20, 16, 16, 3), dtype=np.uint8)
    ds = ray.data.from_items([{"image": imgs[i], "row_id": i} for i in range(20)]).repartition(setting["blocks"])
    rows = augment(ds, p, epoch=1, batch_size=setting["batch_size"], concurrency=setting["concurrency"],
                   num_cpus=0.5).take_all()
    assert len(rows) == 20
    for r in rows:
        assert np.array_equal(r["image"], p(imgs[r["row_id"]], index=int(r["row_id"]), epoch=1))


def test_row_ids_from_input_order(local_ray):
    p = augnoise.load(f"{ROOT}/pipelines/image_noise.yaml")
    imgs = np.random.default_rng(2).integers(0, 256, (8, 8, 8, 3), dtype=np.uint8)
    rows = augment(ray.data.from_numpy(imgs).rename_columns({"data": "image"}), p, num_cpus=0.5).take_all()
    assert sorted(r["row_id"] for r in rows) == list(range(8))
    assert all(np.array_equal(r["image"], p(imgs[r["row_id"]], index=int(r["row_id"]))) for r in rows)


def test_a_failing_row_is_reported_with_its_id_and_others_kept(local_ray):
    import pyarrow as pa

    p, x = table_pipeline()
    bad = x.copy()
    bad[5, 0] = np.inf
    names = [f"c{j}" for j in range(x.shape[1])]
    ds = ray.data.from_arrow(pa.table({**{n: bad[:, j] for j, n in enumerate(names)}, "row_id": np.arange(len(x))}))
    out = augment(ds, p, field="features", columns=names, num_cpus=0.5).to_pandas().sort_values("row_id")
    errors = out[ERROR_COLUMN].tolist()
    assert errors[5].startswith("row 5: step 1 (tabular.SwapNoise): features hold 1 inf value(s)")
    assert sum(bool(e) for e in errors) == 1 and len(out) == len(x)
    assert np.array_equal(out["c1"].to_numpy()[6:], np.stack(
        [p({"features": x[i]}, index=i)["features"] for i in range(6, len(x))])[:, 1])


def test_cli_engine_ray_matches_local(local_ray, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(f"{ROOT}/samples/scene.png", src / "a.png")
    (src / "broken.png").write_bytes(b"nope")
    from augnoise.cli.apply import cmd_apply

    assert cmd_apply(f"{ROOT}/pipelines/image_noise.yaml", str(src), str(tmp_path / "local"), copies=2) == 1
    assert cmd_apply(f"{ROOT}/pipelines/image_noise.yaml", str(src), str(tmp_path / "ray"), copies=2, engine="ray",
                     concurrency=1) == 1
    for name in ("a_0.png", "a_1.png"):
        assert (tmp_path / "local" / name).read_bytes() == (tmp_path / "ray" / name).read_bytes()
    assert sorted(p.name for p in (tmp_path / "ray").iterdir()) == ["a_0.png", "a_1.png"]
    csv_local = cmd_apply(f"{ROOT}/pipelines/tabular_noise.yaml", f"{ROOT}/samples/patients.csv", str(tmp_path / "tl"))
    csv_ray = cmd_apply(f"{ROOT}/pipelines/tabular_noise.yaml", f"{ROOT}/samples/patients.csv", str(tmp_path / "tr"),
                        engine="ray", concurrency=1)
    assert csv_local == csv_ray == 0
    assert (tmp_path / "tl" / "patients_0.csv").read_bytes() == (tmp_path / "tr" / "patients_0.csv").read_bytes()
