"""Issue 14: hostile tabular numbers (item 9) and hostile sidecar files (item 7).

Item 9: cells a transform leaves alone keep their exact bytes for every dtype; integer tables
are computed exactly and saturate at the dtype's range (never wrap); float columns near the
dtype's maximum neither overflow the statistics nor turn finite cells into inf; float16 works.
Each check runs on the sample stage (numpy), on the batch stage with CPU tensors, and on the
torch kernels called on CPU tensors (the code path of CUDA tensors).

Item 7: a ``tabular.fitted`` sidecar is confined to the pipeline's folder, read as a bounded
regular file, and parsed from memory with sizes, names, dtypes and shapes checked before any
allocation; every problem is one located ConfigError line.
"""
from __future__ import annotations

import io
import os
import threading
import tracemalloc
import zipfile

import numpy as np
import pytest
import torch

import augnoise
from augnoise.core import keys
from augnoise.core.files import UNREADABLE
from augnoise.core.kernels import kernel_for
from augnoise.tabular import GaussianNoise, MaskNoise, SwapNoise
from augnoise.tabular.schema import MAX_SIDECAR_BYTES, TabularSection, fit_stats
from tests.conftest import run_step

INDICES = [0, 1, 5, 17, 1000, 2**40 + 3]
BIG = 2**53 + 1  # the first integer float64 cannot hold


def pipe(step, fit_on, columns=None, stage="sample"):
    sections = {"tabular": TabularSection.from_columns(columns)}
    p = augnoise.Pipeline(sample=[step] if stage == "sample" else [], batch=[step] if stage == "batch" else [],
                          seed=3, sections=sections)
    return p.fit(features=fit_on)


def all_paths(step, table, columns=None):
    """The step on ``table`` (rows are samples) through the sample stage (one call per row),
    apply_rows, the batch stage on CPU tensors, and the torch kernel on CPU tensors; asserts
    they agree byte for byte and returns the sample stage's rows and masks."""
    ps = pipe(step, table, columns)
    rows = [ps({"features": table[i]}, index=k) for i, k in enumerate(INDICES[:len(table)])]
    y = np.stack([r["features"] for r in rows])
    m = np.stack([r["m"] for r in rows])
    assert y.dtype == table.dtype and y.shape == table.shape
    assert np.array_equal(ps.apply_rows(table, INDICES[:len(table)]), y, equal_nan=True)
    pb = pipe(type(step)(**step.params.model_dump(exclude_unset=True)), table, columns, stage="batch")
    out = pb.apply_batch({"features": torch.from_numpy(table.copy())}, INDICES[:len(table)],
                         item_types={"features": "numpy"})
    ref = [_one_with_batch_keys(pb, table[i], k) for i, k in enumerate(INDICES[:len(table)])]
    assert out["features"].dtype == torch.from_numpy(table[:1]).dtype
    assert np.array_equal(out["features"].numpy(), np.stack(ref), equal_nan=True)
    _torch_equals_numpy(pb, pb.batch[0], table)
    return y, m


def _one_with_batch_keys(p, row, index):
    rands = keys.sample_rand(p._trees[keys.BATCH_STAGE], p.seed, keys.BATCH_STAGE, 0, index)
    c = p._context(keys.BATCH_STAGE, epoch=0, index=index, occurrence=0)
    return p.batch[0].run({"features": row}, rands[0], c)["features"]


def _torch_equals_numpy(p, step, table):
    """The torch kernel (what CUDA tensors run) on CPU tensors gives the numpy kernel's bytes."""
    n = len(table)
    r = keys.batch_rand(p._trees[keys.BATCH_STAGE], p.seed, keys.BATCH_STAGE, np.array(INDICES[:n], np.uint64),
                        np.zeros(n, np.uint64), np.zeros(n, np.uint64))[0]
    r.below(step.p)
    params = step.draw(r)
    ctx = p._context(keys.BATCH_STAGE)
    xn, en = step.kernel_input(table, ctx)
    xt, et = step.kernel_input(torch.from_numpy(table.copy()), ctx)
    a = kernel_for(type(step), "numpy")(step, xn, {**params, **en}, ctx)
    b = kernel_for(type(step), "torch")(step, xt, {**params, **et}, ctx)
    for u, v in zip(a, b, strict=True):
        assert u.dtype == v.numpy().dtype and np.array_equal(u, v.numpy(), equal_nan=True)


def as_ints(a):
    return [int(v) for v in np.asarray(a).ravel()]


# -- item 9: numbers ---------------------------------------------------------------------------

def test_issue14_int64_untouched_cells_exact(tmp_path):
    base = np.array([BIG, BIG + 2, -BIG - 4, 2**62 + 1, 2**63 - 1, -(2**63)], dtype=np.int64)
    table = np.stack([np.roll(base, k) for k in range(6)]).astype(np.int64)
    for step in (SwapNoise(p_swap=0.0, mask_field="m"), MaskNoise(p_mask=0.0, mask_field="m"),
                 GaussianNoise(scale=0.0, mask_field="m")):
        y, m = all_paths(step, table)
        assert as_ints(y) == as_ints(table) and not m.any()  # p = 0: every byte kept
    for step in (SwapNoise(p_swap=0.5, mask_field="m"), MaskNoise(p_mask=0.5, fill="marginal", mask_field="m")):
        y, m = all_paths(step, table)
        assert m.any() and not m.all()
        assert as_ints(y[~m]) == as_ints(table[~m])  # cells not hit: exact
    out = run_step(SwapNoise(p_swap=0.5, stats="batch", mask_field="m"), {"features": table}, 3)
    y, m = out["features"], out["m"]  # donors from the table's own rows: exact observed values
    assert m.any() and as_ints(y[~m]) == as_ints(table[~m])
    assert all(set(as_ints(y[:, j])) <= set(as_ints(table[:, j])) for j in range(table.shape[1]))
    y, m = all_paths(GaussianNoise(scale=0.5, columns=[0, 2], mask_field="m"), table)
    assert as_ints(y[:, [1, 3, 4, 5]]) == as_ints(table[:, [1, 3, 4, 5]])  # columns without noise: exact
    assert m[:, [0, 2]].all() and not m[:, [1, 3, 4, 5]].any()

    u = np.array([[2**64 - 1, BIG], [2**64 - 3, BIG + 2], [2**63 + 1, 7]], dtype=np.uint64)
    y, _ = all_paths(SwapNoise(p_swap=0.0, mask_field="m"), u)
    assert as_ints(y) == as_ints(u)
    y, _ = all_paths(GaussianNoise(scale=2.0, columns=[1], mask_field="m"), u)
    assert as_ints(y[:, 0]) == as_ints(u[:, 0])

    pd = pytest.importorskip("pandas")  # DataFrames: unchanged cells of int64 columns keep their value
    df = pd.DataFrame({"big": table[:, 0], "f": np.linspace(0, 1, 6)})
    p = augnoise.Pipeline(sample=[GaussianNoise(scale=0.5, columns=["f"])], seed=0).fit(features=df)
    out = p({"features": df}, index=0)["features"]
    assert as_ints(out["big"]) == as_ints(df["big"]) and out["big"].dtype == np.int64

    from augnoise.tabular.io import read_csv, write_csv  # CSV: unchanged cells are written as read

    text = "id,v\n9007199254740993,1.5\n-9223372036854775808,2.5\n"
    (tmp_path / "t.csv").write_text(text)
    t = read_csv(tmp_path / "t.csv")
    write_csv(tmp_path / "t.csv", t, t.x)
    assert (tmp_path / "t.csv").read_text() == text


def test_issue14_int64_saturates():
    top, bottom = 2**63 - 1, -(2**63)
    col = np.array([top, top - 1, top - 2, bottom, bottom + 1, 0], dtype=np.int64)
    table = np.stack([col, col[::-1]], axis=1)
    y, m = all_paths(GaussianNoise(scale=50.0, mask_field="m"), table)  # noise far beyond the range
    assert m.all()
    got = as_ints(y)
    assert all(bottom <= v <= top for v in got)
    assert top in got and bottom in got  # saturated, never wrapped to the other end

    # exact integer arithmetic: the same column shifted by 2**62 gets the same integer noise
    rng = np.random.default_rng(0)
    small = rng.integers(-20, 20, (40, 3)).astype(np.int64)
    shifted = small + np.int64(2**62)
    ya = pipe(GaussianNoise(scale=0.7), small)({"features": small}, index=4)["features"]
    yb = pipe(GaussianNoise(scale=0.7), shifted)({"features": shifted}, index=4)["features"]
    assert not np.array_equal(ya, small)
    assert [a - b for a, b in zip(as_ints(yb), as_ints(shifted))] == [a - b for a, b in zip(as_ints(ya), as_ints(small))]
    f = fit_stats(shifted, TabularSection(), None)
    assert np.allclose(f.std, small.std(axis=0), rtol=1e-12)  # the spread survives the offset

    # declared bounds still apply, as integers
    bounded = np.array([[0], [3], [5], [9]], dtype=np.int64)
    y, _ = all_paths(GaussianNoise(scale=5.0, mask_field="m"), bounded, columns={0: {"bounds": [0, 9]}})
    assert y.min() >= 0 and y.max() <= 9 and {0, 9} <= set(as_ints(y))


def test_issue14_uint64_saturates():
    top = 2**64 - 1
    col = np.array([top, top - 1, top - 5, 0, 1, 2**63], dtype=np.uint64)
    table = np.stack([col, col[::-1]], axis=1)
    y, m = all_paths(GaussianNoise(scale=50.0, mask_field="m"), table)
    got = as_ints(y)
    assert all(0 <= v <= top for v in got) and top in got and 0 in got
    small = np.random.default_rng(1).integers(0, 30, (40, 2)).astype(np.uint64)
    shifted = small + np.uint64(2**63)
    ya = pipe(GaussianNoise(scale=0.7), small)({"features": small}, index=2)["features"]
    yb = pipe(GaussianNoise(scale=0.7), shifted)({"features": shifted}, index=2)["features"]
    da = [a - b for a, b in zip(as_ints(ya), as_ints(small))]
    db = [a - b for a, b in zip(as_ints(yb), as_ints(shifted))]
    assert da == [d if s + d >= 0 else -s for d, s in zip(db, as_ints(small))]  # small: saturated at 0
    assert any(d < 0 for d in db) and any(d > 0 for d in db)
    near = np.array([[top], [top - 3], [top - 1], [top - 7]], dtype=np.uint64)  # swap and mask fills stay exact
    y, m = all_paths(MaskNoise(p_mask=0.8, fill="mean", mask_field="m"), near)
    assert m.any() and as_ints(y[~m]) == as_ints(near[~m])
    assert set(as_ints(y[m])) == {top}  # the mean (2**64 in float64) saturates at the top, exactly


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_issue14_float_overflow_guarded(dtype):
    top = float(np.finfo(dtype).max)
    table = np.array([[0.9 * top, 1.0, -0.0], [-0.9 * top, 2.0, -0.0], [0.5 * top, np.nan, -0.0],
                      [-0.2 * top, 4.0, -0.0]], dtype)
    f = fit_stats(table, TabularSection(), None)
    assert np.isfinite(f.std).all() and np.isfinite(f.mean).all()
    expect = np.std(table[:, 0].astype(np.float64) / 2.0**600) * 2.0**600
    assert f.std[0] == pytest.approx(expect, rel=1e-12)
    y, m = all_paths(GaussianNoise(scale=1.0, mask_field="m"), table)
    assert not np.isinf(y).any() and np.array_equal(np.isnan(y), np.isnan(table))
    assert (np.abs(y[:, 0]) <= top).all() and np.isin(np.abs(y[:, 0]), [top]).any()  # saturated, not inf
    assert y[:, 2].tobytes() == table[:, 2].tobytes()  # -0.0 (std 0, no noise) keeps its sign bit
    # a noise std that itself overflows is refused, one line naming the column
    wide = np.array([[top], [-top], [0.0]], dtype)
    with pytest.raises(augnoise.InputError, match=r"column 0: noise std 100 x [0-9.e+]+ overflows float"):
        pipe(GaussianNoise(scale=100.0), wide)({"features": wide}, index=0)


def test_issue14_float16():
    table = np.array([[60000.0, 1.5, -0.0, 0.25], [-60000.0, 2.5, -0.0, np.nan], [65504.0, 3.0, -0.0, 0.5],
                      [-65504.0, 7.0, -0.0, 0.75]], np.float16)
    for step in (GaussianNoise(scale=2.0, mask_field="m"), SwapNoise(p_swap=0.5, mask_field="m"),
                 MaskNoise(p_mask=0.5, fill="mean", mask_field="m")):
        y, m = all_paths(step, table)
        assert y.dtype == np.float16 and not np.isinf(y).any()
        assert np.array_equal(np.isnan(y), np.isnan(table))
        assert y[~m].tobytes() == table[~m].tobytes()  # untouched cells: exact bytes (-0.0 too)
    y, _ = all_paths(GaussianNoise(scale=2.0, mask_field="m"), table)
    assert np.abs(y[:, 0]).max() == np.float16(65504)  # saturated at float16's largest value
    bf = torch.tensor(table.astype(np.float32)).to(torch.bfloat16)  # bfloat16: the torch kernels, in float32
    p = pipe(GaussianNoise(scale=0.5), table.astype(np.float32), stage="batch")
    out = p.apply_batch({"features": bf[None]}, [0])["features"]
    assert out.dtype == torch.bfloat16 and not torch.isinf(out).any() and torch.equal(out[0, :, 2].view(torch.int16), bf[:, 2].view(torch.int16))


# -- item 7: sidecar files --------------------------------------------------------------------

YAML = "seed: 1\ntabular:\n  fitted: {where}\nsample:\n  - tabular.GaussianNoise: {{scale: 0.1}}\n"


def sidecar_bytes():
    p = augnoise.Pipeline(sample=[GaussianNoise()], seed=0).fit(features=np.arange(12.0).reshape(4, 3))
    return p.section("tabular").fitted.save_npz()


def load_with(tmp_path, content: bytes | None, name="s.npz", **kw):
    if content is not None:
        (tmp_path / name).write_bytes(content)
    (tmp_path / "p.yaml").write_text(YAML.format(where=name))
    return augnoise.load(tmp_path / "p.yaml", **kw)


def config_error(fn):
    with pytest.raises(augnoise.ConfigError) as info:
        fn()
    text = str(info.value)
    assert "\n" not in text.strip() and "Traceback" not in text
    return text


def test_issue14_sidecar_confined(tmp_path, monkeypatch):
    pipes, other, home = tmp_path / "pipes", tmp_path / "other", tmp_path / "home"
    for d in (pipes, other, home):
        d.mkdir()
    data = sidecar_bytes()
    (other / "s.npz").write_bytes(data)
    (home / "s.npz").write_bytes(data)
    monkeypatch.setenv("HOME", str(home))
    for where in (str(other / "s.npz"), "../other/s.npz", "~/s.npz"):
        (pipes / "p.yaml").write_text(YAML.format(where=where))
        text = config_error(lambda: augnoise.load(pipes / "p.yaml"))
        assert "p.yaml:3: tabular.fitted:" in text and "outside the pipeline's folder" in text
    (pipes / "p.yaml").write_text(YAML.format(where="../other/s.npz"))
    assert augnoise.load(pipes / "p.yaml", allow_paths=[other]).section("tabular").fitted.n_rows == 4
    (pipes / "p.yaml").write_text(YAML.format(where="~/s.npz"))
    assert augnoise.load(pipes / "p.yaml", allow_paths=[home]).section("tabular").fitted.n_rows == 4
    (pipes / "s.npz").write_bytes(data)  # inside the folder: allowed by default
    (pipes / "p.yaml").write_text(YAML.format(where="s.npz"))
    assert augnoise.load(pipes / "p.yaml").section("tabular").fitted.n_rows == 4


def test_issue14_sidecar_fifo(tmp_path):
    os.mkfifo(tmp_path / "s.npz")
    result: list = []

    def run():
        try:
            load_with(tmp_path, None)
        except augnoise.ConfigError as err:
            result.append(str(err))

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(60)  # a guard against a hang only; the read returns at once
    assert not t.is_alive(), "validating a pipeline whose sidecar is a FIFO hung"
    assert result and "tabular.fitted: cannot read fitted statistics 's.npz': " + UNREADABLE in result[0]
    missing = config_error(lambda: load_with(tmp_path, None, name="gone.npz"))
    assert missing.endswith("cannot read fitted statistics 'gone.npz': " + UNREADABLE)  # the same message


def _npy_header(shape, descr="<f8"):
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False, "shape": shape})
    return buf.getvalue()


def _replace_member(data: bytes, name: str, payload: bytes | None = None, write=None) -> bytes:
    """The sidecar ``data`` with member ``name`` replaced (by ``payload``, or streamed by ``write``)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            if info.filename != name:
                dst.writestr(info.filename, src.read(info))
            elif write is not None:
                with dst.open(zipfile.ZipInfo(name, (2020, 1, 1, 0, 0, 0)), "w") as fh:
                    write(fh)
            else:
                dst.writestr(name, payload)
    return out.getvalue()


def test_issue14_sidecar_zip_bomb(tmp_path):
    good = sidecar_bytes()
    zeros = bytes(1 << 20)

    def huge_header(fh):  # declares 2**30 float64 (8 GiB); 8 MiB of zeros follow, deflated
        fh.write(_npy_header((2**30,)))
        for _ in range(8):
            fh.write(zeros)

    def over_limit(fh):  # a consistent member just past the uncompressed limit
        n = MAX_SIDECAR_BYTES // 8 + 16
        fh.write(_npy_header((n,)))
        for _ in range(n * 8 // len(zeros)):
            fh.write(zeros)
        fh.write(bytes(n * 8 % len(zeros)))

    cases = []
    for write, deflate in ((huge_header, True), (over_limit, True)):
        src = zipfile.ZipFile(io.BytesIO(good))
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as dst:
            for info in src.infolist():
                if info.filename == "values.npy":
                    with dst.open("values.npy", "w") as fh:
                        write(fh)
                else:
                    dst.writestr(info.filename, src.read(info))
        cases.append(out.getvalue())
    assert all(len(c) < 200_000 for c in cases)  # small on disk: bombs
    messages = []
    tracemalloc.start()
    try:
        for c in cases:
            messages.append(config_error(lambda c=c: load_with(tmp_path, c)))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 24 * 2**20, f"loading a zip bomb allocated {peak} bytes"
    assert "values: the header declares 8589934592 bytes of data but the member holds 8388608" in messages[0]
    assert f"more than {MAX_SIDECAR_BYTES} bytes uncompressed (member values.npy" in messages[1]
    big = tmp_path / "big.npz"
    with open(big, "wb") as fh:
        fh.truncate(MAX_SIDECAR_BYTES + 1)
    assert f"is {MAX_SIDECAR_BYTES + 1} bytes; the limit is {MAX_SIDECAR_BYTES}" in config_error(
        lambda: load_with(tmp_path, None, name="big.npz"))


@pytest.mark.parametrize("case, message", [
    ("npy", "cannot read fitted statistics 's.npz': a plain .npy file, not an .npz archive"),
    ("truncated", "cannot read fitted statistics 's.npz': not an .npz archive (truncated or corrupt"),
    ("cut_member", "cannot read fitted statistics 's.npz': truncated or corrupt .npz archive (Bad CRC-32"),
    ("mean_0d", "fitted statistics 's.npz' are malformed: mean: expected a 1-d array, got a 0-d array"),
    ("pickle", "fitted statistics 's.npz' are malformed: kinds: expected strings, got dtype object"),
    ("extra", "fitted statistics 's.npz' are malformed: 'evil.npy': unexpected member"),
    ("nan_std", "fitted statistics 's.npz' are malformed: std (column 1): must be a finite number >= 0, got nan"),
    ("offsets", "fitted statistics 's.npz' are malformed: offsets: must rise from 0 to the number of values"),
    ("empty", "cannot read fitted statistics 's.npz': not an .npz archive (truncated or corrupt)"),
])
def test_issue14_sidecar_npy_truncated_0d(tmp_path, case, message):
    good = sidecar_bytes()
    z = zipfile.ZipFile(io.BytesIO(good))
    buf = io.BytesIO()
    if case == "npy":
        np.save(buf, np.arange(3.0))
        data = buf.getvalue()
    elif case == "truncated":
        data = good[: len(good) // 2]
    elif case == "cut_member":  # a member's stored bytes corrupted inside an intact directory
        info = z.getinfo("values.npy")
        off = info.header_offset
        start = off + 30 + int.from_bytes(good[off + 26:off + 28], "little") + int.from_bytes(good[off + 28:off + 30], "little")
        end = start + info.compress_size
        data = good[:end - 16] + b"\xff" * 16 + good[end:]
    elif case == "mean_0d":
        np.save(buf, np.array(1.0))
        data = _replace_member(good, "mean.npy", buf.getvalue())
    elif case == "pickle":
        np.save(buf, np.array(["continuous"] * 3, dtype=object), allow_pickle=True)
        data = _replace_member(good, "kinds.npy", buf.getvalue())
    elif case == "extra":
        np.save(buf, np.arange(2))
        zz = io.BytesIO(good)
        with zipfile.ZipFile(zz, "a") as dst:
            dst.writestr("evil.npy", buf.getvalue())
        data = zz.getvalue()
    elif case == "nan_std":
        np.save(buf, np.array([1.0, np.nan, 1.0]))
        data = _replace_member(good, "std.npy", buf.getvalue())
    elif case == "offsets":
        np.save(buf, np.array([0, 9, 2, 12]))
        data = _replace_member(good, "offsets.npy", buf.getvalue())
    else:
        data = b""
    text = config_error(lambda: load_with(tmp_path, data))
    assert "p.yaml:3: tabular.fitted: " + message in text, text


INLINE = """seed: 1
tabular:
  fitted:
    n_rows: {n_rows}
    names: null
    columns:
    - {{kind: continuous, mean: {mean}, std: 1.0, values: [0.0, 1.0], counts: [1, 1]}}
sample:
  - tabular.GaussianNoise: {{scale: 0.1}}
"""


@pytest.mark.parametrize("n_rows, mean, message", [
    (".inf", "0.0", "n_rows: must be an integer in [1, 9007199254740992], got inf"),
    ("-3", "0.0", "n_rows: must be an integer in [1, 9007199254740992], got -3"),
    ("true", "0.0", "n_rows: must be an integer in [1, 9007199254740992], got True"),
    ("1.5", "0.0", "n_rows: must be an integer in [1, 9007199254740992], got 1.5"),
    ("1" + "0" * 30, "0.0", "n_rows: must be an integer in [1, 9007199254740992], got 1" + "0" * 30),
    ("1", "0.0", "columns[0].counts: the counts add up to 2, more than n_rows (1)"),
    ("5", "-.inf", "columns[0].mean: must be a finite number, got -inf"),
    ("5", "[1]", "columns[0].mean: must be a number, got [1]"),
])
def test_issue14_sidecar_n_rows_inf(tmp_path, n_rows, mean, message):
    text = config_error(lambda: augnoise.loads(INLINE.format(n_rows=n_rows, mean=mean), "t.yaml"))
    assert text.startswith("t.yaml:3: tabular.fitted: fitted statistics are malformed: " + message), text
    assert augnoise.loads(INLINE.format(n_rows=5, mean=0.5)).section("tabular").fitted.n_rows == 5
    good = sidecar_bytes()  # the sidecar form: n_rows as a float, a bool, or beyond the bound
    for arr, shown in ((np.array(np.inf), "dtype float64"), (np.array(True), "dtype bool"),
                       (np.array(2**60, np.int64), str(2**60))):
        buf = io.BytesIO()
        np.save(buf, arr)
        err = config_error(lambda: load_with(tmp_path, _replace_member(good, "n_rows.npy", buf.getvalue())))
        assert "fitted statistics 's.npz' are malformed: n_rows: " in err and shown in err, err
