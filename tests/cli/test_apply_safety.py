"""augnoise apply against hostile file trees and concurrent runs (issue 14, items 3 and 8)."""
import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

import augnoise
from augnoise.cli.apply import LOCK_NAME, file_index
from augnoise.cli.main import main
from augnoise.core.errors import escape
from tests.conftest import ROOT

PIPELINE = """seed: 5
sample:
  - image.GaussianNoise: {std: 0.05}
batch: []
"""
TABLE_PIPELINE = """seed: 6
sample:
  - tabular.GaussianNoise: {scale: 0.1}
batch: []
"""


def png(path, value=100, size=8):
    """A tiny PNG at ``path`` (a str, bytes or Path; any name the file system takes)."""
    ok, buf = cv2.imencode(".png", np.full((size, size, 3), value, np.uint8))
    assert ok
    with open(path, "wb") as fh:
        fh.write(buf.tobytes())


def decode(path):
    return cv2.cvtColor(cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGR2RGB)


def digest(folder: Path) -> dict:
    """Every entry under ``folder`` (names as bytes, symlinks not followed) with its content."""
    out = {}
    for root, dirs, files in os.walk(os.fsencode(folder)):
        for name in dirs + files:
            p = os.path.join(root, name)
            if os.path.islink(p):
                out[p] = b"link:" + os.readlink(p)
            elif os.path.isfile(p):
                out[p] = hashlib.sha256(open(p, "rb").read()).digest()
            else:
                out[p] = b"other"
    return out


@pytest.fixture
def pipe(tmp_path):
    p = tmp_path / "pipes" / "noise.yaml"
    p.parent.mkdir()
    p.write_text(PIPELINE)
    return p


def apply(capsys, *args):
    """Run ``augnoise apply`` in this process: (exit status, stdout, stderr without tqdm's bar)."""
    code = main(["apply", *map(str, args)])
    out, err = capsys.readouterr()
    err_lines = [ln for ln in err.split("\n") if ln and "augnoise apply:" not in ln]
    return code, out, err_lines


def expected(pipe_path, source, rel, epoch=0):
    p = augnoise.load(pipe_path)
    return p(decode(source), index=file_index(Path(rel)), epoch=epoch)


def test_issue14_apply_symlink_into_src_refused(pipe, tmp_path, capsys):
    src, dst = tmp_path / "src", tmp_path / "dst"
    for folder in ("a", "b", "other"):
        (src / folder).mkdir(parents=True)
    png(src / "a" / "x.png")
    png(src / "b" / "y.png")
    png(src / "z.png")
    png(src / "a" / "deep.png")
    (src / "c" / "sub").mkdir(parents=True)
    png(src / "c" / "sub" / "w.png")
    (src / "a" / ".x_0.png.abcd1234.tmp").write_bytes(b"not apply's to remove")  # inside SRC
    dst.mkdir()
    (dst / "a").symlink_to(src / "a")  # a DST folder that is SRC's own folder
    (dst / "c").symlink_to(src / "other")  # outputs would create SRC/other/sub/
    (dst / "z_0.png").symlink_to(src / "z.png")  # an output that is a link to a source file
    before = digest(src)
    code, out, err = apply(capsys, pipe, src, dst)
    assert code == 1
    assert digest(src) == before  # nothing written, created or removed in SRC
    assert not (src / "other" / "sub").exists()
    assert "5 input file(s) x 1 copy: 1 written, 0 already done (skipped), 4 failed" in out
    refused = sorted(ln for ln in err if "output path resolves into SRC" in ln)
    assert refused == sorted(
        f"failed: {escape(str(t), 1000)}: output path resolves into SRC ({escape(str(r), 1000)}); refused (SRC is never "
        f"written)" for t, r in [(dst / "a" / "x_0.png", src / "a" / "x_0.png"),
                                 (dst / "a" / "deep_0.png", src / "a" / "deep_0.png"),
                                 (dst / "c" / "sub" / "w_0.png", src / "other" / "sub" / "w_0.png"),
                                 (dst / "z_0.png", src / "z.png")])
    assert np.array_equal(decode(dst / "b" / "y_0.png"), expected(pipe, src / "b" / "y.png", "b/y.png"))
    # DST itself resolving into SRC: the whole run is refused before anything is made
    (tmp_path / "link").symlink_to(src / "b")
    code, out, err = apply(capsys, pipe, src, tmp_path / "link" / "out")
    assert code == 1 and err == [f"augnoise: {tmp_path / 'link' / 'out'}: DST may not be SRC or inside it, symlinks "
                                 f"followed (SRC is never written)"]
    assert digest(src) == before
    # table mode: an output that is a link to the source table is refused before any write
    table = tmp_path / "t.csv"
    table.write_text("a,b\n1.5,2.5\n3.5,4.5\n")
    tpipe = tmp_path / "pipes" / "table.yaml"
    tpipe.write_text(TABLE_PIPELINE)
    (tmp_path / "tdst").mkdir()
    (tmp_path / "tdst" / "t_1.csv").symlink_to(table)
    code, out, err = apply(capsys, tpipe, table, tmp_path / "tdst", "--copies", "2")
    assert code == 1 and "output would overwrite the source" in err[-1]
    assert table.read_text() == "a,b\n1.5,2.5\n3.5,4.5\n" and not (tmp_path / "tdst" / "t_0.csv").exists()


def test_issue14_apply_non_utf8_name(pipe, tmp_path, capsys):
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir()
    bad = os.fsdecode(os.fsencode(src) + b"/bad\xff.png")
    png(bad, value=60)
    png(src / "ok.png")
    os.makedirs(os.fsencode(src) + b"/dir\xfe", exist_ok=True)
    png(os.fsencode(src) + b"/dir\xfe/in.png")
    with open(os.fsencode(src) + b"/broken\xff.png", "wb") as fh:
        fh.write(b"\x89PNG\r\n\x1a\n not really")
    for attempt in range(2):  # the run goes on, and so does every rerun
        code, out, err = apply(capsys, pipe, src, dst)
        assert code == 1
        done = 3 * attempt
        assert f"4 input file(s) x 1 copy: {3 - done} written, {done} already done (skipped), 1 failed" in out
        broken = escape(os.fsdecode(os.fsencode(src) + b"/broken\xff.png"), 1000)
        assert err == [f"failed: {broken}: not a readable image (corrupt or unsupported format)"]
        assert "\\udcff" in err[0] and err[0].isprintable()
    out_bad = os.fsdecode(os.fsencode(dst) + b"/bad\xff_0.png")
    assert np.array_equal(decode(out_bad), expected(pipe, bad, os.fsdecode(b"bad\xff.png")))
    # the key is a hash of the stored bytes: as before for UTF-8 names, defined for the others
    assert file_index(Path("a/chart.png")) == int.from_bytes(hashlib.sha256(b"a/chart.png").digest()[:8], "big") >> 1
    assert file_index(Path(os.fsdecode(b"bad\xff.png"))) == \
        int.from_bytes(hashlib.sha256(b"bad\xff.png").digest()[:8], "big") >> 1
    assert os.path.exists(os.fsencode(dst) + b"/dir\xfe/in_0.png") and not os.path.exists(dst / LOCK_NAME)


def test_issue14_apply_newline_name_escaped(pipe, tmp_path, capsys):
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir()
    png(src / "good\nname.png")
    for name in ("new\nline.png", "two\n\nfailed: fake.png", "\x1b[31mred\r.png"):
        (src / name).write_bytes(b"not an image")
    code, out, err = apply(capsys, pipe, src, dst)
    assert code == 1 and "4 input file(s) x 1 copy: 1 written, 0 already done (skipped), 3 failed" in out
    assert err == sorted(f"failed: {escape(str(src / n), 1000)}: not a readable image (corrupt or unsupported format)"
                         for n in ("new\nline.png", "two\n\nfailed: fake.png", "\x1b[31mred\r.png"))
    assert all("\n" not in ln and "\x1b" not in ln and "\r" not in ln for ln in err)
    assert "new\\nline.png" in "".join(err) and "\\x1b[31mred\\r.png" in "".join(err)
    assert (dst / "good\nname_0.png").is_file()


HOLD_LOCK = """
import sys
from pathlib import Path
from augnoise.cli.apply import DstLock
with DstLock(Path(sys.argv[1])):
    print("locked", flush=True)
    sys.stdin.read()
"""


def hold_lock(dst):
    """Another process holding DST's lock (as a running apply does) until its stdin closes."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(dst)], cwd=ROOT, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline() == "locked\n"
    return proc


def release(proc):
    proc.stdin.close()
    assert proc.wait(timeout=60) == 0


def test_issue14_apply_lock_second_run(pipe, tmp_path, capsys):
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir()
    png(src / "a.png")
    dst.mkdir()
    holder = hold_lock(dst)
    try:
        code, out, err = apply(capsys, pipe, src, dst)
        assert code == 1 and out == ""
        assert err == [f"augnoise: {dst}: another augnoise apply run is writing into this DST (it holds {LOCK_NAME}); "
                       f"wait for it to end, or choose another DST"]
        assert sorted(os.listdir(dst)) == [LOCK_NAME]  # the second run wrote nothing
        table = tmp_path / "t.csv"
        table.write_text("a,b\n1.5,2.5\n3.5,4.5\n")
        tpipe = tmp_path / "pipes" / "table.yaml"
        tpipe.write_text(TABLE_PIPELINE)
        code, out, err = apply(capsys, tpipe, table, dst)  # table mode takes the same lock
        assert code == 1 and "another augnoise apply run is writing into this DST" in err[0]
        assert sorted(os.listdir(dst)) == [LOCK_NAME]
    finally:
        release(holder)
    code, out, err = apply(capsys, pipe, src, dst)
    assert code == 0 and "1 written" in out and sorted(os.listdir(dst)) == ["a_0.png"]  # lock file removed at the end
    # a lock file that is a symlink (say into SRC) is never opened through
    os.symlink(src / "a.png", dst / LOCK_NAME)
    code, out, err = apply(capsys, pipe, src, dst)
    assert code == 1 and err == [f"augnoise: {dst / LOCK_NAME}: cannot open the DST lock file (it is a symlink)"]


def test_issue14_apply_temp_cleanup_spares_live_run(pipe, tmp_path, capsys):
    src, dst = tmp_path / "src", tmp_path / "dst"
    (src / "sub").mkdir(parents=True)
    png(src / "a.png")
    png(src / "sub" / "b.png")
    (dst / "sub").mkdir(parents=True)
    live = [dst / ".a_0.png.k3j2h1g0.tmp", dst / "sub" / ".b_0.png.q9w8e7r6.tmp"]  # another run's writes in flight
    for t in live:
        t.write_bytes(b"half a png")
    holder = hold_lock(dst)
    try:
        code, out, err = apply(capsys, pipe, src, dst)
        assert code == 1 and "another augnoise apply run" in err[0]
        assert all(t.read_bytes() == b"half a png" for t in live)  # the live run's temp files are untouched
    finally:
        release(holder)
    # the other run is gone (a killed run leaves such files): now they are stale and removed
    (dst / ".unrelated.tmp").write_bytes(b"x")  # not an output's temp file: kept
    code, out, err = apply(capsys, pipe, src, dst)
    assert code == 0 and "2 written, 0 already done (skipped), 0 failed, 2 stale temp file(s) removed" in out
    assert sorted(str(p.relative_to(dst)) for p in dst.rglob("*")) == [".unrelated.tmp", "a_0.png", "sub", "sub/b_0.png"]


def _children(pid: int) -> list[int]:
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat_line = open(f"/proc/{entry}/stat").read()
            except OSError:
                continue
            if int(stat_line.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(entry))
    return kids


def _alive(pid: int) -> bool:
    try:
        state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")  # a zombie has ended (its new parent may not reap it)


def _lock_holders(lock: Path) -> list[str]:
    """Processes with ``lock`` open (pid and command), read from /proc."""
    out = []
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        try:
            if any(os.path.realpath(f) == str(lock) for f in fd_dir.iterdir()):
                cmd = (fd_dir.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                state = (fd_dir.parent / "stat").read_text().rsplit(")", 1)[1].split()[0]
                out.append(f"{fd_dir.parent.name} {state} {cmd[:120]}")
        except OSError:
            continue
    return out


def _lock_frees(lock: Path, timeout_s: float) -> bool:
    """Whether an exclusive non-blocking ``flock`` on ``lock`` succeeds within ``timeout_s``
    (polled; released at once)."""
    import fcntl

    fd = os.open(lock, os.O_RDONLY)
    try:
        for _ in range(int(timeout_s / 0.05)):
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                time.sleep(0.05)
                continue
            fcntl.flock(fd, fcntl.LOCK_UN)
            return True
        return False
    finally:
        os.close(fd)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_issue14_apply_workers_die_with_parent(pipe, tmp_path, capsys):
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir()
    n = 300
    for i in range(n):
        png(src / f"i{i:03d}.png", value=i % 250, size=16)
    warm = tmp_path / "warm"  # compile the kernels once here, not in both workers
    warm.mkdir()
    png(warm / "w.png")
    assert apply(capsys, pipe, warm, tmp_path / "warm_out")[0] == 0
    proc = subprocess.Popen([sys.executable, "-m", "augnoise.cli.main", "apply", str(pipe), str(src), str(dst),
                             "--workers", "2"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: list[int] = []
    try:
        for _ in range(6000):  # until both workers run and have written something (bounded)
            workers = _children(proc.pid)
            if proc.poll() is not None or (len(workers) == 2 and len(list(dst.glob("*.png"))) >= 2):
                break
            time.sleep(0.01)
        assert proc.poll() is None and len(workers) == 2
        for w in workers:  # frozen mid-run: only the kernel can end them now
            os.kill(w, signal.SIGSTOP)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        for _ in range(200):  # up to 10 s
            if not any(_alive(w) for w in workers):
                break
            time.sleep(0.05)
        assert not any(_alive(w) for w in workers), "workers outlived their parent"
    finally:
        for w in workers:
            if _alive(w):
                os.kill(w, signal.SIGKILL)
    outputs = sorted(dst.glob("*.png"))
    assert 2 <= len(outputs) < n  # the run was cut short
    p = augnoise.load(pipe)
    for o in outputs:  # no partial outputs: every output there is complete and right
        rel = o.name.replace("_0.png", ".png")
        assert np.array_equal(decode(o), p(decode(src / rel), index=file_index(Path(rel)), epoch=0))
    lock = (dst / LOCK_NAME).resolve()
    # The OS releases the DST lock once every process holding it has ended. Ask the lock itself
    # (the kernel may finish closing a killed process's files after /proc stops listing them):
    # it must become free, bounded at 60 s on a loaded machine.
    assert _lock_frees(lock, timeout_s=60.0), f"the DST lock stayed held; holders: {_lock_holders(lock)}"
    code, out, err = apply(capsys, pipe, src, dst)  # the next run finishes the job and cleans up
    assert code == 0 and f"{n - len(outputs)} written, {len(outputs)} already done (skipped), 0 failed" in out, (out, err)
    assert sorted(os.listdir(dst)) == sorted(f"i{i:03d}_0.png" for i in range(n))


def _deep_folder(root: Path) -> Path:
    """A folder nested below ``root`` past PATH_MAX (4096 bytes): no path to it can be stat'ed,
    as root or not, so the walk cannot read it."""
    fd = os.open(root, os.O_RDONLY)
    name = "d" * 250
    try:
        for _ in range(18):
            os.mkdir(name, dir_fd=fd)
            new = os.open(name, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = new
    finally:
        os.close(fd)
    return root.joinpath(*[name] * 17)  # the last folder whose path still fits: its child cannot


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="FIFOs, sockets and PATH_MAX as on Linux")
def test_issue14_apply_skips_counted(pipe, tmp_path, capsys):
    src, dst = tmp_path / "src", tmp_path / "dst"
    (src / "real").mkdir(parents=True)
    png(src / "real" / "a.png")
    png(src / ".hidden.png")  # dot-file
    (src / ".cache").mkdir()  # dot-folder: one entry, not walked
    png(src / ".cache" / "x.png")
    (src / "linked").symlink_to(src / "real")  # symlinked folder: not followed
    (src / "outside").symlink_to(tmp_path)  # ... wherever it points
    (src / "loop.png").symlink_to(src / "loop.png")  # symlink loop
    (src / "gone.png").symlink_to(src / "nowhere.png")  # broken symlink
    (src / "file_link.png").symlink_to(src / "real" / "a.png")  # a symlinked file is read
    os.mkfifo(src / "pipe.png")  # would hang a reader
    sock = socket.socket(socket.AF_UNIX)
    here = os.getcwd()
    os.chdir(src)  # AF_UNIX paths are short
    try:
        sock.bind("sock.png")
    finally:
        os.chdir(here)
        sock.close()
    (src / "notes.txt").write_text("hello")  # unsupported suffix
    png(src / "tones.wav")  # a kind the pipeline does not handle (existing message)
    code, out, err = apply(capsys, pipe, src, dst)
    assert code == 0
    assert out.strip() == (
        "2 input file(s) x 1 copy: 2 written, 0 already done (skipped), 0 failed, 1 file(s) of other kinds ignored "
        "(pipeline handles image); entries skipped: 2 dot-file(s), 2 symlinked folder(s), 2 broken or looping "
        "symlink(s), 2 FIFO/socket/device file(s), 1 file(s) with an unsupported suffix")
    assert sorted(str(p.relative_to(dst)) for p in dst.rglob("*")) == ["file_link_0.png", "real", "real/a_0.png"]
    # an entry that cannot be read is counted, listed, and makes the exit status 1
    deep = _deep_folder(src / "real")
    code, out, err = apply(capsys, pipe, src, dst)
    assert code == 1
    assert out.strip().endswith("1 file(s) with an unsupported suffix, 1 unreadable entry(ies)")
    assert "0 written, 2 already done (skipped), 0 failed" in out
    assert err == [f"unreadable (skipped): {escape(str(deep / ('d' * 250)), 1000)}"] and len(err[0]) < 1100
